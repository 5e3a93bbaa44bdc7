/**
 * The stages a client may add after `$changeStream`, applied to each event with mingo. Like the
 * server, only stages that keep one event in, at most one event out are allowed, and an event
 * whose `_id` (its resume token) was changed is a fatal error.
 */
import type { Document } from 'bson';
import { Aggregator } from 'mingo';
import { CommandError } from '../contract.js';
import { retype, toPlain } from '../storage/typed-values.js';

const ALLOWED_STAGES = new Set([
  '$match',
  '$project',
  '$addFields',
  '$set',
  '$unset',
  '$replaceRoot',
  '$replaceWith',
  '$redact',
]);

/** Every stage name MongoDB 7.0 knows; other names are unrecognized (40324), not just disallowed. */
const KNOWN_STAGES = new Set([
  ...ALLOWED_STAGES,
  '$bucket',
  '$bucketAuto',
  '$changeStream',
  '$changeStreamSplitLargeEvent',
  '$collStats',
  '$count',
  '$currentOp',
  '$densify',
  '$documents',
  '$facet',
  '$fill',
  '$geoNear',
  '$graphLookup',
  '$group',
  '$indexStats',
  '$limit',
  '$listLocalSessions',
  '$listSearchIndexes',
  '$listSessions',
  '$lookup',
  '$merge',
  '$out',
  '$planCacheStats',
  '$sample',
  '$search',
  '$searchMeta',
  '$setWindowFields',
  '$skip',
  '$sort',
  '$sortByCount',
  '$unionWith',
  '$unwind',
  '$vectorSearch',
]);

export type EventTransform = (event: Document) => Document | null;

function stageName(stage: unknown): string {
  if (stage === null || typeof stage !== 'object' || Array.isArray(stage)) {
    throw new CommandError(14, 'TypeMismatch', 'Each element of the pipeline must be an object');
  }
  const keys = Object.keys(stage);
  if (keys.length !== 1) {
    throw new CommandError(
      40323,
      'Location40323',
      'A pipeline stage specification object must contain exactly one field.',
    );
  }
  return keys[0] as string;
}

function sameToken(original: Document, output: Document): boolean {
  const id = output._id as Document | undefined;
  if (id === null || typeof id !== 'object') return false;
  const expectedKeys = Object.keys(original._id ?? {});
  const keys = Object.keys(id);
  return (
    keys.length === expectedKeys.length &&
    keys.every((key) => expectedKeys.includes(key)) &&
    id._data === original._id?._data
  );
}

/**
 * mingo may move fields (its `$project` puts `_id` last); the server keeps the event's field order
 * and appends new fields, so fields are put back in the event's order.
 */
function inOriginalOrder(result: Document, event: Document): Document {
  const rank = new Map(Object.keys(event).map((key, index) => [key, index]));
  const keys = Object.keys(result);
  const known = keys.filter((key) => rank.has(key)).sort((a, b) => (rank.get(a) ?? 0) - (rank.get(b) ?? 0));
  const ordered: Document = {};
  for (const key of [...known, ...keys.filter((key) => !rank.has(key))]) ordered[key] = result[key];
  return ordered;
}

/** Validates the stages and returns the per-event transform (identity when there are none). */
export function compileUserPipeline(stages: Document[]): EventTransform {
  for (const stage of stages) {
    const name = stageName(stage);
    if (!KNOWN_STAGES.has(name)) {
      throw new CommandError(40324, 'Location40324', `Unrecognized pipeline stage name: '${name}'`);
    }
    if (!ALLOWED_STAGES.has(name)) {
      throw new CommandError(20, 'IllegalOperation', `${name} is not permitted in a $changeStream pipeline`);
    }
  }
  if (stages.length === 0) return (event) => event;
  let aggregator: Aggregator;
  try {
    aggregator = new Aggregator(toPlain(stages));
  } catch (error) {
    throw new CommandError(2, 'BadValue', (error as Error).message);
  }
  return (event) => {
    let output: Document[];
    try {
      output = aggregator.run([toPlain(event)]) as Document[];
    } catch (error) {
      throw new CommandError(2, 'BadValue', (error as Error).message);
    }
    const first = output[0];
    if (!first) return null;
    const result = inOriginalOrder(retype(first, event) as Document, event);
    if (!sameToken(event, result)) {
      throw new CommandError(
        280,
        'ChangeStreamFatalError',
        'Encountered an event whose _id field, which contains the resume token, was modified by the pipeline. ' +
          'Modifying the _id field of an event makes it impossible to resume the stream from that point. ' +
          'Only transformations that retain the unmodified _id field are allowed.',
      );
    }
    return result;
  };
}

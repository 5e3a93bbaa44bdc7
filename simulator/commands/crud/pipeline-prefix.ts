/**
 * The leading aggregation stages storage answers itself, before anything reaches mingo: a first
 * `$sample` picks random documents without copying the collection, `$match` uses the storage
 * matcher (and the `_id` order), `$skip`/`$limit` slice, and a trailing count-only `$group`
 * (what `countDocuments` sends) just counts.
 */
import { type Document, Int32, Long } from 'bson';
import { CommandError } from '../../contract.js';
import type { Collection } from '../../storage/collection.js';
import { compileFilter } from '../../storage/query.js';
import { isPlainObject, plainScalar } from '../../storage/typed-values.js';
import { selectDocuments } from '../../storage/writes.js';

function stageName(stage: Document | undefined): string {
  return stage ? (Object.keys(stage)[0] ?? '') : '';
}

function positiveCount(stage: Document, name: string): number {
  const n = Number(plainScalar(stage[name]));
  if (!Number.isInteger(n) || n < 0) {
    throw new CommandError(
      15956,
      'Location15956',
      `invalid argument to ${name} stage: ${String(stage[name])}`,
    );
  }
  return n;
}

/** `_id` of a `$group` whose every other field is `{$sum: 1}`, or undefined if it is anything else. */
function countGroup(stage: Document | undefined): { id: unknown; fields: string[] } | undefined {
  if (stageName(stage) !== '$group' || !isPlainObject(stage?.$group)) return undefined;
  const { _id: id, ...accumulators } = stage.$group;
  if (typeof id === 'string' && id.startsWith('$')) return undefined;
  if (isPlainObject(id) || Array.isArray(id)) return undefined;
  const fields = Object.keys(accumulators);
  const countsOnly = fields.every((field) => {
    const accumulator = accumulators[field];
    return (
      isPlainObject(accumulator) &&
      Object.keys(accumulator).length === 1 &&
      plainScalar(accumulator.$sum) === 1
    );
  });
  return countsOnly ? { id, fields } : undefined;
}

export interface PrefixResult {
  input: Document[];
  stages: Document[];
}

/** Up to `size` distinct random documents of an array. */
function sampleArray(documents: readonly Document[], size: number): Document[] {
  const copy = [...documents];
  for (let i = copy.length - 1; i > 0; i -= 1) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j] as Document, copy[i] as Document];
  }
  return copy.slice(0, size);
}

function select(source: Collection | readonly Document[] | undefined, filter: Document): Document[] {
  if (!Array.isArray(source)) return selectDocuments(source as Collection | undefined, filter);
  return source.filter(compileFilter(filter));
}

/** `source` is a collection, or documents from elsewhere (the oplog). */
export function runNativePrefix(
  source: Collection | readonly Document[] | undefined,
  pipeline: Document[],
): PrefixResult {
  let stages = pipeline;
  let input: Document[];
  if (stageName(stages[0]) === '$sample' && isPlainObject(stages[0]?.$sample)) {
    const size = positiveCount(stages[0].$sample, 'size');
    if (Array.isArray(source)) input = sampleArray(source, size);
    else input = source ? (source as Collection).sample(size) : [];
    stages = stages.slice(1);
  } else {
    let filter: Document = {};
    while (stageName(stages[0]) === '$match') {
      const match = (stages[0] as Document).$match;
      filter = Object.keys(filter).length === 0 ? match : { $and: [filter, match] };
      stages = stages.slice(1);
    }
    input = select(source, filter);
  }
  for (let name = stageName(stages[0]); name === '$skip' || name === '$limit'; name = stageName(stages[0])) {
    const n = positiveCount(stages[0] as Document, name);
    input = name === '$skip' ? input.slice(n) : input.slice(0, n);
    stages = stages.slice(1);
  }
  const counting = stages.length === 1 ? countGroup(stages[0]) : undefined;
  if (counting) {
    const total = input.length <= 0x7fffffff ? new Int32(input.length) : Long.fromNumber(input.length);
    const row: Document = { _id: counting.id };
    for (const field of counting.fields) row[field] = total;
    return { input: input.length === 0 ? [] : [row], stages: [] };
  }
  return { input, stages };
}

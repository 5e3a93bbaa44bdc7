/**
 * Update documents: operator updates ($set, $inc, $push, ... via mingo), replacements and
 * aggregation-pipeline updates, plus the document an upsert inserts. The `_id` never changes.
 */
import { type Document, ObjectId } from 'bson';
import { Aggregator, update as mingoUpdate } from 'mingo';
import { CommandError } from '../contract.js';
import { bsonEquals } from './bson-order.js';
import { isPlainObject, retype, toPlain } from './typed-values.js';

export type UpdateSpec = Document | Document[];

/** Operators whose arguments are only stored, so they keep their BSON number types. */
const STORING_OPERATORS = new Set(['$set', '$setOnInsert', '$unset', '$rename', '$currentDate']);
const SUPPORTED_OPERATORS = new Set([
  ...STORING_OPERATORS,
  '$inc',
  '$mul',
  '$min',
  '$max',
  '$push',
  '$addToSet',
  '$pull',
  '$pullAll',
  '$pop',
  '$bit',
]);
const PIPELINE_STAGES = new Set(['$addFields', '$set', '$project', '$unset', '$replaceRoot', '$replaceWith']);

export function isOperatorUpdate(spec: UpdateSpec): boolean {
  return !Array.isArray(spec) && Object.keys(spec).some((key) => key.startsWith('$'));
}

/** Validates the `u` of an update statement before anything is applied. */
export function validateUpdateSpec(raw: unknown): UpdateSpec {
  if (Array.isArray(raw)) {
    for (const stage of raw) {
      const name = isPlainObject(stage) ? Object.keys(stage)[0] : undefined;
      if (!name || !PIPELINE_STAGES.has(name)) {
        throw new CommandError(
          ErrorCodes.InvalidOptions,
          'InvalidOptions',
          `${name ?? 'stage'} is not allowed to be used within an update`,
        );
      }
    }
    return raw as Document[];
  }
  if (!isPlainObject(raw)) {
    throw new CommandError(14, 'TypeMismatch', "BSON field 'u' is the wrong type, expected object or array");
  }
  const keys = Object.keys(raw);
  const operators = keys.filter((key) => key.startsWith('$'));
  if (operators.length > 0 && operators.length !== keys.length) {
    throw new CommandError(9, 'FailedToParse', 'Update document must contain only update operators');
  }
  for (const op of operators) {
    if (!SUPPORTED_OPERATORS.has(op)) {
      throw new CommandError(9, 'FailedToParse', `Unknown modifier: ${op}. Expected a valid update modifier`);
    }
    if (!isPlainObject(raw[op])) {
      throw new CommandError(
        9,
        'FailedToParse',
        `Modifiers operate on fields but we found type ${typeof raw[op]} instead.`,
      );
    }
  }
  if (operators.length === 0) {
    for (const key of keys) {
      if (key.includes('.') && key !== '_id') {
        throw new CommandError(
          52,
          'DollarPrefixedFieldName',
          `The dotted field '${key}' in replacement document is not valid for storage.`,
        );
      }
    }
  }
  return raw;
}

const ErrorCodes = { InvalidOptions: 72, ImmutableField: 66 } as const;

function immutableIdError(): CommandError {
  return new CommandError(
    ErrorCodes.ImmutableField,
    'ImmutableField',
    "Performing an update on the path '_id' would modify the immutable field '_id'",
  );
}

/** Puts `_id` first, as the server stores it. */
function withIdFirst(id: unknown, doc: Document): Document {
  const { _id: _dropped, ...rest } = doc;
  return { _id: id, ...rest };
}

/** The updated copy of `doc` (never mutates it). */
export function applyUpdate(
  doc: Document,
  spec: UpdateSpec,
  options: { arrayFilters?: Document[]; inserting?: boolean; query?: Document } = {},
): Document {
  if (Array.isArray(spec)) return applyPipeline(doc, spec);
  if (!isOperatorUpdate(spec)) {
    if ('_id' in spec && !bsonEquals(spec._id, doc._id)) throw immutableIdError();
    return withIdFirst(doc._id, spec);
  }
  const modifier: Document = {};
  for (const [op, args] of Object.entries(spec)) {
    if (op === '$setOnInsert') {
      if (options.inserting) modifier.$set = { ...(modifier.$set ?? {}), ...args };
      continue;
    }
    const value = STORING_OPERATORS.has(op) ? args : toPlain(args);
    modifier[op] = op === '$set' ? { ...(modifier.$set ?? {}), ...value } : value;
  }
  // Setting `_id` to its current value is allowed (a no-op); mingo would refuse it.
  if (isPlainObject(modifier.$set) && '_id' in modifier.$set && bsonEquals(modifier.$set._id, doc._id)) {
    const { _id: _same, ...rest } = modifier.$set;
    modifier.$set = rest;
  }
  const working = toPlain(doc);
  try {
    // The query lets mingo resolve the positional `$` operator.
    mingoUpdate(
      working,
      modifier,
      options.arrayFilters?.map((filter) => toPlain(filter)),
      options.query && Object.keys(options.query).length > 0 ? toPlain(options.query) : undefined,
    );
  } catch (error) {
    const message = (error as Error).message;
    if (/immutable/i.test(message) && message.includes('_id')) throw immutableIdError();
    throw new CommandError(2, 'BadValue', message);
  }
  const result = retype(working, doc) as Document;
  if (!bsonEquals(result._id, doc._id)) throw immutableIdError();
  return result;
}

function applyPipeline(doc: Document, pipeline: Document[]): Document {
  let output: Document[];
  try {
    output = new Aggregator(toPlain(pipeline)).run([toPlain(doc)]) as Document[];
  } catch (error) {
    throw new CommandError(2, 'BadValue', (error as Error).message);
  }
  const updated = output[0] ?? {};
  if ('_id' in updated && !bsonEquals(updated._id, doc._id)) throw immutableIdError();
  return withIdFirst(doc._id, retype(updated, doc) as Document);
}

/** Top-level and dotted equality fields of a filter, which an upsert copies into its new document. */
function equalityFields(filter: Document): Document {
  const seed: Document = {};
  for (const [field, condition] of Object.entries(filter)) {
    if (field.startsWith('$')) {
      if (field === '$and' && Array.isArray(condition)) {
        for (const clause of condition) Object.assign(seed, equalityFields(clause));
      }
      continue;
    }
    if (isPlainObject(condition) && Object.keys(condition).some((key) => key.startsWith('$'))) {
      if ('$eq' in condition) seed[field] = condition.$eq;
      continue;
    }
    seed[field] = condition;
  }
  return seed;
}

function setPath(doc: Document, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = doc;
  parts.slice(0, -1).forEach((part) => {
    if (!isPlainObject(node[part])) node[part] = {};
    node = node[part] as Document;
  });
  node[parts[parts.length - 1] as string] = value;
}

/** An `_id` that is present counts even when it is null: the server stores `_id: null` as given. */
function firstPresentId(...sources: Document[]): unknown {
  const source = sources.find((candidate) => '_id' in candidate);
  return source ? source._id : new ObjectId();
}

/** The document an upsert inserts when nothing matched. */
export function upsertDocument(filter: Document, spec: UpdateSpec, arrayFilters?: Document[]): Document {
  const fromFilter = equalityFields(filter);
  if (!Array.isArray(spec) && !isOperatorUpdate(spec)) {
    return withIdFirst(firstPresentId(fromFilter, spec), spec);
  }
  const seed: Document = {};
  for (const [path, value] of Object.entries(fromFilter)) setPath(seed, path, value);
  // The server generates an `_id` only when neither the filter nor the update gives one.
  const operators = spec as Document;
  const setters = [operators.$setOnInsert, operators.$set].filter(isPlainObject) as Document[];
  const base = withIdFirst(firstPresentId(seed, ...setters), seed);
  return applyUpdate(base, spec, { arrayFilters, inserting: true });
}

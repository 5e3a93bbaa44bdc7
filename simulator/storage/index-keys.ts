/**
 * Index specifications and the key values a document contributes to an index, for unique
 * enforcement. Multikey fields (arrays) contribute one key per element, like the server.
 */
import type { Document } from 'bson';
import { CommandError } from '../contract.js';
import { compileMatcher } from './matcher.js';
import { valuesAtPath } from './paths.js';

export interface IndexSpec {
  v: number;
  key: Document;
  name: string;
  unique?: boolean;
  sparse?: boolean;
  partialFilterExpression?: Document;
  [option: string]: unknown;
}

export const ID_INDEX: IndexSpec = { v: 2, key: { _id: 1 }, name: '_id_' };

/**
 * The key tuples (as `{field: value}` documents) a document contributes to an index, or an empty
 * list when a sparse or partial index skips it.
 */
export function indexKeys(spec: IndexSpec, doc: Document): Document[] {
  if (spec.partialFilterExpression && !compileMatcher(spec.partialFilterExpression)?.(doc)) return [];
  const fields = Object.keys(spec.key);
  const perField = fields.map((field) => {
    const found = valuesAtPath(doc, field).flatMap((value) =>
      Array.isArray(value) ? (value.length === 0 ? [undefined] : value) : [value],
    );
    return found.length === 0 ? [undefined] : found;
  });
  if (spec.sparse && perField.every((values) => values.length === 1 && values[0] === undefined)) return [];
  let tuples: Document[] = [{}];
  fields.forEach((field, position) => {
    const values = perField[position] ?? [undefined];
    const next: Document[] = [];
    for (const tuple of tuples) {
      for (const value of values) next.push({ ...tuple, [field]: value === undefined ? null : value });
    }
    tuples = next;
  });
  return tuples;
}

/** Validates a `createIndexes` spec the way the server rejects malformed ones. */
export function validateIndexSpec(raw: unknown): IndexSpec {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new CommandError(14, 'TypeMismatch', 'Each index specification must be an object');
  }
  const spec = raw as Document;
  if (spec.key === null || typeof spec.key !== 'object' || Object.keys(spec.key).length === 0) {
    throw new CommandError(9, 'FailedToParse', "The 'key' field must be a non-empty object");
  }
  if (typeof spec.name !== 'string' || spec.name.length === 0) {
    throw new CommandError(
      9,
      'FailedToParse',
      "The 'name' field is a required property of an index specification",
    );
  }
  const { v: _ignoredVersion, background: _ignoredBackground, ...rest } = spec;
  return { v: 2, ...rest } as IndexSpec;
}

/** Renders a key the way the server's duplicate key message does: `{ a: 1, b: "x" }`. */
export function describeKey(key: Document): string {
  const parts = Object.entries(key).map(([field, value]) => `${field}: ${describeValue(value)}`);
  return parts.length === 0 ? '{}' : `{ ${parts.join(', ')} }`;
}

function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return `[ ${value.map(describeValue).join(', ')} ]`;
  if (value instanceof Date) return `new Date(${value.getTime()})`;
  const tag = (value as { _bsontype?: string })._bsontype;
  if (tag === 'ObjectId') return `ObjectId('${String(value)}')`;
  if (tag !== undefined) return String((value as { valueOf(): unknown }).valueOf?.() ?? value);
  if (typeof value === 'object') return describeKey(value as Document);
  return String(value);
}

/** The server's E11000 error, with `keyPattern`/`keyValue` as drivers expose them. */
export function duplicateKeyError(ns: string, spec: IndexSpec, keyValue: Document): CommandError {
  return new CommandError(
    11000,
    'DuplicateKey',
    `E11000 duplicate key error collection: ${ns} index: ${spec.name} dup key: ${describeKey(keyValue)}`,
    [],
    { keyPattern: spec.key, keyValue },
  );
}

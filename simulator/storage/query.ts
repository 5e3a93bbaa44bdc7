/**
 * Filters, sorts and projections. Filters run through mingo on a plain-number view of each
 * document; an `_id` equality or range is answered from the `_id` order instead (and removed
 * from what mingo evaluates, since mingo does not order BSON types the way the server does;
 * a numeric range stays for the matcher too, for NaN).
 */
import type { Document } from 'bson';
import { Query } from 'mingo';
import { CommandError } from '../contract.js';
import { canonicalRank, compareBson } from './bson-order.js';
import type { IdBounds } from './collection.js';
import { compileMatcher } from './matcher.js';
import { valuesAtPath } from './paths.js';
import { isPlainObject, toPlain } from './typed-values.js';

export type DocumentPredicate = (doc: Document) => boolean;

export function requireDocument(value: unknown, field: string): Document {
  if (!isPlainObject(value)) {
    throw new CommandError(14, 'TypeMismatch', `BSON field '${field}' is the wrong type, expected object`);
  }
  return value;
}

/**
 * A predicate for a query filter; `{}` matches without evaluating anything. The storage matcher
 * handles the standard operators on typed documents; anything else runs in mingo.
 */
export function compileFilter(filter: Document | undefined): DocumentPredicate {
  if (!filter || Object.keys(filter).length === 0) return () => true;
  const native = compileMatcher(filter);
  if (native) return native;
  let query: Query;
  try {
    query = new Query(toPlain(filter));
  } catch (error) {
    throw new CommandError(2, 'BadValue', (error as Error).message);
  }
  return (doc) => query.test(toPlain(doc));
}

export interface IdScanPlan {
  bounds: IdBounds;
  /** Canonical type the `_id` must have (range predicates only match their own type). */
  rank: number | undefined;
  residual: Document;
}

const RANGE_OPERATORS = new Set(['$gt', '$gte', '$lt', '$lte', '$eq']);

/** Extracts an `_id` range the `_id` order can answer directly, if the filter has one. */
export function planIdScan(filter: Document | undefined): IdScanPlan | null {
  if (!filter || !('_id' in filter)) return null;
  const condition = filter._id;
  const { _id: _handled, ...residual } = filter;
  if (!isPlainObject(condition) || !Object.keys(condition).some((key) => key.startsWith('$'))) {
    if (condition instanceof RegExp || (condition as { _bsontype?: string })?._bsontype === 'BSONRegExp')
      return null;
    return {
      bounds: { lower: { value: condition, inclusive: true }, upper: { value: condition, inclusive: true } },
      rank: undefined,
      residual,
    };
  }
  const operators = Object.keys(condition);
  if (!operators.every((op) => RANGE_OPERATORS.has(op))) return null;
  const bounds: IdBounds = {};
  let rank: number | undefined;
  for (const op of operators) {
    const value = condition[op];
    if (Array.isArray(value)) return null;
    // A MinKey or MaxKey range bound reaches across every type: the matcher, not one type's range.
    if (op !== '$eq' && isKeyBound(value)) return null;
    const valueRank = canonicalRank(value);
    if (rank !== undefined && rank !== valueRank) return null;
    rank = valueRank;
    if (op === '$gt' || op === '$gte' || op === '$eq') {
      tighten(bounds, 'lower', value, op !== '$gt');
    }
    if (op === '$lt' || op === '$lte' || op === '$eq') {
      tighten(bounds, 'upper', value, op !== '$lt');
    }
  }
  // The `_id` order puts NaN before every number, but no comparison with a number matches it
  // (nor `$gt`/`$lt` NaN anything): a numeric range is checked again by the matcher.
  return { bounds, rank, residual: rank === canonicalRank(0) ? filter : residual };
}

function isKeyBound(value: unknown): boolean {
  const tag = (value as { _bsontype?: string } | null)?._bsontype;
  return tag === 'MinKey' || tag === 'MaxKey';
}

function tighten(bounds: IdBounds, side: 'lower' | 'upper', value: unknown, inclusive: boolean): void {
  const current = bounds[side];
  if (!current) {
    bounds[side] = { value, inclusive };
    return;
  }
  const cmp = compareBson(value, current.value);
  const tighter = side === 'lower' ? cmp > 0 : cmp < 0;
  if (tighter || (cmp === 0 && !inclusive)) bounds[side] = { value, inclusive };
}

/** `_id: {$in: [...]}` answered by point lookups: the distinct ids in `_id` order. */
export function planIdLookup(filter: Document | undefined): { ids: unknown[]; residual: Document } | null {
  const condition = filter?._id;
  if (!isPlainObject(condition) || Object.keys(condition).length !== 1 || !Array.isArray(condition.$in))
    return null;
  const values = condition.$in as unknown[];
  if (
    values.some(
      (value) => value instanceof RegExp || (value as { _bsontype?: string })?._bsontype === 'BSONRegExp',
    )
  ) {
    return null;
  }
  const { _id: _handled, ...residual } = filter as Document;
  const ids = [...values]
    .sort(compareBson)
    .filter((value, i, sorted) => i === 0 || compareBson(sorted[i - 1], value) !== 0);
  return { ids, residual };
}

/** Validates a sort specification (`{field: 1 | -1}`). */
export function parseSort(raw: unknown): [string, 1 | -1][] | null {
  if (raw === undefined || raw === null) return null;
  const spec = requireDocument(raw, 'sort');
  const fields: [string, 1 | -1][] = [];
  for (const [field, direction] of Object.entries(spec)) {
    const n = Number((direction as { valueOf(): unknown })?.valueOf?.());
    if (n !== 1 && n !== -1) {
      if (isPlainObject(direction) && '$meta' in direction) continue;
      throw new CommandError(
        15974,
        'Location15974',
        `Illegal key in $sort specification: ${field}: ${String(direction)}`,
      );
    }
    fields.push([field, n]);
  }
  return fields.length === 0 ? null : fields;
}

/** The value a document sorts by on one field: arrays sort by their smallest (asc) or largest (desc) element. */
function sortKey(doc: Document, field: string, direction: 1 | -1): unknown {
  const values = valuesAtPath(doc, field).flatMap((value) =>
    Array.isArray(value) ? (value.length === 0 ? [undefined] : value) : [value],
  );
  if (values.length === 0) return null;
  let best = values[0];
  for (const value of values) {
    const cmp = compareBson(value, best);
    if ((direction === 1 && cmp < 0) || (direction === -1 && cmp > 0)) best = value;
  }
  return best === undefined ? null : best;
}

export function sortComparator(spec: [string, 1 | -1][]): (a: Document, b: Document) => number {
  return (a, b) => {
    for (const [field, direction] of spec) {
      const cmp = compareBson(sortKey(a, field, direction), sortKey(b, field, direction));
      if (cmp !== 0) return cmp * direction;
    }
    return 0;
  };
}

/** Sort that keeps insertion order for ties, as the server's stable sort does. */
export function sortDocuments(docs: Document[], spec: [string, 1 | -1][] | null): Document[] {
  if (!spec) return docs;
  return docs.sort(sortComparator(spec));
}

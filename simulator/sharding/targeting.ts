/**
 * Which shards a read must ask, from its filter's `_id` condition, as a mongos targets by the
 * shard key's index bounds: for a ranged key, the shards owning a chunk the condition could
 * match in (equality, `$in`, `$gt`/`$gte`/`$lt`/`$lte` within the value's type bracket, `$type`
 * brackets, `$and`/`$or` of those); for a hashed key only an equality or `$in` can be targeted
 * (a range of `_id`s is spread over the whole hash space). Anything else may match anywhere.
 * A `$type`'s bounds are its bracket's, as the server's index bounds builder makes them
 * (mongodb/mongo src/mongo/db/query/index_bounds_builder.cpp).
 * Two operands are not bounds of their own bracket and may match anywhere: a regex (`_id: /x/`,
 * `$in: [/x/]`) matches strings, which sort elsewhere than the regex itself, and a MinKey or
 * MaxKey in `$gt`/`$gte`/`$lt`/`$lte` compares across every type.
 * The test is conservative: a chunk is asked when it might hold a match, never skipped when it
 * might.
 */
import { Binary, BSONRegExp, Code, type Document, MaxKey, MinKey, ObjectId, Timestamp } from 'bson';
import { canonicalRank, compareBson } from '../storage/bson-order.js';
import { isPlainObject } from '../storage/typed-values.js';
import type { Chunk, ShardKeyRouting } from './shard-key.js';

/** The shards (indexes, ascending) a read with this filter is sent to. */
export function targetShards(
  routing: ShardKeyRouting,
  filter: Document | undefined,
  all: number[],
): number[] {
  const chunks = routing.chunks;
  if (routing.spec.kind === 'hashed') {
    const ids = pinnedIds(filter?._id);
    if (ids === undefined) return all;
    return [...new Set(ids.map((id) => routing.shardOf(id)))].sort((a, b) => a - b);
  }
  const shards = new Set<number>();
  for (const chunk of chunks)
    if (!shards.has(chunk.shard) && filterMayMatch(filter ?? {}, chunk)) shards.add(chunk.shard);
  return [...shards].sort((a, b) => a - b);
}

/** `_id` values an equality or `$in` pins the read to, or undefined when it pins none. */
function pinnedIds(condition: unknown): unknown[] | undefined {
  if (condition === undefined) return undefined;
  const ids = pinnedValues(condition);
  return ids?.some(isRegex) ? undefined : ids;
}

function pinnedValues(condition: unknown): unknown[] | undefined {
  if (!isPlainObject(condition) || !Object.keys(condition).some((key) => key.startsWith('$')))
    return [condition];
  const keys = Object.keys(condition);
  if (keys.length !== 1) return undefined;
  if (keys[0] === '$eq') return [condition.$eq];
  if (keys[0] === '$in' && Array.isArray(condition.$in)) return condition.$in as unknown[];
  return undefined;
}

function filterMayMatch(filter: Document, chunk: Chunk): boolean {
  for (const [key, value] of Object.entries(filter)) {
    if (key === '_id' && !conditionMayMatch(value, chunk)) return false;
    if (
      key === '$and' &&
      Array.isArray(value) &&
      !value.every((each) => filterMayMatch(each as Document, chunk))
    )
      return false;
    if (
      key === '$or' &&
      Array.isArray(value) &&
      !value.some((each) => filterMayMatch(each as Document, chunk))
    )
      return false;
  }
  return true;
}

function conditionMayMatch(condition: unknown, chunk: Chunk): boolean {
  if (!isPlainObject(condition) || !Object.keys(condition).some((key) => key.startsWith('$')))
    return holds(chunk, condition);
  return Object.entries(condition).every(([operator, value]) => operatorMayMatch(operator, value, chunk));
}

function operatorMayMatch(operator: string, value: unknown, chunk: Chunk): boolean {
  switch (operator) {
    case '$eq':
      return holds(chunk, value);
    case '$in':
      return !Array.isArray(value) || value.some((each) => holds(chunk, each));
    case '$gt':
    case '$gte':
      if (isKeyBound(value)) return true;
      // Values of the bound's bracket above it: the chunk must reach above it and start in or below its bracket.
      return endsAbove(chunk, value) && startsAtOrBelowRank(chunk, canonicalRank(value));
    case '$lt':
    case '$lte':
      if (isKeyBound(value)) return true;
      return startsBelow(chunk, value, operator === '$lte') && endsAtOrAboveRank(chunk, canonicalRank(value));
    case '$type':
      return typeRanks(value).some(
        (rank) => rank === undefined || (startsAtOrBelowRank(chunk, rank) && endsAtOrAboveRank(chunk, rank)),
      );
    default:
      return true;
  }
}

function holds(chunk: Chunk, value: unknown): boolean {
  if (isRegex(value)) return true;
  if (chunk.min !== undefined && compareBson(value, chunk.min) < 0) return false;
  return chunk.max === undefined || compareBson(value, chunk.max) < 0;
}

/** A regex operand matches the strings it matches as well as an equal regex, so it bounds nothing. */
function isRegex(value: unknown): boolean {
  return value instanceof RegExp || (value as { _bsontype?: string } | null)?._bsontype === 'BSONRegExp';
}

/** MinKey and MaxKey compare below and above every type, so as range bounds they bound nothing. */
function isKeyBound(value: unknown): boolean {
  const tag = (value as { _bsontype?: string } | null)?._bsontype;
  return tag === 'MinKey' || tag === 'MaxKey';
}

function endsAbove(chunk: Chunk, value: unknown): boolean {
  return chunk.max === undefined || compareBson(chunk.max, value) > 0;
}

function startsBelow(chunk: Chunk, value: unknown, orAt: boolean): boolean {
  if (chunk.min === undefined) return true;
  const order = compareBson(chunk.min, value);
  return order < 0 || (orAt && order === 0);
}

function startsAtOrBelowRank(chunk: Chunk, rank: number): boolean {
  return chunk.min === undefined || canonicalRank(chunk.min) <= rank;
}

function endsAtOrAboveRank(chunk: Chunk, rank: number): boolean {
  return chunk.max === undefined || canonicalRank(chunk.max) >= rank;
}

/** A value of each `$type` name's bracket, so its rank is the storage order's own. */
const TYPE_SAMPLES: Record<string, unknown> = {
  minKey: new MinKey(),
  null: null,
  undefined: null,
  double: 0,
  int: 0,
  long: 0,
  decimal: 0,
  number: 0,
  string: '',
  symbol: '',
  object: {},
  array: [],
  binData: new Binary(),
  objectId: new ObjectId('000000000000000000000000'),
  bool: true,
  date: new Date(0),
  timestamp: new Timestamp({ t: 0, i: 0 }),
  regex: new BSONRegExp('a'),
  dbPointer: { _bsontype: 'DBPointer' },
  javascript: new Code(''),
  javascriptWithScope: new Code('', {}),
  maxKey: new MaxKey(),
};

/** Ranks of the `$type` brackets named; undefined for a type this table does not know (matches anywhere). */
function typeRanks(value: unknown): (number | undefined)[] {
  const names = Array.isArray(value) ? value : [value];
  return names.map((name) =>
    typeof name === 'string' && name in TYPE_SAMPLES ? canonicalRank(TYPE_SAMPLES[name]) : undefined,
  );
}

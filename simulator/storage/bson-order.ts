/**
 * MongoDB's comparison and sort order for BSON values: values of different types order by their
 * canonical type (MinKey < null < numbers < strings < objects < arrays < binData < ObjectId < bool
 * < date < timestamp < regex < code < MaxKey), numbers compare by value across int/long/double/decimal.
 */
import type { Binary, Long, ObjectId, Timestamp } from 'bson';

type Tagged = { _bsontype?: string };

const RANK_MIN_KEY = 1;
const RANK_NULL = 5;
const RANK_NUMBER = 10;
const RANK_STRING = 15;
const RANK_OBJECT = 20;
const RANK_ARRAY = 25;
const RANK_BINARY = 30;
const RANK_OBJECT_ID = 35;
const RANK_BOOL = 40;
const RANK_DATE = 45;
const RANK_TIMESTAMP = 47;
const RANK_REGEX = 50;
const RANK_DB_POINTER = 55;
const RANK_CODE = 60;
const RANK_MAX_KEY = 127;

const RANK_BY_BSONTYPE: Record<string, number> = {
  MinKey: RANK_MIN_KEY,
  MaxKey: RANK_MAX_KEY,
  Int32: RANK_NUMBER,
  Double: RANK_NUMBER,
  Long: RANK_NUMBER,
  Decimal128: RANK_NUMBER,
  BSONSymbol: RANK_STRING,
  Binary: RANK_BINARY,
  ObjectId: RANK_OBJECT_ID,
  Timestamp: RANK_TIMESTAMP,
  BSONRegExp: RANK_REGEX,
  DBPointer: RANK_DB_POINTER,
  Code: RANK_CODE,
  DBRef: RANK_OBJECT,
};

/** The canonical type rank MongoDB orders mixed-type values by. */
export function canonicalRank(value: unknown): number {
  if (value === null || value === undefined) return RANK_NULL;
  switch (typeof value) {
    case 'number':
    case 'bigint':
      return RANK_NUMBER;
    case 'string':
      return RANK_STRING;
    case 'boolean':
      return RANK_BOOL;
    case 'object':
      break;
    default:
      return RANK_OBJECT;
  }
  if (Array.isArray(value)) return RANK_ARRAY;
  if (value instanceof Date) return RANK_DATE;
  if (value instanceof RegExp) return RANK_REGEX;
  const tag = (value as Tagged)._bsontype;
  if (tag !== undefined) return RANK_BY_BSONTYPE[tag] ?? RANK_OBJECT;
  return RANK_OBJECT;
}

/** True for int32/int64/double/decimal values in any of their JS representations. */
export function isNumeric(value: unknown): boolean {
  return canonicalRank(value) === RANK_NUMBER && value !== null && value !== undefined;
}

/** A JS number for any numeric BSON value (int64 beyond 2^53 and decimals lose precision). */
export function numericValue(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  const tag = (value as Tagged)._bsontype;
  if (tag === 'Long') return (value as Long).toNumber();
  if (tag === 'Decimal128') return Number.parseFloat(String(value));
  return Number((value as { valueOf(): unknown }).valueOf());
}

function compareNumbers(a: unknown, b: unknown): number {
  const tagA = (a as Tagged)?._bsontype;
  const tagB = (b as Tagged)?._bsontype;
  if (tagA === 'Long' && tagB === 'Long') return (a as Long).compare(b as Long);
  const x = numericValue(a);
  const y = numericValue(b);
  // MongoDB orders NaN below every other number and equal to itself.
  if (Number.isNaN(x)) return Number.isNaN(y) ? 0 : -1;
  if (Number.isNaN(y)) return 1;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Orders strings by their UTF-8 bytes, which is code point order (JS `<` is UTF-16 order). */
export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(i);
    if (ca === cb) continue;
    const surrogateA = ca >= 0xd800 && ca <= 0xdfff;
    const surrogateB = cb >= 0xd800 && cb <= 0xdfff;
    if (surrogateA !== surrogateB) return surrogateA ? 1 : -1;
    return ca < cb ? -1 : 1;
  }
  return a.length < b.length ? -1 : a.length > b.length ? 1 : 0;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    if (x !== y) return x < y ? -1 : 1;
  }
  return a.length - b.length < 0 ? -1 : a.length > b.length ? 1 : 0;
}

function sign(n: number): number {
  return n < 0 ? -1 : n > 0 ? 1 : 0;
}

function compareEntries(a: [string, unknown][], b: [string, unknown][]): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const [keyA, valueA] = a[i] as [string, unknown];
    const [keyB, valueB] = b[i] as [string, unknown];
    const byType = canonicalRank(valueA) - canonicalRank(valueB);
    if (byType !== 0) return sign(byType);
    const byName = compareStrings(keyA, keyB);
    if (byName !== 0) return byName;
    const byValue = compareBson(valueA, valueB);
    if (byValue !== 0) return byValue;
  }
  return sign(a.length - b.length);
}

function definedEntries(value: object): [string, unknown][] {
  return Object.entries(value).filter(([, v]) => v !== undefined);
}

/** Total order over BSON values as MongoDB compares them (`-1`, `0`, `1`). */
export function compareBson(a: unknown, b: unknown): number {
  const rankA = canonicalRank(a);
  const rankB = canonicalRank(b);
  if (rankA !== rankB) return rankA < rankB ? -1 : 1;
  switch (rankA) {
    case RANK_NULL:
    case RANK_MIN_KEY:
    case RANK_MAX_KEY:
      return 0;
    case RANK_NUMBER:
      return compareNumbers(a, b);
    case RANK_STRING:
      return compareStrings(String(a), String(b));
    case RANK_OBJECT_ID:
      return compareBytes((a as ObjectId).id, (b as ObjectId).id);
    case RANK_BOOL:
      return a === b ? 0 : a ? 1 : -1;
    case RANK_DATE:
      return sign((a as Date).getTime() - (b as Date).getTime());
    case RANK_TIMESTAMP: {
      const x = a as Timestamp;
      const y = b as Timestamp;
      if (x.high !== y.high) return x.high >>> 0 < y.high >>> 0 ? -1 : 1;
      return x.low >>> 0 === y.low >>> 0 ? 0 : x.low >>> 0 < y.low >>> 0 ? -1 : 1;
    }
    case RANK_BINARY: {
      const x = a as Binary;
      const y = b as Binary;
      if (x.position !== y.position) return x.position < y.position ? -1 : 1;
      if (x.sub_type !== y.sub_type) return x.sub_type < y.sub_type ? -1 : 1;
      return compareBytes(x.buffer.subarray(0, x.position), y.buffer.subarray(0, y.position));
    }
    case RANK_REGEX: {
      const [patternA, flagsA] = regexParts(a);
      const [patternB, flagsB] = regexParts(b);
      return compareStrings(patternA, patternB) || compareStrings(flagsA, flagsB);
    }
    case RANK_CODE:
      return compareStrings(String((a as { code: unknown }).code), String((b as { code: unknown }).code));
    case RANK_ARRAY:
      return compareEntries(
        (a as unknown[]).map((v, i) => [String(i), v]),
        (b as unknown[]).map((v, i) => [String(i), v]),
      );
    default:
      return compareEntries(definedEntries(a as object), definedEntries(b as object));
  }
}

function regexParts(value: unknown): [string, string] {
  if (value instanceof RegExp) return [value.source, value.flags];
  const regex = value as { pattern: string; options: string };
  return [regex.pattern, regex.options];
}

/** True when MongoDB considers the two values equal (e.g. int 1, long 1 and double 1.0). */
export function bsonEquals(a: unknown, b: unknown): boolean {
  return compareBson(a, b) === 0;
}

import { type Document, Double, deserialize, EJSON, Long, ObjectId } from 'bson';
import { bsonKind } from '../../core/bson-kind.js';
import { elementValue, snapshotIdElement } from '../../core/bson-transcode.js';
import { valueEnd } from '../../core/bson-transcode-check.js';
import { UnsupportedValueError } from '../../core/errors.js';
import {
  type BoundValue,
  bracketOfBound,
  bracketOfType,
  type IdSummary,
  type PartitionBounds,
  typesOutsideBracket,
} from '../../core/partition-plan.js';

/**
 * `_id` values between the pure planner's representation, BSON and their stored text.
 *
 * Checkpoints are the canonical Extended JSON (v2) of the last copied `_id`, e.g.
 * `{"$oid":"65a1…"}`, `{"$numberInt":"7"}`, `"abc"`: exact for every BSON type.
 */

/** The snapshot source's deserialize options (Int32 / Double / Long keep their type), for an `_id` alone. */
const DESERIALIZE_ID_OPTIONS = { promoteValues: false, promoteBuffers: false, promoteLongs: false } as const;

export function encodeCheckpoint(id: unknown): string {
  return EJSON.stringify(id, { relaxed: false });
}

/**
 * The checkpoint of a raw BSON document's `_id` (the last `_id` key, the value a decoded object
 * keeps), decoding that one element with the driver's BSON; undefined when the document has none
 * or is not well-formed (the caller then decodes the whole document).
 */
export function rawIdCheckpoint(document: Uint8Array): string | undefined {
  try {
    const element = snapshotIdElement(document, 0);
    if (element < 0) return undefined;
    const end = valueEnd(
      document,
      document[element] as number,
      elementValue(document, element),
      document.length - 1,
    );
    if (end <= element || end >= document.length) return undefined;
    if (document[element] === BSON_DATETIME) return datetimeCheckpoint(document, end - 8);
    // A document holding only that element: int32 size, the element, the terminating 0.
    const alone = new Uint8Array(4 + (end - element) + 1);
    new DataView(alone.buffer).setInt32(0, alone.length, true);
    alone.set(document.subarray(element, end), 4);
    return encodeCheckpoint(deserialize(alone, DESERIALIZE_ID_OPTIONS)._id);
  } catch {
    return undefined;
  }
}

const BSON_DATETIME = 0x09;

/**
 * A datetime's checkpoint from its int64 milliseconds: the driver decodes one beyond ±8.64e15 ms
 * (Long.MAX_VALUE as "forever") to an Invalid Date, whose text would be `NaN` and lose the value.
 */
function datetimeCheckpoint(document: Uint8Array, at: number): string {
  const milliseconds = new DataView(document.buffer, document.byteOffset + at, 8).getBigInt64(0, true);
  return `{"$date":{"$numberLong":"${milliseconds}"}}`;
}

/**
 * True when the value holds a Date the driver cannot send back as it was read (an Invalid Date:
 * a BSON date beyond ±8.64e15 ms, which goes out as date 0), or with `dbRefs` a DBRef (how the
 * driver decodes a DBPointer too, which goes out as a document).
 */
export function holdsUnsendable(value: unknown, dbRefs = false): boolean {
  if (value instanceof Date) return Number.isNaN(value.getTime());
  switch (bsonKind(value)) {
    case 'DBRef':
      return dbRefs;
    case 'array':
      return (value as unknown[]).some((item) => holdsUnsendable(item, dbRefs));
    case 'document':
      return Object.values(value as object).some((item) => holdsUnsendable(item, dbRefs));
    default:
      return false;
  }
}

/**
 * What an Invalid Date becomes in a checkpoint decoded by the driver (one inside a compound
 * `_id`: a date alone is written from its bytes), which no Extended JSON parser takes back.
 */
export const LOST_DATE_TEXT = '{"$date":{"$numberLong":"NaN"}}';

export function decodeCheckpoint(text: string): unknown {
  try {
    return EJSON.parse(text, { relaxed: false });
  } catch (err) {
    throw new UnsupportedValueError(`stored checkpoint is not Extended JSON: ${(err as Error).message}`);
  }
}

export function boundToBson(bound: BoundValue): unknown {
  switch (bound.type) {
    case 'objectId':
      return ObjectId.createFromHexString(bound.hex);
    case 'integer':
      return Long.fromString(bound.value);
    case 'double':
      return new Double(bound.value);
    case 'string':
      return bound.value;
  }
}

/** MongoDB's `$type` name of a value as the driver hands it out (with or without promoteValues). */
export function bsonTypeName(value: unknown): string {
  const kind = bsonKind(value);
  switch (kind) {
    case 'number':
      return Number.isInteger(value) && Math.abs(value as number) <= 0x7fffffff ? 'int' : 'double';
    case 'Int32':
      return 'int';
    case 'Double':
      return 'double';
    case 'Long':
    case 'bigint':
      return 'long';
    case 'Decimal128':
      return 'decimal';
    case 'string':
      return 'string';
    case 'BSONSymbol':
      return 'symbol';
    case 'document':
    case 'DBRef':
      return 'object';
    case 'array':
      return 'array';
    case 'Binary':
    case 'Bytes':
      return 'binData';
    case 'ObjectId':
      return 'objectId';
    case 'boolean':
      return 'bool';
    case 'Date':
      return 'date';
    case 'Timestamp':
      return 'timestamp';
    case 'RegExp':
    case 'BSONRegExp':
      return 'regex';
    case 'Code':
      return (value as { scope?: unknown }).scope ? 'javascriptWithScope' : 'javascript';
    case 'MinKey':
      return 'minKey';
    case 'MaxKey':
      return 'maxKey';
    case 'null':
      return 'null';
    default:
      return 'undefined';
  }
}

/** What the planner needs to know about a smallest or largest `_id`. */
export function summarizeId(value: unknown): IdSummary {
  const type = bsonTypeName(value);
  switch (type) {
    case 'objectId':
      return { type: 'objectId', hex: (value as ObjectId).toHexString() };
    case 'int':
    case 'long':
      return { type: 'integer', value: integerText(value) };
    case 'double': {
      const number = Number(typeof value === 'number' ? value : (value as Double).value);
      return Number.isFinite(number)
        ? { type: 'double', value: number }
        : { type: 'other', bsonType: 'double' };
    }
    case 'string':
      return { type: 'string', value: value as string };
    default:
      return { type: 'other', bsonType: type };
  }
}

function integerText(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (bsonKind(value) === 'Int32') return String((value as { value: number }).value);
  return (value as Long).toString();
}

/**
 * The find filter of a partition. A comparison only matches values of its bound's type bracket,
 * so an open end is widened with `$type` to every bracket beyond it: the first partition also
 * holds every `_id` sorting before the split type, the last every `_id` sorting after it.
 * NaN sorts before every other number, yet no `$lt`/`$gte` with a number matches it (only
 * equality does): the first partition, when its upper bound is a number, also holds `_id: NaN`.
 */
export function partitionFilter(bounds: PartitionBounds): Document {
  const { lower, upper } = bounds;
  if (lower !== null && upper !== null) return { _id: { $gte: boundToBson(lower), $lt: boundToBson(upper) } };
  if (upper !== null) {
    const bracket = bracketOfBound(upper);
    return widen({ $lt: boundToBson(upper) }, typesOutsideBracket(bracket, 'below'), bracket === NUMBERS);
  }
  if (lower !== null)
    return widen({ $gte: boundToBson(lower) }, typesOutsideBracket(bracketOfBound(lower), 'above'));
  return {};
}

/**
 * `_id` strictly after `id` in MongoDB's full sort order, whatever its type. `$gt: NaN` matches
 * nothing, so after a NaN come all the numbers but NaN: `$gte: -Infinity`.
 */
export function afterIdFilter(id: unknown): Document {
  return widen(afterInBracket(id), typesOutsideBracket(bracketOfType(bsonTypeName(id)), 'above'));
}

/** The comparison for the `_id`s after `id` within its own type bracket (NaN: every other number). */
export function afterInBracket(id: unknown): Document {
  return isNaNNumber(id) ? { $gte: Number.NEGATIVE_INFINITY } : { $gt: id };
}

/**
 * `_id` at or before `id` in MongoDB's full sort order, whatever its type: what bounds a read of
 * an open-ended partition at the largest `_id` present when it began. `$lte` a number does not
 * match NaN, which sorts before every number: `_id: NaN` is asked for too.
 */
export function throughIdFilter(id: unknown): Document {
  const bracket = bracketOfType(bsonTypeName(id));
  return widen({ $lte: id }, typesOutsideBracket(bracket, 'below'), bracket === NUMBERS);
}

/**
 * True for a NaN of any numeric BSON type. Equality to a double NaN also matches a Decimal128
 * NaN (the server compares them equal: mongodb/mongo `compareDecimalToDouble`).
 */
function isNaNNumber(id: unknown): boolean {
  const kind = bsonKind(id);
  if (kind === 'Decimal128') return String(id) === 'NaN';
  const value = kind === 'Double' ? (id as Double).value : id;
  return typeof value === 'number' && Number.isNaN(value);
}

const NUMBERS = bracketOfType('double');

function widen(comparison: Document, otherTypes: string[], withNaN = false): Document {
  const clauses = [{ _id: comparison }, ...(withNaN ? [{ _id: Number.NaN }] : [])];
  if (otherTypes.length > 0) clauses.push({ _id: { $type: otherTypes } });
  return clauses.length === 1 ? (clauses[0] as Document) : { $or: clauses };
}

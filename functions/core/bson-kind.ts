/**
 * Recognise BSON values without importing `bson`: its classes carry a `_bsontype` tag, and the
 * driver also hands out plain JS values (number, string, boolean, null, Date, RegExp, arrays,
 * objects, bigint when asked for).
 */

export type BsonKind =
  | 'null'
  | 'undefined'
  | 'boolean'
  | 'string'
  | 'number'
  | 'bigint'
  | 'Int32'
  | 'Double'
  | 'Long'
  | 'Decimal128'
  | 'ObjectId'
  | 'Date'
  | 'RegExp'
  | 'BSONRegExp'
  | 'Timestamp'
  | 'Binary'
  | 'Bytes'
  | 'Code'
  | 'BSONSymbol'
  | 'DBRef'
  | 'MinKey'
  | 'MaxKey'
  | 'array'
  | 'document'
  | 'unsupported';

const TAGGED = new Set([
  'Int32',
  'Double',
  'Long',
  'Decimal128',
  'ObjectId',
  'BSONRegExp',
  'Timestamp',
  'Binary',
  'Code',
  'BSONSymbol',
  'DBRef',
  'MinKey',
  'MaxKey',
]);

export function bsonKind(value: unknown): BsonKind {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'undefined':
      return 'undefined';
    case 'boolean':
      return 'boolean';
    case 'string':
      return 'string';
    case 'number':
      return 'number';
    case 'bigint':
      return 'bigint';
    case 'object':
      break;
    default:
      return 'unsupported';
  }
  if (Array.isArray(value)) return 'array';
  if (value instanceof Date) return 'Date';
  if (value instanceof RegExp) return 'RegExp';
  if (value instanceof Uint8Array) return 'Bytes';
  const tag = (value as { _bsontype?: unknown })._bsontype;
  if (typeof tag === 'string') {
    if (tag === 'ObjectID') return 'ObjectId';
    if (tag === 'Symbol') return 'BSONSymbol';
    return TAGGED.has(tag) ? (tag as BsonKind) : 'unsupported';
  }
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null ? 'document' : 'unsupported';
}

/** A signed 64-bit integer from a bson Long (`low`/`high` 32-bit halves) or anything with toString. */
export function longToBigInt(value: unknown): bigint {
  const { low, high, unsigned } = value as { low?: unknown; high?: unknown; unsigned?: unknown };
  if (typeof low === 'number' && typeof high === 'number') {
    const bits = (BigInt(high >>> 0) << 32n) | BigInt(low >>> 0);
    return unsigned === true ? BigInt.asUintN(64, bits) : BigInt.asIntN(64, bits);
  }
  return BigInt(String(value));
}

export function objectIdHex(value: unknown): string {
  const oid = value as { toHexString?: () => string; id?: unknown; buffer?: unknown };
  if (typeof oid.toHexString === 'function') return oid.toHexString().toLowerCase();
  const bytes =
    oid.id instanceof Uint8Array ? oid.id : oid.buffer instanceof Uint8Array ? oid.buffer : undefined;
  if (bytes === undefined || bytes.length !== 12) throw new TypeError('ObjectId without 12 bytes');
  return Buffer.from(bytes.buffer, bytes.byteOffset, 12).toString('hex');
}

/** Seconds and increment of a BSON Timestamp (bson ≥5 exposes `t`/`i`; older ones `high`/`low`). */
export function timestampParts(value: unknown): { t: number; i: number } {
  const ts = value as { t?: unknown; i?: unknown; high?: unknown; low?: unknown };
  if (typeof ts.t === 'number' && typeof ts.i === 'number') return { t: ts.t, i: ts.i };
  if (typeof ts.high === 'number' && typeof ts.low === 'number') return { t: ts.high >>> 0, i: ts.low >>> 0 };
  throw new TypeError('Timestamp without t/i or high/low');
}

export function binaryParts(value: unknown): { subtype: number; bytes: Uint8Array } {
  const bin = value as { sub_type?: unknown; buffer?: unknown; position?: unknown };
  const buffer = bin.buffer instanceof Uint8Array ? bin.buffer : new Uint8Array(0);
  const length = typeof bin.position === 'number' ? bin.position : buffer.length;
  return { subtype: typeof bin.sub_type === 'number' ? bin.sub_type : 0, bytes: buffer.subarray(0, length) };
}

/** BSON regex options are the letters imsux in alphabetical order; JS-only flags have no BSON meaning. */
export function regexOptionsFromJsFlags(flags: string): string {
  return [...flags]
    .filter((flag) => 'imsux'.includes(flag))
    .sort()
    .join('');
}

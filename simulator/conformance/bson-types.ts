/** Classifies runtime values the driver hands back as BSON types, for matching and `$$type`. */
import { Long } from 'bson';

interface BsonTagged {
  _bsontype: string;
}

function bsonTag(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const tag = (value as Partial<BsonTagged>)._bsontype;
  return typeof tag === 'string' ? tag : undefined;
}

/** True for values the matcher treats as documents: plain objects and result objects, not BSON scalars. */
export function isDocument(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  if (
    Array.isArray(value) ||
    value instanceof Date ||
    value instanceof RegExp ||
    value instanceof Uint8Array
  ) {
    return false;
  }
  const tag = bsonTag(value);
  return tag === undefined || tag === 'DBRef';
}

export function isNumeric(value: unknown): boolean {
  if (typeof value === 'number' || typeof value === 'bigint') return true;
  const tag = bsonTag(value);
  return tag === 'Long' || tag === 'Int32' || tag === 'Double';
}

export function toNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof Long) return value.toNumber();
  const tag = bsonTag(value);
  if (tag === 'Int32' || tag === 'Double') return (value as { value: number }).value;
  if (tag === 'Long') return Number((value as { toString(): string }).toString());
  return Number.NaN;
}

const int32Min = -(2 ** 31);
const int32Max = 2 ** 31 - 1;

/**
 * The `$type` aliases a value may answer to. The driver promotes int32, int64 and double to JS
 * numbers, so an integral JS number answers to int, long and double alike (the wire type is gone).
 */
export function bsonTypeName(value: unknown): string[] {
  if (value === null) return ['null'];
  if (value === undefined) return ['undefined'];
  if (typeof value === 'string') return ['string'];
  if (typeof value === 'boolean') return ['bool'];
  if (typeof value === 'bigint') return ['long', 'number'];
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) return ['double', 'number'];
    return value >= int32Min && value <= int32Max
      ? ['int', 'long', 'double', 'number']
      : ['long', 'double', 'number'];
  }
  if (Array.isArray(value)) return ['array'];
  if (value instanceof Date) return ['date'];
  if (value instanceof RegExp) return ['regex'];
  if (value instanceof Uint8Array) return ['binData'];
  const tag = bsonTag(value);
  switch (tag) {
    case undefined:
    case 'DBRef':
      return ['object'];
    case 'Int32':
      return ['int', 'number'];
    case 'Long':
      return ['long', 'number'];
    case 'Double':
      return ['double', 'number'];
    case 'Decimal128':
      return ['decimal', 'number'];
    case 'ObjectId':
      return ['objectId'];
    case 'Binary':
      return ['binData'];
    case 'Timestamp':
      return ['timestamp'];
    case 'BSONRegExp':
      return ['regex'];
    case 'Code':
      return (value as { scope?: unknown }).scope ? ['javascriptWithScope'] : ['javascript'];
    case 'BSONSymbol':
      return ['symbol'];
    case 'MinKey':
      return ['minKey'];
    case 'MaxKey':
      return ['maxKey'];
    case 'DBPointer':
      return ['dbPointer'];
    default:
      return [tag];
  }
}

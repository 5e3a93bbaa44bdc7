/**
 * A string key per BSON value such that two values get the same key exactly when MongoDB
 * considers them equal (int 1, long 1 and double 1.0 share a key). Used for hashing `_id`s,
 * unique index keys, `distinct` and duplicate detection.
 */
import type { Binary, Long, ObjectId, Timestamp } from 'bson';
import { canonicalRank, numericValue } from './bson-order.js';

type Tagged = { _bsontype?: string };

function numberKey(value: unknown): string {
  const tag = (value as Tagged)?._bsontype;
  if (tag === 'Long') {
    const long = value as Long;
    const asNumber = long.toNumber();
    return Number.isSafeInteger(asNumber) ? String(asNumber) : long.toString();
  }
  const n = numericValue(value);
  if (Number.isNaN(n)) return 'NaN';
  if (Object.is(n, -0)) return '0';
  if (Number.isInteger(n) && !Number.isSafeInteger(n) && Number.isFinite(n)) return BigInt(n).toString();
  return String(n);
}

/** Equal keys ⇔ equal values under MongoDB's comparison. */
export function valueKey(value: unknown): string {
  const rank = canonicalRank(value);
  switch (rank) {
    case 5:
      return 'z';
    case 1:
      return 'min';
    case 127:
      return 'max';
    case 10:
      return `n${numberKey(value)}`;
    case 15:
      return `s${JSON.stringify(String(value))}`;
    case 35:
      return `o${(value as ObjectId).toHexString()}`;
    case 40:
      return value ? 'T' : 'F';
    case 45:
      return `d${(value as Date).getTime()}`;
    case 47:
      return `t${(value as Timestamp).toString()}`;
    case 30: {
      const binary = value as Binary;
      return `b${binary.sub_type}:${Buffer.from(binary.buffer.subarray(0, binary.position)).toString('base64')}`;
    }
    case 25:
      return `[${(value as unknown[]).map(valueKey).join(',')}]`;
    case 20: {
      const parts: string[] = [];
      for (const [name, field] of Object.entries(value as object)) {
        if (field !== undefined) parts.push(`${JSON.stringify(name)}:${valueKey(field)}`);
      }
      return `{${parts.join(',')}}`;
    }
    default:
      return `x${rank}:${JSON.stringify(String((value as { toString(): string }).toString()))}`;
  }
}

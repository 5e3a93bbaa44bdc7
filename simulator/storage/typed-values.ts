/**
 * Stored documents keep every BSON number in its wire type (Int32, Double, Long, Decimal128) so
 * they go back to the driver byte-identical. mingo only understands JS numbers, so queries and
 * updates run on a "plain view" and updated documents get their original number types back.
 */

import type { Document } from 'bson';
import { Double, Int32, Long } from 'bson';

type Tagged = { _bsontype?: string };

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Wraps a JS number the way the driver would have serialised it. */
export function typedNumber(n: number): Int32 | Double {
  return Number.isInteger(n) && n >= INT32_MIN && n <= INT32_MAX && !Object.is(n, -0)
    ? new Int32(n)
    : new Double(n);
}

/** Deep copy with every JS number/bigint replaced by its BSON wrapper. */
export function toTyped<T>(value: T): T {
  if (typeof value === 'number') return typedNumber(value) as T;
  if (typeof value === 'bigint') return Long.fromBigInt(value) as T;
  if (Array.isArray(value)) return value.map((item) => toTyped(item)) as T;
  if (isPlainObject(value)) {
    const copy: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(value)) {
      if (field !== undefined) copy[key] = toTyped(field);
    }
    return copy as T;
  }
  return value;
}

/**
 * Like `toTyped` but without copying: wraps JS numbers and drops undefined fields in place. For
 * request documents the server owns (inserts), where a deep copy would only feed the GC.
 */
export function typeInPlace<T>(value: T): T {
  if (typeof value === 'number' || typeof value === 'bigint') return toTyped(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item = value[i];
      if (
        item !== null &&
        (typeof item === 'object' || typeof item === 'number' || typeof item === 'bigint')
      ) {
        value[i] = typeInPlace(item);
      }
    }
    return value;
  }
  if (isPlainObject(value)) {
    const record: Record<string, unknown> = value;
    for (const key in record) {
      const field = record[key];
      if (field === undefined) delete record[key];
      else if (
        field !== null &&
        (typeof field === 'object' || typeof field === 'number' || typeof field === 'bigint')
      ) {
        record[key] = typeInPlace(field);
      }
    }
  }
  return value;
}

/** The JS number for Int32/Double (and Long within 2^53), anything else unchanged. */
export function plainScalar(value: unknown): unknown {
  const tag = (value as Tagged | null)?._bsontype;
  if (tag === 'Int32' || tag === 'Double') return (value as Int32 | Double).value;
  if (tag === 'Long') {
    const n = (value as Long).toNumber();
    return Number.isSafeInteger(n) ? n : value;
  }
  return value;
}

/** Deep copy with BSON number wrappers unwrapped, for mingo. */
export function toPlain<T>(value: T): T {
  if (Array.isArray(value)) return value.map((item) => toPlain(item)) as T;
  if (isPlainObject(value)) {
    const copy: Record<string, unknown> = {};
    for (const key in value) copy[key] = toPlain(value[key]);
    return copy as T;
  }
  return plainScalar(value) as T;
}

/**
 * Gives an updated plain document back its number types: a number equal to the original value at
 * the same path keeps the original wrapper; a changed number keeps the original's type where it
 * can (long stays long, double stays double); new numbers get the driver's default typing.
 */
export function retype(updated: unknown, original: unknown): unknown {
  if (typeof updated === 'number') return retypeNumber(updated, original);
  if (typeof updated === 'bigint') return Long.fromBigInt(updated);
  if (Array.isArray(updated)) {
    const before = Array.isArray(original) ? original : [];
    return updated.map((item, index) => retype(item, before[index]));
  }
  if (isPlainObject(updated)) {
    const before = isPlainObject(original) ? original : {};
    const copy: Document = {};
    for (const [key, field] of Object.entries(updated)) {
      if (field !== undefined) copy[key] = retype(field, before[key]);
    }
    return copy;
  }
  return updated;
}

function retypeNumber(n: number, original: unknown): unknown {
  const tag = (original as Tagged | null)?._bsontype;
  if (tag === 'Int32' || tag === 'Double' || tag === 'Long') {
    if (plainScalar(original) === n) return original;
    if (tag === 'Long' && Number.isInteger(n)) return Long.fromNumber(n);
    if (tag === 'Double') return new Double(n);
  }
  return typedNumber(n);
}

/** A shallow-safe deep clone of a stored document (stored documents are never mutated in place). */
export function cloneDocument<T>(value: T): T {
  if (Array.isArray(value)) return value.map((item) => cloneDocument(item)) as T;
  if (isPlainObject(value)) {
    const copy: Record<string, unknown> = {};
    for (const key in value) copy[key] = cloneDocument(value[key]);
    return copy as T;
  }
  return value;
}

export { isPlainObject };

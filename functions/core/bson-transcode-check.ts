/**
 * Structure of raw BSON for the transcoder: element sizes, keys, and the checks the `bson`
 * package's deserializer makes (same messages), run in its byte order so that the first
 * problem reported is the one today's decode reports.
 */
import { readInt32 } from './bson-transcode-scalars.js';
import { utf8SequenceLength } from './bson-transcode-sink.js';

/** Raw bytes that are not a BSON document the driver would decode (name as the `bson` package's). */
export class BsonFormatError extends Error {
  override get name(): string {
    return 'BSONError';
  }
}

export const T_DOUBLE = 0x01;
export const T_STRING = 0x02;
export const T_DOCUMENT = 0x03;
export const T_ARRAY = 0x04;
export const T_BINARY = 0x05;
export const T_UNDEFINED = 0x06;
export const T_OBJECT_ID = 0x07;
export const T_BOOLEAN = 0x08;
export const T_DATE = 0x09;
export const T_NULL = 0x0a;
export const T_REGEX = 0x0b;
export const T_DB_POINTER = 0x0c;
export const T_CODE = 0x0d;
export const T_SYMBOL = 0x0e;
export const T_CODE_W_SCOPE = 0x0f;
export const T_INT32 = 0x10;
export const T_TIMESTAMP = 0x11;
export const T_INT64 = 0x12;
export const T_DECIMAL128 = 0x13;
export const T_MIN_KEY = 0xff;
export const T_MAX_KEY = 0x7f;

/** Index of the NUL ending the C string at `p` (before `end`), or -1. */
export function cstringEnd(src: Uint8Array, p: number, end: number): number {
  for (let q = p; q < end; q++) if (src[q] === 0) return q;
  return -1;
}

/** A key or regex text as the deserializer decodes it: UTF-8 with replacement characters. */
export function decodeLenient(src: Uint8Array, a: number, b: number): string {
  return Buffer.from(src.buffer, src.byteOffset, src.byteLength).toString('utf8', a, b);
}

export function isValidUtf8(src: Uint8Array, a: number, b: number): boolean {
  for (let i = a; i < b; ) {
    if ((src[i] as number) < 0x80) i++;
    else {
      const length = utf8SequenceLength(src, i, b);
      if (length === 0) return false;
      i += length;
    }
  }
  return true;
}

/** Offset just past the value of type `type` at `p` (trusting its length fields), or -1 if unknown. */
export function valueEnd(src: Uint8Array, type: number, p: number, end: number): number {
  switch (type) {
    case T_STRING:
    case T_CODE:
    case T_SYMBOL:
      return p + 4 + readInt32(src, p);
    case T_DOCUMENT:
    case T_ARRAY:
    case T_CODE_W_SCOPE:
      return p + readInt32(src, p);
    case T_OBJECT_ID:
      return p + 12;
    case T_DOUBLE:
    case T_DATE:
    case T_TIMESTAMP:
    case T_INT64:
      return p + 8;
    case T_INT32:
      return p + 4;
    case T_BOOLEAN:
      return p + 1;
    case T_DECIMAL128:
      return p + 16;
    case T_UNDEFINED:
    case T_NULL:
    case T_MIN_KEY:
    case T_MAX_KEY:
      return p;
    default:
      return otherValueEnd(src, type, p, end);
  }
}

function otherValueEnd(src: Uint8Array, type: number, p: number, end: number): number {
  if (type === T_BINARY) return p + 5 + readInt32(src, p);
  if (type === T_DB_POINTER) return p + 4 + readInt32(src, p) + 12;
  if (type !== T_REGEX) return -1;
  const pattern = cstringEnd(src, p, end);
  const options = pattern < 0 ? -1 : cstringEnd(src, pattern + 1, end);
  return options < 0 ? -1 : options + 1;
}

/**
 * Offset of the element (its type byte) named `name` in the document at `at`: the last one, as a
 * decoded object keeps the last value of a repeated key; -1 when absent.
 */
export function findElement(src: Uint8Array, at: number, name: string): number {
  const end = at + readInt32(src, at) - 1;
  const key = Buffer.from(name, 'utf8');
  let found = -1;
  for (let p = at + 4; p < end; ) {
    const keyEnd = cstringEnd(src, p + 1, end);
    if (keyEnd < 0) throw new BsonFormatError('Bad BSON Document: illegal CString');
    if (keyEnd - p - 1 === key.length && key.equals(src.subarray(p + 1, keyEnd))) found = p;
    const next = valueEnd(src, src[p] as number, keyEnd + 1, end);
    if (next < 0 || next > end) throw new BsonFormatError('corrupt object bson');
    p = next;
  }
  return found;
}

/** Offset of an element's value (after its key). */
export function elementValue(src: Uint8Array, element: number): number {
  return cstringEnd(src, element + 1, src.length) + 1;
}

/**
 * The checks the `bson` package's deserializer makes on a document (bson 7, the options of
 * DESERIALIZE_OPTIONS), in its order and with its messages. The transcoder runs this only once
 * it has failed, so that the error reported is the one today's decode would have raised first.
 */
import {
  BsonFormatError,
  decodeLenient,
  isValidUtf8,
  T_ARRAY,
  T_BINARY,
  T_BOOLEAN,
  T_CODE,
  T_CODE_W_SCOPE,
  T_DB_POINTER,
  T_DOCUMENT,
  T_MAX_KEY,
  T_MIN_KEY,
  T_NULL,
  T_REGEX,
  T_STRING,
  T_SYMBOL,
  T_UNDEFINED,
} from './bson-transcode-check.js';
import { readInt32 } from './bson-transcode-scalars.js';

const FIXED: Readonly<Record<number, number>> = { 1: 8, 7: 12, 9: 8, 16: 4, 17: 8, 18: 8, 19: 16 };

/** An open embedded document / array / scope while walking. */
interface Frame {
  end: number;
  isArray: boolean;
  index: number;
}

/** Throws the error `BSON.deserialize` raises for the document at `at`, if any. */
export function checkBson(src: Uint8Array, at: number): void {
  const size = readInt32(src, at);
  if (size < 5) throw new BsonFormatError(`bson size must be >= 5, is ${size}`);
  // The driver hands each document over in a buffer of its own, which deserialize wants exact.
  if (at === 0 && src.length < size)
    throw new BsonFormatError(`buffer length ${src.length} must === bson size ${size}`);
  if (size + at > src.byteLength)
    throw new BsonFormatError(
      `(bson size ${size} + options.index ${at} must be <= buffer length ${src.byteLength})`,
    );
  if (src[at + size - 1] !== 0)
    throw new BsonFormatError("One object, sized correctly, with a spot for an EOO, but the EOO isn't 0x00");
  const stack: Frame[] = [];
  let frame: Frame = { end: at + size, isArray: false, index: 0 };
  let p = at + 4;
  for (;;) {
    const type = src[p++];
    if (type === 0) {
      if (stack.length === 0) break;
      if (p !== frame.end) {
        if (frame.isArray) throw new BsonFormatError('corrupted array bson');
        throw new BsonFormatError('Bad BSON Document: object not properly terminated');
      }
      frame = stack.pop() as Frame;
      continue;
    }
    const keyEnd = strictCstringEnd(src, p);
    const name = frame.isArray ? String(frame.index++) : decodeLenient(src, p, keyEnd);
    p = keyEnd + 1;
    const opened = openedFrame(src, type ?? -1, p);
    if (opened !== null) {
      stack.push(frame);
      frame = opened;
      p = opened.index;
      opened.index = 0;
    } else p = checkValue(src, type ?? -1, p, name);
  }
  if (p - at !== size) throw new BsonFormatError('corrupt object bson');
}

function strictCstringEnd(src: Uint8Array, p: number): number {
  let i = p;
  while (src[i] !== 0 && i < src.length) i++;
  if (i >= src.byteLength) throw new BsonFormatError('Bad BSON Document: illegal CString');
  return i;
}

/** The frame a document, array or code-with-scope value opens (`index` = where its elements start). */
function openedFrame(src: Uint8Array, type: number, p: number): Frame | null {
  if (type === T_DOCUMENT || type === T_ARRAY) {
    const size = readInt32(src, p);
    if (size < 5 || size > src.length - p)
      throw new BsonFormatError(`bad embedded ${type === T_ARRAY ? 'array' : 'document'} length in bson`);
    return { end: p + size, isArray: type === T_ARRAY, index: p + 4 };
  }
  if (type !== T_CODE_W_SCOPE) return null;
  const total = readInt32(src, p);
  if (total < 4 + 4 + 4 + 1)
    throw new BsonFormatError('code_w_scope total size shorter minimum expected length');
  const stringSize = readInt32(src, p + 4);
  const scope = checkString(src, p + 4);
  const size = readInt32(src, scope);
  if (size < 5 || size > src.length - scope)
    throw new BsonFormatError('bad scope document size in code_w_scope');
  if (total < 4 + 4 + size + stringSize)
    throw new BsonFormatError('code_w_scope total size is too short, truncating scope');
  if (total > 4 + 4 + size + stringSize)
    throw new BsonFormatError('code_w_scope total size is too long, clips outer document');
  return { end: scope + size, isArray: false, index: scope + 4 };
}

/** Checks a length-prefixed UTF-8 string at `p`; returns the offset after it. */
function checkString(src: Uint8Array, p: number): number {
  const size = readInt32(src, p);
  const start = p + 4;
  if (size <= 0 || size > src.length - start || src[start + size - 1] !== 0)
    throw new BsonFormatError('bad string length in bson');
  if (!isValidUtf8(src, start, start + size - 1))
    throw new BsonFormatError('Invalid UTF-8 string in BSON document');
  return start + size;
}

function checkValue(src: Uint8Array, type: number, p: number, name: string): number {
  const fixed = FIXED[type];
  if (fixed !== undefined) return p + fixed;
  switch (type) {
    case T_STRING:
    case T_CODE:
    case T_SYMBOL:
      return checkString(src, p);
    case T_DB_POINTER:
      return checkString(src, p) + 12;
    case T_BOOLEAN:
      if (src[p] !== 0 && src[p] !== 1) throw new BsonFormatError('illegal boolean type value');
      return p + 1;
    case T_UNDEFINED:
    case T_NULL:
    case T_MIN_KEY:
    case T_MAX_KEY:
      return p;
    case T_BINARY:
      return checkBinary(src, p);
    case T_REGEX:
      return regexAt(src, p).next;
    default:
      throw new BsonFormatError(`Detected unknown BSON type ${type.toString(16)} for fieldname "${name}"`);
  }
}

function checkBinary(src: Uint8Array, p: number): number {
  const total = readInt32(src, p);
  const subtype = src[p + 4];
  if (total < 0) throw new BsonFormatError('Negative binary type element size found');
  if (total > src.byteLength) throw new BsonFormatError('Binary type size larger than document size');
  if (subtype !== 2) return p + 5 + total;
  const size = readInt32(src, p + 5);
  if (size < 0) throw new BsonFormatError('Negative binary type element size found for subtype 0x02');
  if (size > total - 4)
    throw new BsonFormatError('Binary type with subtype 0x02 contains too long binary size');
  if (size < total - 4)
    throw new BsonFormatError('Binary type with subtype 0x02 contains too short binary size');
  return p + 9 + size;
}

/**
 * The JS RegExp the deserializer makes of a BSON regex (bsonRegExp: false): BSON option `m` and `i`
 * carry over, `s` becomes the JS flag `g`, the others are dropped; a pattern JS does not accept
 * throws its SyntaxError.
 */
export function regexAt(src: Uint8Array, p: number): { regex: RegExp; next: number } {
  const patternEnd = strictCstringEnd(src, p);
  const optionsEnd = strictCstringEnd(src, patternEnd + 1);
  const options = decodeLenient(src, patternEnd + 1, optionsEnd);
  let flags = '';
  for (const option of options) {
    if (option === 'm' || option === 'i') flags += option;
    else if (option === 's') flags += 'g';
  }
  return { regex: new RegExp(decodeLenient(src, p, patternEnd), flags), next: optionsEnd + 1 };
}

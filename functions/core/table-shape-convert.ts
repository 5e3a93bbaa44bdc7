/**
 * One BSON value, straight from its bytes, as the JSONEachRow value of a typed column
 * (docs/table-schema.md, "Conversions"). Each writer returns false, having written nothing, when
 * the value does not convert; the caller counts that and writes NULL or the type's default.
 */
import { doubleToJson } from './bson-json.js';
import {
  T_BINARY,
  T_BOOLEAN,
  T_CODE,
  T_DATE,
  T_DECIMAL128,
  T_DOUBLE,
  T_INT32,
  T_INT64,
  T_OBJECT_ID,
  T_STRING,
  T_SYMBOL,
} from './bson-transcode-check.js';
import { stringValue } from './bson-transcode-entries.js';
import {
  decimal128Text,
  readFloat64,
  readInt32,
  writeDate,
  writeInteger as writeDigits,
  writeObjectId,
  writeShortDecimal,
} from './bson-transcode-scalars.js';
import { type JsonSink, viewOf, writeAscii } from './bson-transcode-sink.js';
import { DOC_STYLE, writeString, writeValue } from './bson-transcode-write.js';
import { civilDate } from './civil-date.js';
import {
  DATE_MAX_DAY,
  DATETIME64_MAX_MS,
  DATETIME64_MIN_MS,
  dateText,
  decimalColumnText,
  type ExactDecimal,
  INT_RANGES,
  integralValue,
  MS_PER_DAY,
  parseDateTimeText,
  parseDecimalText,
  parseIntegerText,
} from './table-shape-numbers.js';
import type { ScalarType } from './table-shape-types.js';

/** Writes the value of BSON type `type` at `at` as a `column` value; false (nothing written) when it does not convert. */
export function writeScalar(
  s: JsonSink,
  src: Uint8Array,
  type: number,
  at: number,
  column: ScalarType,
): boolean {
  switch (column.kind) {
    case 'String':
      writeStringColumn(s, src, type, at);
      return true;
    case 'Int32':
    case 'Int64':
    case 'UInt64':
      return (
        writeSmallInteger(s, src, type, at, column.kind) ||
        writeInteger(s, integerOf(src, type, at), column.kind)
      );
    case 'Float64':
      return writeFloat(s, floatOf(src, type, at));
    case 'Decimal':
      return writeJsonString(s, decimalOf(src, type, at, column));
    case 'Bool':
      return writeBool(s, boolOf(src, type, at));
    case 'Date':
      return writeJsonString(s, dateOf(src, type, at));
    case 'DateTime64':
      return writeDateTime64(s, dateTime64Of(src, type, at));
    case 'UUID':
      return writeJsonString(s, uuidOf(src, type, at));
  }
}

/** The value a non-Nullable column gets for a missing, null or unconvertible value. */
export function defaultText(column: ScalarType): string {
  switch (column.kind) {
    case 'String':
      return '""';
    case 'Decimal':
      return '"0"';
    case 'Bool':
      return 'false';
    case 'Date':
      return '"1970-01-01"';
    case 'DateTime64':
      return '"1970-01-01 00:00:00.000"';
    case 'UUID':
      return '"00000000-0000-0000-0000-000000000000"';
    default:
      return '0';
  }
}

/** String: text as it is, ObjectId as hex, Date and Decimal128 as in `doc`; anything else its `doc` JSON as text. */
function writeStringColumn(s: JsonSink, src: Uint8Array, type: number, at: number): void {
  if (type === T_STRING || type === T_SYMBOL || type === T_CODE) writeString(s, src, at, src.length);
  else if (type === T_OBJECT_ID) writeObjectId(s, src, at, true);
  else if (type === T_DECIMAL128) writeAscii(s, JSON.stringify(decimal128Text(src, at)));
  else if (type === T_DATE) writeDateString(s, src, at);
  else if (type === T_DOUBLE && !Number.isFinite(readFloat64(src, at)))
    writeAscii(s, doubleToJson(readFloat64(src, at)));
  else {
    s.rawByte(0x22);
    s.embedded = true;
    writeValue(s, src, type, at, src.length, 0, DOC_STYLE);
    s.embedded = false;
    s.rawByte(0x22);
  }
}

/** A date `doc` cannot render (beyond JS's range) is written as `null` there; here as its milliseconds. */
function writeDateString(s: JsonSink, src: Uint8Array, at: number): void {
  const start = s.pos;
  writeDate(s, src, at);
  if (s.buf[start] === 0x6e) {
    s.pos = start;
    writeAscii(s, `"${dateMs(src, at)}"`);
  }
}

function readInt64(src: Uint8Array, at: number): bigint {
  return viewOf(src).getBigInt64(src.byteOffset + at, true);
}

function dateMs(src: Uint8Array, at: number): number {
  return Number(readInt64(src, at));
}

/** Decimal text of a string, double, Decimal128 or integer value, exactly; null for other types. */
function exactOf(src: Uint8Array, type: number, at: number): ExactDecimal | null {
  switch (type) {
    case T_INT32:
      return parseDecimalText(String(readInt32(src, at)));
    case T_INT64:
      return parseDecimalText(readInt64(src, at).toString());
    case T_DOUBLE: {
      const value = readFloat64(src, at);
      return Number.isFinite(value) ? parseDecimalText(String(value)) : null;
    }
    case T_DECIMAL128:
      return parseDecimalText(decimal128Text(src, at));
    case T_STRING:
      return parseDecimalText(stringValue(src, at));
    default:
      return null;
  }
}

function integerOf(src: Uint8Array, type: number, at: number): bigint | null {
  if (type === T_INT32) return BigInt(readInt32(src, at));
  if (type === T_INT64) return readInt64(src, at);
  if (type === T_STRING) return parseIntegerText(stringValue(src, at));
  if (type !== T_DOUBLE && type !== T_DECIMAL128) return null;
  const exact = exactOf(src, type, at);
  return exact === null ? null : integralValue(exact);
}

const SMALL_RANGES = {
  Int32: [-2147483648, 2147483647],
  Int64: [-(2 ** 53), 2 ** 53],
  UInt64: [0, 2 ** 53],
} as const;

/**
 * The common case without BigInt: an int32, a double or an int64 within ±2^53 that fits the
 * column. False (nothing written) for anything else, which the exact path then decides.
 */
function writeSmallInteger(
  s: JsonSink,
  src: Uint8Array,
  type: number,
  at: number,
  kind: keyof typeof SMALL_RANGES,
): boolean {
  let value: number;
  if (type === T_INT32) value = readInt32(src, at);
  else if (type === T_DOUBLE) value = readFloat64(src, at);
  else if (type === T_INT64) {
    const high = readInt32(src, at + 4);
    if (high < -2097152 || high >= 2097152) return false;
    value = high * 4294967296 + (readInt32(src, at) >>> 0);
  } else return false;
  const [min, max] = SMALL_RANGES[kind];
  if (!Number.isInteger(value) || value < min || value > max) return false;
  writeDigits(s, value === 0 ? 0 : value);
  return true;
}

function writeInteger(s: JsonSink, value: bigint | null, kind: keyof typeof INT_RANGES): boolean {
  if (value === null) return false;
  const [min, max] = INT_RANGES[kind];
  if (value < min || value > max) return false;
  writeAscii(s, value.toString());
  return true;
}

const FLOAT_TEXT = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

function floatOf(src: Uint8Array, type: number, at: number): number | null {
  switch (type) {
    case T_DOUBLE:
      return readFloat64(src, at);
    case T_INT32:
      return readInt32(src, at);
    case T_INT64:
      return Number(readInt64(src, at));
    case T_DECIMAL128:
      return Number(decimal128Text(src, at));
    case T_STRING: {
      const text = stringValue(src, at);
      const value = FLOAT_TEXT.test(text) ? Number(text) : Number.NaN;
      return Number.isFinite(value) ? value : null;
    }
    default:
      return null;
  }
}

function writeFloat(s: JsonSink, value: number | null): boolean {
  if (value === null) return false;
  if (Number.isNaN(value)) writeAscii(s, '"nan"');
  else if (!Number.isFinite(value)) writeAscii(s, value > 0 ? '"inf"' : '"-inf"');
  else if (Object.is(value, -0)) writeAscii(s, '-0');
  else if (Number.isInteger(value) && Math.abs(value) < 2147483648) writeDigits(s, value);
  // String(value) (the shortest text that reads back as the same double) unless the transcoder's
  // own writer, which gives the same text for short decimals, can do without it.
  else if (!writeShortDecimal(s, value)) writeAscii(s, String(value));
  return true;
}

function decimalOf(src: Uint8Array, type: number, at: number, column: ScalarType): string | null {
  const plain = plainDecimalText(src, type, at);
  if (plain !== null) return fitsPlainly(plain, column) ? plain : null;
  const exact = exactOf(src, type, at);
  return exact === null ? null : decimalColumnText(exact, column.precision, column.scale);
}

/** A double's or Decimal128's text when it is plain (`-12.5`, no exponent); null otherwise. */
function plainDecimalText(src: Uint8Array, type: number, at: number): string | null {
  let text: string;
  if (type === T_DOUBLE) {
    const value = readFloat64(src, at);
    if (!Number.isFinite(value)) return null;
    text = String(value);
  } else if (type === T_DECIMAL128) text = decimal128Text(src, at);
  else return null;
  return PLAIN_DECIMAL.test(text) ? text : null;
}

const PLAIN_DECIMAL = /^-?\d+(\.\d+)?$/;

/**
 * Whether plain decimal text fits Decimal(P,S) without rounding: at most S decimals once trailing
 * zeros go, at most P − S integer digits once leading zeros go. ClickHouse reads the text exactly.
 */
function fitsPlainly(text: string, column: ScalarType): boolean {
  const point = text.indexOf('.');
  const start = text[0] === '-' ? 1 : 0;
  let wholeEnd = point < 0 ? text.length : point;
  let first = start;
  while (first < wholeEnd - 1 && text[first] === '0') first++;
  if (wholeEnd - first > column.precision - column.scale && !(wholeEnd - first === 1 && text[first] === '0'))
    return false;
  if (point < 0) return true;
  let last = text.length;
  while (last > point + 1 && text[last - 1] === '0') last--;
  wholeEnd = last - point - 1;
  return wholeEnd <= column.scale;
}

function boolOf(src: Uint8Array, type: number, at: number): boolean | null {
  if (type === T_BOOLEAN) return src[at] === 1;
  if (type === T_STRING) {
    const text = stringValue(src, at);
    return text === 'true' || text === '1' ? true : text === 'false' || text === '0' ? false : null;
  }
  const exact = exactOf(src, type, at);
  const value = exact === null ? null : integralValue(exact);
  return value === 0n ? false : value === 1n ? true : null;
}

function writeBool(s: JsonSink, value: boolean | null): boolean {
  if (value === null) return false;
  writeAscii(s, value ? 'true' : 'false');
  return true;
}

function timeOf(src: Uint8Array, type: number, at: number): number | null {
  if (type === T_DATE) return dateMs(src, at);
  if (type === T_STRING) return parseDateTimeText(stringValue(src, at));
  return null;
}

function dateOf(src: Uint8Array, type: number, at: number): string | null {
  const ms = timeOf(src, type, at);
  if (ms === null) return null;
  const day = Math.floor(ms / MS_PER_DAY);
  return day >= 0 && day <= DATE_MAX_DAY ? dateText(day) : null;
}

/** Milliseconds since the epoch within DateTime64(3)'s range (years 1900–2299), or null. */
function dateTime64Of(src: Uint8Array, type: number, at: number): number | null {
  const ms = type === T_DATE ? dateMs(src, at) : timeOf(src, type, at);
  return ms !== null && ms >= DATETIME64_MIN_MS && ms <= DATETIME64_MAX_MS ? ms : null;
}

/**
 * `"YYYY-MM-DD hh:mm:ss.fff"` in UTC, written byte by byte (a column of every row: no strings
 * made). The range check above keeps the year at four digits.
 */
function writeDateTime64(s: JsonSink, ms: number | null): boolean {
  if (ms === null) return false;
  const day = Math.floor(ms / MS_PER_DAY);
  const inDay = ms - day * MS_PER_DAY;
  const date = civilDate(day);
  s.ensure(25);
  const buf = s.buf;
  let o = s.pos;
  buf[o++] = 0x22;
  o = digits(buf, o, Math.floor(date / 10000), 4);
  buf[o++] = 0x2d;
  o = digits(buf, o, Math.floor(date / 100) % 100, 2);
  buf[o++] = 0x2d;
  o = digits(buf, o, date % 100, 2);
  buf[o++] = 0x20;
  o = digits(buf, o, Math.floor(inDay / 3_600_000), 2);
  buf[o++] = 0x3a;
  o = digits(buf, o, Math.floor(inDay / 60_000) % 60, 2);
  buf[o++] = 0x3a;
  o = digits(buf, o, Math.floor(inDay / 1000) % 60, 2);
  buf[o++] = 0x2e;
  o = digits(buf, o, inDay % 1000, 3);
  buf[o++] = 0x22;
  s.pos = o;
  return true;
}

/** `value` as exactly `count` decimal digits (zero-padded) at `o`; the offset after them. */
function digits(buf: Buffer, o: number, value: number, count: number): number {
  let rest = value;
  for (let k = count - 1; k >= 0; k--) {
    buf[o + k] = 0x30 + (rest % 10);
    rest = Math.floor(rest / 10);
  }
  return o + count;
}

const UUID_TEXT = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** Binary of subtype 4 (or the legacy 3) holding 16 bytes, in the order stored; or UUID text. */
function uuidOf(src: Uint8Array, type: number, at: number): string | null {
  if (type === T_STRING) {
    const text = stringValue(src, at);
    return UUID_TEXT.test(text) ? text.toLowerCase() : null;
  }
  if (type !== T_BINARY || readInt32(src, at) !== 16) return null;
  const subtype = src[at + 4];
  if (subtype !== 4 && subtype !== 3) return null;
  const hex = Buffer.from(src.buffer, src.byteOffset + at + 5, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Column values stand outside `doc`, never inside a JSON string: the quotes go as they are. */
function writeJsonString(s: JsonSink, text: string | null): boolean {
  if (text === null) return false;
  s.rawByte(0x22);
  writeAscii(s, text);
  s.rawByte(0x22);
  return true;
}

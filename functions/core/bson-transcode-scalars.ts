/**
 * BSON scalars written straight from their bytes as the JSON `doc` / `_id` columns hold them
 * (docs/table-schema.md), with the output of bson-json.ts for the values the `bson` package
 * decodes them to. Little-endian reads, no per-value objects on the common paths.
 */
import { canonicalNumber, dateToIso, doubleToJson } from './bson-json.js';
import { type JsonSink, putQuote, viewOf, writeAscii } from './bson-transcode-sink.js';
import { civilDate } from './civil-date.js';

export function readInt32(src: Uint8Array, p: number): number {
  return (
    (src[p] as number) |
    ((src[p + 1] as number) << 8) |
    ((src[p + 2] as number) << 16) |
    ((src[p + 3] as number) << 24)
  );
}

export function readFloat64(src: Uint8Array, p: number): number {
  return viewOf(src).getFloat64(src.byteOffset + p, true);
}

/** A safe integer as decimal digits. */
export function writeInteger(s: JsonSink, value: number): void {
  s.ensure(24);
  const buf = s.buf;
  let o = s.pos;
  let v = value;
  if (v < 0) {
    buf[o++] = 0x2d;
    v = -v;
  }
  if (v >= 2147483648) {
    s.pos = o;
    writeAscii(s, String(v));
    return;
  }
  let digits = 1;
  for (let t = v; t >= 10; t = (t / 10) | 0) digits++;
  o += digits;
  for (let k = 1; k <= digits; k++) {
    const next = (v / 10) | 0;
    buf[o - k] = 0x30 + v - next * 10;
    v = next;
  }
  s.pos = o;
}

/** A BSON double in `doc`: doubleToJson (integral values keep ".0"). */
export function writeDouble(s: JsonSink, value: number): void {
  if (Number.isInteger(value) && value > -2147483648 && value < 2147483648) {
    if (value === 0 && 1 / value < 0) writeAscii(s, '-0.0');
    else {
      writeInteger(s, value);
      writeAscii(s, '.0');
    }
  } else if (!writeShortDecimal(s, value)) writeAscii(s, doubleToJson(value));
}

const DIGITS = new Uint8Array(16);

/**
 * String(value) for a non-integral double in [1e-6, 1e15) that some decimal of at most 15
 * significant digits rounds to: such decimals map to distinct doubles, so the one with the fewest
 * decimal places is the unique shortest that round-trips, which is what String gives. False
 * (nothing written) for any other value.
 */
export function writeShortDecimal(s: JsonSink, value: number): boolean {
  const magnitude = Math.abs(value);
  if (!(magnitude >= 1e-6 && magnitude < 1e15) || Number.isInteger(magnitude)) return false;
  let scale = 10;
  for (let places = 1; places <= 15; places++, scale *= 10) {
    let n = Math.round(magnitude * scale);
    if (n >= 1e15) return false;
    if (n / scale !== magnitude) continue;
    let count = 0;
    for (; n > 0; count++, n = Math.floor(n / 10)) DIGITS[count] = 0x30 + (n % 10);
    s.ensure(count + places + 3);
    const buf = s.buf;
    let o = s.pos;
    if (value < 0) buf[o++] = 0x2d;
    if (count <= places) {
      buf[o++] = 0x30;
      buf[o++] = 0x2e;
      for (let zero = count; zero < places; zero++) buf[o++] = 0x30;
    }
    for (let k = count - 1; k >= 0; k--) {
      if (k === places - 1 && count > places) buf[o++] = 0x2e;
      buf[o++] = DIGITS[k] as number;
    }
    s.pos = o;
    return true;
  }
  return false;
}

/** A BSON int32 / int64 / double in `_id`: the exact decimal value (bson-json's canonical numbers). */
export function writeCanonicalDouble(s: JsonSink, value: number): void {
  if (Number.isNaN(value)) writeAscii(s, '"NaN"');
  else if (value === Number.POSITIVE_INFINITY) writeAscii(s, '"Infinity"');
  else if (value === Number.NEGATIVE_INFINITY) writeAscii(s, '"-Infinity"');
  else if (Number.isSafeInteger(value)) writeInteger(s, value === 0 ? 0 : value);
  else writeAscii(s, canonicalNumber(Number.isInteger(value) ? BigInt(value).toString() : String(value)));
}

/** A BSON int64 (the driver's Long, rendered as its exact signed value in both columns). */
export function writeLong(s: JsonSink, src: Uint8Array, p: number): void {
  const low = readInt32(src, p);
  const high = readInt32(src, p + 4);
  if (high >= -2097152 && high < 2097152) writeInteger(s, high * 4294967296 + (low >>> 0));
  else writeAscii(s, BigInt.asIntN(64, (BigInt(high >>> 0) << 32n) | BigInt(low >>> 0)).toString());
}

/** `{"T":seconds,"I":increment}` */
export function writeTimestamp(s: JsonSink, src: Uint8Array, p: number): void {
  writeAscii(s, '{"T":');
  writeInteger(s, readInt32(src, p + 4) >>> 0);
  writeAscii(s, ',"I":');
  writeInteger(s, readInt32(src, p) >>> 0);
  writeAscii(s, '}');
}

const HEX_PAIRS: Uint16Array = (() => {
  const digits = '0123456789abcdef';
  const pairs = new Uint16Array(256);
  for (let byte = 0; byte < 256; byte++)
    pairs[byte] = digits.charCodeAt(byte >> 4) | (digits.charCodeAt(byte & 15) << 8);
  return pairs;
})();

/** The 12 bytes at `p` as `"24 lower-case hex digits"` (quoted when `quoted`). */
export function writeObjectId(s: JsonSink, src: Uint8Array, p: number, quoted: boolean): void {
  s.ensure(28);
  const buf = s.buf;
  let o = s.pos;
  if (quoted) o = putQuote(buf, o, s.embedded);
  for (let k = 0; k < 12; k++) {
    const pair = HEX_PAIRS[src[p + k] as number] as number;
    buf[o++] = pair & 0xff;
    buf[o++] = pair >> 8;
  }
  if (quoted) o = putQuote(buf, o, s.embedded);
  s.pos = o;
}

const MS_PER_DAY = 86_400_000;
/** 0000-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z: four-digit years, no sign. */
const FOUR_DIGIT_YEARS_FROM = -62_167_219_200_000;
const FOUR_DIGIT_YEARS_TO = 253_402_300_799_999;

/** A BSON date as dateToIso renders the JS Date the driver makes of it (null when out of range). */
export function writeDate(s: JsonSink, src: Uint8Array, p: number): void {
  const ms = readInt32(src, p + 4) * 4294967296 + (readInt32(src, p) >>> 0);
  if (ms < FOUR_DIGIT_YEARS_FROM || ms > FOUR_DIGIT_YEARS_TO) {
    const iso = dateToIso(new Date(ms));
    writeAscii(s, iso === null ? 'null' : `"${iso}"`);
    return;
  }
  const days = Math.floor(ms / MS_PER_DAY);
  const inDay = ms - days * MS_PER_DAY;
  const date = civilDate(days);
  const year = Math.floor(date / 10000);
  s.ensure(36);
  const buf = s.buf;
  let o = putQuote(buf, s.pos, s.embedded);
  o = twoDigits(buf, twoDigits(buf, o, (year / 100) | 0), year % 100);
  buf[o++] = 0x2d;
  o = twoDigits(buf, o, Math.floor(date / 100) % 100);
  buf[o++] = 0x2d;
  o = twoDigits(buf, o, date % 100);
  s.pos = putQuote(buf, writeTime(buf, o, inDay), s.embedded);
}

function writeTime(buf: Buffer, at: number, inDay: number): number {
  let o = at;
  buf[o++] = 0x54;
  o = twoDigits(buf, o, Math.floor(inDay / 3_600_000));
  buf[o++] = 0x3a;
  o = twoDigits(buf, o, Math.floor(inDay / 60_000) % 60);
  buf[o++] = 0x3a;
  o = twoDigits(buf, o, Math.floor(inDay / 1000) % 60);
  let millis = inDay % 1000;
  if (millis !== 0) {
    buf[o++] = 0x2e;
    let digits = 3;
    while (millis % 10 === 0) {
      millis /= 10;
      digits--;
    }
    for (let k = digits - 1; k >= 0; k--) {
      buf[o + k] = 0x30 + (millis % 10);
      millis = (millis / 10) | 0;
    }
    o += digits;
  }
  buf[o++] = 0x5a;
  return o;
}

function twoDigits(buf: Buffer, o: number, value: number): number {
  buf[o] = 0x30 + ((value / 10) | 0);
  buf[o + 1] = 0x30 + (value % 10);
  return o + 2;
}

const BASE64 = new TextEncoder().encode('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/');

/** `src[a, b)` as padded base64. */
export function writeBase64(s: JsonSink, src: Uint8Array, a: number, b: number): void {
  const n = b - a;
  s.ensure(Math.ceil(n / 3) * 4);
  if (n >= 512) {
    const text = Buffer.from(src.buffer, src.byteOffset + a, n).toString('base64');
    s.pos += s.buf.write(text, s.pos, 'latin1');
    return;
  }
  const buf = s.buf;
  let o = s.pos;
  let i = a;
  for (; i + 2 < b; i += 3) {
    const v = ((src[i] as number) << 16) | ((src[i + 1] as number) << 8) | (src[i + 2] as number);
    buf[o++] = BASE64[v >> 18] as number;
    buf[o++] = BASE64[(v >> 12) & 63] as number;
    buf[o++] = BASE64[(v >> 6) & 63] as number;
    buf[o++] = BASE64[v & 63] as number;
  }
  if (i < b) {
    const v = ((src[i] as number) << 16) | (i + 1 < b ? (src[i + 1] as number) << 8 : 0);
    buf[o++] = BASE64[v >> 18] as number;
    buf[o++] = BASE64[(v >> 12) & 63] as number;
    buf[o++] = i + 1 < b ? (BASE64[(v >> 6) & 63] as number) : 0x3d;
    buf[o++] = 0x3d;
  }
  s.pos = o;
}

/** Decimal128 text exactly as the `bson` package's Decimal128#toString gives it. */
export function decimal128Text(src: Uint8Array, p: number): string {
  const low = readInt32(src, p);
  const midl = readInt32(src, p + 4);
  const midh = readInt32(src, p + 8);
  const high = readInt32(src, p + 12);
  const sign = high < 0 ? '-' : '';
  const combination = (high >> 26) & 0x1f;
  let biasedExponent: number;
  let significandMsb: number;
  if (combination >> 3 === 3) {
    if (combination === 30) return `${sign}Infinity`;
    if (combination === 31) return 'NaN';
    biasedExponent = (high >> 15) & 0x3fff;
    significandMsb = 0x08 + ((high >> 14) & 0x01);
  } else {
    significandMsb = (high >> 14) & 0x07;
    biasedExponent = (high >> 17) & 0x3fff;
  }
  const top = (high & 0x3fff) + ((significandMsb & 0xf) << 14);
  let digits: string;
  if (top === 0 && midh === 0 && midl >>> 0 < 0x200000)
    digits = String((midl >>> 0) * 4294967296 + (low >>> 0));
  else {
    const words = [top, midh >>> 0, midl >>> 0, low >>> 0];
    digits = words.reduce((acc, word) => (acc << 32n) | BigInt(word), 0n).toString();
  }
  return sign + decimalLayout(digits, biasedExponent - 6176);
}

/** The layout rules of Decimal128#toString for a coefficient's digits and its exponent. */
function decimalLayout(digits: string, exponent: number): string {
  const count = digits.length;
  const scientificExponent = count - 1 + exponent;
  if (scientificExponent >= 34 || scientificExponent <= -7 || exponent > 0) {
    if (count > 34) return exponent > 0 ? `0E+${exponent}` : exponent < 0 ? `0E${exponent}` : '0';
    const mantissa = count > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${mantissa}E${scientificExponent > 0 ? '+' : ''}${scientificExponent}`;
  }
  if (exponent >= 0) return digits;
  const radix = count + exponent;
  if (radix > 0) return `${digits.slice(0, radix)}.${digits.slice(radix)}`;
  return `0.${'0'.repeat(-radix)}${digits}`;
}

/** A Decimal128: its text quoted in `doc`; in `_id` the canonical value (quoted when NaN/Infinity). */
export function writeDecimal128(s: JsonSink, src: Uint8Array, p: number, canonical: boolean): void {
  const text = decimal128Text(src, p);
  if (!canonical) writeAscii(s, `"${text}"`);
  else {
    const value = canonicalNumber(text);
    writeAscii(s, /^-?[I]|^N/.test(value) ? `"${value}"` : value);
  }
}

/**
 * The growable byte buffer the BSON → JSON transcoder writes into, and the byte-level string
 * writers it shares. Everything written is UTF-8; JSON text never holds a lone surrogate here
 * (JSON.stringify escapes those, and valid UTF-8 cannot encode one).
 */

/** Where JSON bytes go: `buf[0, pos)` is what was written. Reuse one across documents. */
export class JsonSink {
  buf: Buffer;
  pos = 0;
  /**
   * When true, what is written lands inside a JSON string (a String `doc` column): every `"` and
   * `\` the writers emit is escaped once more, which is JSON.stringify of the JSON text.
   */
  embedded = false;

  constructor(capacity = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(Math.max(capacity, 64));
  }

  /** Makes room for `extra` more bytes (the buffer may be replaced: re-read `buf` after). */
  ensure(extra: number): void {
    if (this.pos + extra > this.buf.length) this.grow(extra);
  }

  private grow(extra: number): void {
    let size = this.buf.length * 2;
    while (size < this.pos + extra) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  reset(): void {
    this.pos = 0;
    this.embedded = false;
  }

  /** One byte as it is, whatever `embedded` says. */
  rawByte(byte: number): void {
    this.ensure(1);
    this.buf[this.pos++] = byte;
  }

  /** The bytes written so far (a view, valid until the next write). */
  bytes(start = 0, end = this.pos): Uint8Array {
    return this.buf.subarray(start, end);
  }

  text(start = 0, end = this.pos): string {
    return this.buf.toString('utf8', start, end);
  }
}

/** Byte classes inside a JSON string: 0 copied as is, 1 escaped, 2 starts a multi-byte sequence. */
export const BYTE_CLASS: Uint8Array = (() => {
  const table = new Uint8Array(256);
  for (let byte = 0; byte < 0x20; byte++) table[byte] = 1;
  table[0x22] = 1;
  table[0x5c] = 1;
  for (let byte = 0x80; byte < 0x100; byte++) table[byte] = 2;
  return table;
})();

const HEX_DIGITS = '0123456789abcdef';

/**
 * Writes the JSON.stringify escape of one ASCII byte at `o` (escaped once more when `embedded`);
 * returns the new position. At most 7 bytes.
 */
export function writeEscape(buf: Buffer, at: number, byte: number, embedded: boolean): number {
  let o = at;
  buf[o++] = 0x5c;
  if (embedded) buf[o++] = 0x5c;
  switch (byte) {
    case 0x22:
    case 0x5c:
      if (embedded) buf[o++] = 0x5c;
      buf[o++] = byte;
      return o;
    case 0x08:
      buf[o++] = 0x62;
      return o;
    case 0x09:
      buf[o++] = 0x74;
      return o;
    case 0x0a:
      buf[o++] = 0x6e;
      return o;
    case 0x0c:
      buf[o++] = 0x66;
      return o;
    case 0x0d:
      buf[o++] = 0x72;
      return o;
    default:
      buf[o++] = 0x75;
      buf[o++] = 0x30;
      buf[o++] = 0x30;
      buf[o++] = HEX_DIGITS.charCodeAt(byte >> 4);
      buf[o++] = HEX_DIGITS.charCodeAt(byte & 15);
      return o;
  }
}

/** Writes a `"` at `o` (`\"` when embedded); returns the new position. */
export function putQuote(buf: Buffer, at: number, embedded: boolean): number {
  let o = at;
  if (embedded) buf[o++] = 0x5c;
  buf[o++] = 0x22;
  return o;
}

/**
 * Length of the well-formed UTF-8 sequence starting at `i` (a byte ≥ 0x80), or 0 when it is not
 * one (Unicode table 3-7: no overlongs, no surrogates, nothing past U+10FFFF).
 */
export function utf8SequenceLength(src: Uint8Array, i: number, end: number): number {
  const lead = src[i] as number;
  if (lead >= 0xc2 && lead <= 0xdf) return i + 1 < end && isContinuation(src[i + 1]) ? 2 : 0;
  if (lead >= 0xe0 && lead <= 0xef) {
    if (i + 2 >= end) return 0;
    const second = src[i + 1] as number;
    const low = lead === 0xe0 ? 0xa0 : 0x80;
    const high = lead === 0xed ? 0x9f : 0xbf;
    return second >= low && second <= high && isContinuation(src[i + 2]) ? 3 : 0;
  }
  if (lead >= 0xf0 && lead <= 0xf4) {
    if (i + 3 >= end) return 0;
    const second = src[i + 1] as number;
    const low = lead === 0xf0 ? 0x90 : 0x80;
    const high = lead === 0xf4 ? 0x8f : 0xbf;
    return second >= low && second <= high && isContinuation(src[i + 2]) && isContinuation(src[i + 3])
      ? 4
      : 0;
  }
  return 0;
}

function isContinuation(byte: number | undefined): boolean {
  return byte !== undefined && (byte & 0xc0) === 0x80;
}

let viewedBuffer: ArrayBufferLike | null = null;
let view: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));

/** A DataView over the whole ArrayBuffer of `src` (documents of one driver reply share one). */
export function viewOf(src: Uint8Array): DataView {
  if (src.buffer !== viewedBuffer) {
    viewedBuffer = src.buffer;
    view = new DataView(src.buffer);
  }
  return view;
}

/** Whether the 4 bytes of `word` are all printable ASCII other than `"` and `\` (SWAR). */
function isPlainWord(word: number): boolean {
  const outside = (word - 0x20202020) | word;
  const quote = word ^ 0x22222222;
  const backslash = word ^ 0x5c5c5c5c;
  const zeroByte = ((quote - 0x01010101) & ~quote) | ((backslash - 0x01010101) & ~backslash);
  return ((outside | zeroByte) & 0x80808080) === 0;
}

/** End of the run of bytes from `i` that JSON copies as they are (printable ASCII but `"` and `\`). */
function plainRunEnd(src: Uint8Array, i: number, b: number): number {
  let j = i;
  if (b - i >= 16) {
    const words = viewOf(src);
    const base = src.byteOffset;
    while (j + 4 <= b && isPlainWord(words.getUint32(base + j, true))) j += 4;
  }
  for (; j < b; j++) {
    const byte = src[j] as number;
    if (byte < 0x20 || byte >= 0x80 || byte === 0x22 || byte === 0x5c) break;
  }
  return j;
}

/**
 * Writes `src[a, b)` as a quoted JSON string, escaped exactly as JSON.stringify escapes the
 * decoded text. Returns false (leaving `pos` where it was) when the bytes are not valid UTF-8.
 */
export function writeJsonStringBytes(s: JsonSink, src: Uint8Array, a: number, b: number): boolean {
  const start = s.pos;
  const embedded = s.embedded;
  s.ensure(b - a + 4);
  let buf = s.buf;
  let o = putQuote(buf, start, embedded);
  for (let i = a; i < b; ) {
    const run = plainRunEnd(src, i, b);
    if (run - i >= 48) {
      buf.set(src.subarray(i, run), o);
      o += run - i;
    } else for (let k = i; k < run; k++) buf[o++] = src[k] as number;
    i = run;
    if (i === b) break;
    const byte = src[i] as number;
    if (byte < 0x80) {
      s.pos = o;
      s.ensure(b - i + 10);
      buf = s.buf;
      o = writeEscape(buf, o, byte, embedded);
      i++;
      continue;
    }
    const length = utf8SequenceLength(src, i, b);
    if (length === 0) {
      s.pos = start;
      return false;
    }
    for (const last = i + length; i < last; i++) buf[o++] = src[i] as number;
  }
  s.pos = putQuote(buf, o, embedded);
  return true;
}

/** Writes text known to be ASCII (numbers, hex, base64, fixed JSON). */
export function writeAscii(s: JsonSink, text: string): void {
  const length = text.length;
  s.ensure(length * 2);
  const buf = s.buf;
  let o = s.pos;
  if (s.embedded) {
    for (let k = 0; k < length; k++) {
      const code = text.charCodeAt(k);
      if (code === 0x22 || code === 0x5c) buf[o++] = 0x5c;
      buf[o++] = code;
    }
  } else for (let k = 0; k < length; k++) buf[o++] = text.charCodeAt(k);
  s.pos = o;
}

/** Writes JSON text (made by JSON.stringify, so well-formed) as UTF-8. */
export function writeText(s: JsonSink, json: string): void {
  const text = s.embedded ? JSON.stringify(json).slice(1, -1) : json;
  s.ensure(text.length < 65536 ? text.length * 3 : Buffer.byteLength(text));
  s.pos += s.buf.write(text, s.pos, 'utf8');
}

/** Writes JSON.stringify(text). */
export function writeQuoted(s: JsonSink, text: string): void {
  writeText(s, JSON.stringify(text));
}

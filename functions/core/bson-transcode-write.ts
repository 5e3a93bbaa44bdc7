/**
 * The BSON → JSON writer: documents, arrays and values straight from the bytes into a JsonSink,
 * byte for byte what `documentToJson` / `valueToJson` give for what `BSON.deserialize` (with the
 * adapter's options) makes of the same bytes. A document with a quirk (repeated key,
 * integer-like key, key that is not UTF-8, DBRef shape) is rewritten by the exact, slower
 * path of bson-transcode-entries.ts.
 */
import { MAX_NESTING_DEPTH } from './bson-json.js';
import { regexOptionsFromJsFlags } from './bson-kind.js';
import {
  BsonFormatError,
  cstringEnd,
  decodeLenient,
  isValidUtf8,
  T_ARRAY,
  T_BINARY,
  T_BOOLEAN,
  T_CODE,
  T_CODE_W_SCOPE,
  T_DATE,
  T_DB_POINTER,
  T_DECIMAL128,
  T_DOCUMENT,
  T_DOUBLE,
  T_INT32,
  T_INT64,
  T_MAX_KEY,
  T_MIN_KEY,
  T_NULL,
  T_OBJECT_ID,
  T_REGEX,
  T_STRING,
  T_SYMBOL,
  T_TIMESTAMP,
  T_UNDEFINED,
  valueEnd,
} from './bson-transcode-check.js';
import { dbPointerNamespace, orderedEntries } from './bson-transcode-entries.js';
import {
  readFloat64,
  readInt32,
  writeBase64,
  writeCanonicalDouble,
  writeDate,
  writeDecimal128,
  writeDouble,
  writeInteger,
  writeLong,
  writeObjectId,
  writeTimestamp,
} from './bson-transcode-scalars.js';
import {
  BYTE_CLASS,
  type JsonSink,
  putQuote,
  writeAscii,
  writeJsonStringBytes,
  writeQuoted,
  writeText,
} from './bson-transcode-sink.js';
import { regexAt } from './bson-transcode-validate.js';
import { matchKey, type ShapeNode } from './table-shape-trie.js';

/** `doc` rendering, or `_id` rendering (canonical numbers, distinct MinKey/MaxKey). */
export type Style = 0 | 1;
export const DOC_STYLE = 0;
export const ID_STYLE = 1;

/** A value sits deeper than MAX_NESTING_DEPTH; the caller names the path (depthErrorPath). */
export class NestingTooDeep extends Error {}

/**
 * Where the `_id` of the last root document written in `doc` style is: the offset of its element,
 * -1 when it has none or decodes to a DBRef (which has no `_id`). Saves a separate scan.
 */
export const rootId = { element: -1 };

/**
 * A table shape being applied (table-shape.ts): `pending` is the trie node the next document or
 * array written takes (set by its parent's key match, taken at once), and each column's value
 * is recorded in `types` / `at` by its slot. With no shape nothing is ever pending, and a
 * document costs one property read more.
 */
export const shaping: { pending: ShapeNode | null; types: Uint8Array; at: Int32Array } = {
  pending: null,
  types: new Uint8Array(0),
  at: new Int32Array(0),
};

/** Hashes of the keys of the documents being written (a stack: a document pops its own). */
let keyHashes = new Int32Array(1024);
let keyTop = 0;
let scanHash = 0;
let scanClass = 0;

/** Forget the key stack (after a write was abandoned by an error). */
export function resetWriter(): void {
  keyTop = 0;
  shaping.pending = null;
}

/** Writes the value of type `type` at `p` (its container ends at `end`); returns the offset after it. */
export function writeValue(
  s: JsonSink,
  src: Uint8Array,
  type: number,
  p: number,
  end: number,
  depth: number,
  style: Style,
): number {
  switch (type) {
    case T_STRING:
      return writeString(s, src, p, end);
    case T_INT32:
      writeInteger(s, readInt32(src, p));
      return p + 4;
    case T_DOUBLE:
      if (style === DOC_STYLE) writeDouble(s, readFloat64(src, p));
      else writeCanonicalDouble(s, readFloat64(src, p));
      return p + 8;
    case T_DOCUMENT:
      return writeDocument(s, src, p, depth, style, true);
    case T_ARRAY:
      return writeArray(s, src, p, depth, style);
    case T_OBJECT_ID:
      writeObjectId(s, src, p, true);
      return p + 12;
    case T_DATE:
      writeDate(s, src, p);
      return p + 8;
    case T_INT64:
      writeLong(s, src, p);
      return p + 8;
    case T_NULL:
      writeAscii(s, 'null');
      return p;
    default:
      return writeOtherValue(s, src, type, p, end, depth, style);
  }
}

function writeOtherValue(
  s: JsonSink,
  src: Uint8Array,
  type: number,
  p: number,
  end: number,
  depth: number,
  style: Style,
): number {
  switch (type) {
    case T_BOOLEAN:
      if (src[p] !== 0 && src[p] !== 1) throw new BsonFormatError('illegal boolean type value');
      writeAscii(s, src[p] === 1 ? 'true' : 'false');
      return p + 1;
    case T_DECIMAL128:
      writeDecimal128(s, src, p, style === ID_STYLE);
      return p + 16;
    case T_TIMESTAMP:
      writeTimestamp(s, src, p);
      return p + 8;
    case T_BINARY:
      return writeBinary(s, src, p, end);
    case T_UNDEFINED:
    case T_MIN_KEY:
    case T_MAX_KEY:
      writeAscii(
        s,
        style === DOC_STYLE || type === T_UNDEFINED
          ? '{}'
          : type === T_MIN_KEY
            ? '{"$minKey":1}'
            : '{"$maxKey":1}',
      );
      return p;
    case T_CODE:
    case T_SYMBOL:
      return writeString(s, src, p, end);
    case T_CODE_W_SCOPE:
      return writeCodeWithScope(s, src, p, end, depth, style);
    case T_REGEX:
      return writeRegex(s, src, p);
    case T_DB_POINTER:
      return writeDbPointer(s, src, p, end, depth);
    default:
      throw new BsonFormatError(`Detected unknown BSON type ${type.toString(16)}`);
  }
}

/** A length-prefixed UTF-8 string (string, code, symbol) as a JSON string. */
export function writeString(s: JsonSink, src: Uint8Array, p: number, end: number): number {
  const length = readInt32(src, p);
  const start = p + 4;
  if (length <= 0 || start + length > end || src[start + length - 1] !== 0)
    throw new BsonFormatError('bad string length in bson');
  if (!writeJsonStringBytes(s, src, start, start + length - 1))
    throw new BsonFormatError('Invalid UTF-8 string in BSON document');
  return start + length;
}

function writeBinary(s: JsonSink, src: Uint8Array, p: number, end: number): number {
  let size = readInt32(src, p);
  const subtype = src[p + 4] as number;
  let data = p + 5;
  if (size < 0 || data + size > end) throw new BsonFormatError('Binary type size larger than document size');
  if (subtype === 2) {
    const inner = readInt32(src, data);
    if (inner !== size - 4) throw new BsonFormatError('Binary type with subtype 0x02 has a wrong inner size');
    data += 4;
    size = inner;
  }
  writeAscii(s, '{"Subtype":');
  writeInteger(s, subtype);
  writeAscii(s, ',"Data":"');
  writeBase64(s, src, data, data + size);
  writeAscii(s, '"}');
  return data + size;
}

function writeCodeWithScope(
  s: JsonSink,
  src: Uint8Array,
  p: number,
  end: number,
  depth: number,
  style: Style,
): number {
  const total = readInt32(src, p);
  if (total < 14 || p + total > end) throw new BsonFormatError('bad code_w_scope size');
  if (depth + 1 > MAX_NESTING_DEPTH) throw new NestingTooDeep();
  writeAscii(s, '{"Code":');
  const scope = writeString(s, src, p + 4, p + total);
  writeAscii(s, ',"Scope":');
  if (writeDocument(s, src, scope, depth + 1, style, false) !== p + total)
    throw new BsonFormatError('bad scope document size in code_w_scope');
  writeAscii(s, '}');
  return p + total;
}

function writeRegex(s: JsonSink, src: Uint8Array, p: number): number {
  const { regex, next } = regexAt(src, p);
  writeText(
    s,
    `{"Pattern":${JSON.stringify(regex.source)},"Options":${JSON.stringify(regexOptionsFromJsFlags(regex.flags))}}`,
  );
  return next;
}

/** A DBPointer, which the deserializer turns into DBRef(namespace, oid). */
function writeDbPointer(s: JsonSink, src: Uint8Array, p: number, end: number, depth: number): number {
  const length = readInt32(src, p);
  const start = p + 4;
  if (length <= 0 || start + length + 12 > end || src[start + length - 1] !== 0)
    throw new BsonFormatError('bad string length in bson');
  if (!isValidUtf8(src, start, start + length - 1))
    throw new BsonFormatError('Invalid UTF-8 string in BSON document');
  if (depth + 1 > MAX_NESTING_DEPTH) throw new NestingTooDeep();
  const [collection, db] = dbPointerNamespace(decodeLenient(src, start, start + length - 1));
  writeAscii(s, '{"$ref":');
  writeQuoted(s, collection);
  writeAscii(s, ',"$id":');
  writeObjectId(s, src, start + length, true);
  if (db) {
    writeAscii(s, ',"$db":');
    writeQuoted(s, db);
  }
  writeAscii(s, '}');
  return start + length + 12;
}

function writeArray(s: JsonSink, src: Uint8Array, at: number, depth: number, style: Style): number {
  const size = readInt32(src, at);
  const end = at + size - 1;
  if (size < 5 || end >= src.length || src[end] !== 0)
    throw new BsonFormatError('bad embedded array length in bson');
  let p = at + 4;
  if (p < end && depth + 1 > MAX_NESTING_DEPTH) throw new NestingTooDeep();
  const node = shaping.pending;
  shaping.pending = null;
  s.ensure(1);
  s.buf[s.pos++] = 0x5b;
  const open = s.pos;
  for (let index = 0; p < end; index++) {
    const type = src[p] as number;
    const keyEnd = cstringEnd(src, p + 1, end);
    if (keyEnd < 0) throw new BsonFormatError('Bad BSON Document: illegal CString');
    if (node !== null) {
      const skipTo = visit(node.byIndex.get(index) ?? node.everyElement, src, type, keyEnd + 1, end);
      if (skipTo >= 0) {
        p = skipTo;
        continue;
      }
    }
    if (s.pos !== open) {
      s.ensure(1);
      s.buf[s.pos++] = 0x2c;
    }
    p = writeValue(s, src, type, keyEnd + 1, end, depth + 1, style);
    shaping.pending = null;
  }
  if (p !== end) throw new BsonFormatError('corrupted array bson');
  s.ensure(1);
  s.buf[s.pos++] = 0x5d;
  return at + size;
}

/**
 * Writes the document at `at` (at nesting `depth`); returns the offset after it. The fast path
 * copies keys as they are and checks, as it goes, that the object the deserializer would build
 * has the same keys in the same order; when not, it starts the document over on the exact path.
 */
export function writeDocument(
  s: JsonSink,
  src: Uint8Array,
  at: number,
  depth: number,
  style: Style,
  dbRefAllowed: boolean,
): number {
  const size = readInt32(src, at);
  const end = at + size - 1;
  if (size < 5 || end >= src.length || src[end] !== 0)
    throw new BsonFormatError('bad embedded document length in bson');
  let p = at + 4;
  if (p < end && depth + 1 > MAX_NESTING_DEPTH) throw new NestingTooDeep();
  const node = shaping.pending;
  if (node !== null) shaping.pending = null;
  const outStart = s.pos;
  const base = keyTop;
  let dollar = 0;
  let quirk = false;
  let idElement = -1;
  s.ensure(1);
  s.buf[s.pos++] = 0x7b;
  while (p < end) {
    const keyEnd = scanKey(src, p + 1, end);
    if (keyEnd === p + 4 && src[p + 1] === 0x5f && src[p + 2] === 0x69 && src[p + 3] === 0x64) idElement = p;
    const first = src[p + 1] as number;
    if (
      (first <= 0x39 && first >= 0x30 && isIndexKey(src, p + 1, keyEnd)) ||
      ((scanClass & 2) !== 0 && !isValidUtf8(src, p + 1, keyEnd))
    ) {
      quirk = true;
      break;
    }
    if (first === 0x24) dollar |= isDbRefKey(src, p + 1, keyEnd) ? 1 : 2;
    pushKeyHash(scanHash);
    if (node !== null) {
      const child = matchKey(node, src, p + 1, keyEnd, scanHash);
      const skipTo = child === null ? -1 : visit(child, src, src[p] as number, keyEnd + 1, end);
      if (skipTo >= 0) {
        p = skipTo;
        continue;
      }
    }
    writeKey(s, src, p + 1, keyEnd, s.pos !== outStart + 1);
    p = writeValue(s, src, src[p] as number, keyEnd + 1, end, depth + 1, style);
    if (node !== null) shaping.pending = null;
  }
  if (!quirk) {
    if (p !== end) throw new BsonFormatError('Bad BSON Document: object not properly terminated');
    quirk = (dbRefAllowed && dollar === 1) || hasRepeatedHash(base, keyTop);
  }
  keyTop = base;
  if (quirk) {
    s.pos = outStart;
    return writeDocumentExactly(s, src, at, depth, style, dbRefAllowed, node);
  }
  if (depth === 0 && style === DOC_STYLE) rootId.element = idElement;
  s.ensure(1);
  s.buf[s.pos++] = 0x7d;
  return at + size;
}

/** The slow path: fields in the order (and with the values) of the object the deserializer builds. */
function writeDocumentExactly(
  s: JsonSink,
  src: Uint8Array,
  at: number,
  depth: number,
  style: Style,
  dbRefAllowed: boolean,
  node: ShapeNode | null,
): number {
  const end = at + readInt32(src, at) - 1;
  const entries = orderedEntries(src, at, dbRefAllowed);
  if (depth === 0 && style === DOC_STYLE) {
    const isDbRef = entries.some((entry) => entry.literal !== undefined);
    rootId.element = isDbRef ? -1 : (entries.find((entry) => entry.key === '_id')?.element ?? -1);
  }
  if (node !== null) forgetBelow(node);
  writeAscii(s, '{');
  let written = 0;
  for (const entry of entries) {
    const child = node === null || entry.literal !== undefined ? undefined : node.byKey.get(entry.key);
    if (child !== undefined && visit(child, src, entry.type, entry.at, end) >= 0) continue;
    writeText(s, `${written++ === 0 ? '' : ','}${JSON.stringify(entry.key)}:`);
    if (entry.literal !== undefined) writeQuoted(s, entry.literal);
    else writeValue(s, src, entry.type, entry.at, end, depth + 1, style);
    shaping.pending = null;
  }
  writeAscii(s, '}');
  return end + 1;
}

/**
 * A key (or array element) the shape names, with its value of `type` at `at`: records the value
 * for the columns of that path, and makes `child` the node the value's own document or array
 * takes. Returns the offset after the value when it is excluded (not to be written), else -1.
 */
function visit(child: ShapeNode | null, src: Uint8Array, type: number, at: number, end: number): number {
  if (child === null) return -1;
  if (child.excluded) {
    const next = valueEnd(src, type, at, end);
    if (next < at || next > end) throw new BsonFormatError('corrupt object bson');
    return next;
  }
  const slots = child.slots;
  for (let k = 0; k < slots.length; k++) {
    const slot = slots[k] as number;
    shaping.types[slot] = type;
    shaping.at[slot] = at;
  }
  if (child.descends && (type === T_DOCUMENT || type === T_ARRAY)) shaping.pending = child;
  return -1;
}

/** Forgets what the fast path recorded below `node` before the exact path writes its document again. */
function forgetBelow(node: ShapeNode): void {
  for (const child of node.byKey.values()) for (const slot of child.subtreeSlots) shaping.types[slot] = 0;
}

/** Finds the end of the key at `p`, leaving its hash in scanHash and its byte classes in scanClass. */
function scanKey(src: Uint8Array, p: number, end: number): number {
  let hash = 0x811c9dc5 | 0;
  let classes = 0;
  let q = p;
  for (; q < end; q++) {
    const byte = src[q] as number;
    if (byte === 0) break;
    hash = Math.imul(hash ^ byte, 0x01000193);
    classes |= BYTE_CLASS[byte] as number;
  }
  if (q >= end) throw new BsonFormatError('Bad BSON Document: illegal CString');
  scanHash = hash;
  scanClass = classes;
  return q;
}

function writeKey(s: JsonSink, src: Uint8Array, a: number, b: number, comma: boolean): void {
  if (comma) {
    s.ensure(1);
    s.buf[s.pos++] = 0x2c;
  }
  if (scanClass === 0) {
    s.ensure(b - a + 5);
    const buf = s.buf;
    let o = putQuote(buf, s.pos, s.embedded);
    for (let i = a; i < b; i++) buf[o++] = src[i] as number;
    o = putQuote(buf, o, s.embedded);
    buf[o++] = 0x3a;
    s.pos = o;
    return;
  }
  writeJsonStringBytes(s, src, a, b);
  s.ensure(1);
  s.buf[s.pos++] = 0x3a;
}

/** A canonical array index ("0", or no leading zero and at most 4294967294): JS orders those first. */
function isIndexKey(src: Uint8Array, a: number, b: number): boolean {
  if (b === a) return false;
  if (src[a] === 0x30) return b - a === 1;
  if (b - a > 10) return false;
  let value = 0;
  for (let i = a; i < b; i++) {
    const digit = (src[i] as number) - 0x30;
    if (digit < 0 || digit > 9) return false;
    value = value * 10 + digit;
  }
  return value <= 4294967294;
}

/** `$ref`, `$id` or `$db`. */
function isDbRefKey(src: Uint8Array, a: number, b: number): boolean {
  const length = b - a;
  const c1 = src[a + 1];
  const c2 = src[a + 2];
  if (length === 3) return (c1 === 0x69 && c2 === 0x64) || (c1 === 0x64 && c2 === 0x62);
  return length === 4 && c1 === 0x72 && c2 === 0x65 && src[a + 3] === 0x66;
}

function pushKeyHash(hash: number): void {
  if (keyTop === keyHashes.length) {
    const next = new Int32Array(keyHashes.length * 2);
    next.set(keyHashes);
    keyHashes = next;
  }
  keyHashes[keyTop++] = hash;
}

/** Whether two keys of the document (hashes at [base, top)) may be the same; false positives are fine. */
function hasRepeatedHash(base: number, top: number): boolean {
  if (top - base <= 16) {
    for (let i = base + 1; i < top; i++) {
      const hash = keyHashes[i];
      for (let j = base; j < i; j++) if (keyHashes[j] === hash) return true;
    }
    return false;
  }
  const sorted = keyHashes.slice(base, top).sort();
  for (let i = 1; i < sorted.length; i++) if (sorted[i] === sorted[i - 1]) return true;
  return false;
}

/**
 * Raw BSON → destination row, without decoding to JS objects: the `_id` text, the `doc` JSON and
 * the whole JSONEachRow line, byte for byte what `renderDocumentId`, `documentToJson` and
 * `toJsonEachRowLine(snapshotRow(…))` give for `BSON.deserialize(bytes, DESERIALIZE_OPTIONS)`,
 * errors included (docs/performance.md, "BSON transcoder"). Every function takes the bytes and
 * the offset of a document in them, so an embedded document (a change event's `fullDocument`)
 * is transcoded in place.
 */
import { MAX_NESTING_DEPTH } from './bson-json.js';
import {
  BsonFormatError,
  cstringEnd,
  elementValue,
  T_ARRAY,
  T_DOCUMENT,
  T_OBJECT_ID,
  T_REGEX,
  T_STRING,
  T_SYMBOL,
  T_UNDEFINED,
  valueEnd,
} from './bson-transcode-check.js';
import { depthErrorPath, orderedEntries, stringValue } from './bson-transcode-entries.js';
import { readInt32, writeObjectId } from './bson-transcode-scalars.js';
import { JsonSink, writeAscii } from './bson-transcode-sink.js';
import { checkBson } from './bson-transcode-validate.js';
import {
  DOC_STYLE,
  ID_STYLE,
  NestingTooDeep,
  resetWriter,
  rootId,
  shaping,
  writeDocument,
  writeString,
  writeValue,
} from './bson-transcode-write.js';
import { UnsupportedValueError } from './errors.js';
import {
  BSON_TYPE_NAMES,
  ColumnMismatch,
  type ShapeRun,
  TypeMismatchError,
  writeColumns,
} from './table-shape.js';
import { SNAPSHOT_VERSION } from './version.js';

export { BsonFormatError, elementValue, findElement } from './bson-transcode-check.js';
export { JsonSink } from './bson-transcode-sink.js';

/** One destination row to write as a JSONEachRow line, its values given as places in `src`. */
export interface RowLine {
  /** Offset of the element (type byte) whose value is the row's `_id`; -1 when there is none. */
  idElement: number;
  /** Offset of the document that is `doc`; -1 for `{}` (a tombstone without pre-image). */
  docAt: number;
  version: bigint;
  isDeleted: 0 | 1;
  useJsonNativeFormat: boolean;
  /**
   * The document today's path decodes as a whole (a snapshot document; a change event): on a
   * failure it is checked first, so the error is the one the decoder would have raised.
   */
  decodedAt: number;
  /**
   * The table's shape (table-shape.ts), when it has typed columns or excluded fields: the
   * columns are filled from the document at `docAt` (defaults for a tombstone without one) and
   * the excluded fields left out of `doc`. Without it the line is exactly the plain one.
   */
  shape?: ShapeRun;
}

/**
 * Appends the JSONEachRow line of `toJsonEachRowLine` (no newline) for a row whose `_id` and
 * `doc` are in `src`. On error nothing is appended.
 */
export function appendRowLine(sink: JsonSink, src: Uint8Array, line: RowLine): void {
  const start = sink.pos;
  let writingId = true;
  try {
    writeAscii(sink, '{"_id":');
    writeIdJsonString(sink, src, line.idElement);
    writingId = false;
    writeAscii(sink, ',"doc":');
    if (line.shape === undefined) writeDocColumn(sink, src, line.docAt, line.useJsonNativeFormat);
    else writeShapedDoc(sink, src, line.docAt, line.useJsonNativeFormat, line.shape);
    writeAscii(sink, lineEnd(line.version, line.isDeleted));
  } catch (error) {
    sink.pos = start;
    sink.embedded = false;
    if (error instanceof ColumnMismatch) throw mismatchError(error, src, line.idElement, line.decodedAt);
    if (writingId)
      throw explain(error, src, line.decodedAt, idType(src, line.idElement), idAt(src, line.idElement));
    throw explain(error, src, line.decodedAt, T_DOCUMENT, line.docAt);
  }
}

let endVersion = -1n;
let endDeleted = -1;
let endText = '';

/** The line's last two columns (the text of the last version written is kept: batches share one). */
function lineEnd(version: bigint, isDeleted: 0 | 1): string {
  if (version !== endVersion || isDeleted !== endDeleted) {
    endVersion = version;
    endDeleted = isDeleted;
    endText = `,"_peerdb_version":${version},"_peerdb_is_deleted":${isDeleted}}`;
  }
  return endText;
}

/**
 * The line `toJsonEachRowLine(snapshotRow(table, BSON.deserialize(…)), …)` gives, appended. `doc`
 * is written first (the root document's writer notes where `_id` is), then `_id`, which is then
 * moved in front of it.
 */
export function appendSnapshotLine(
  sink: JsonSink,
  src: Uint8Array,
  useJsonNativeFormat: boolean,
  at = 0,
  shape?: ShapeRun,
): void {
  const start = sink.pos;
  try {
    writeAscii(sink, '{"_id":');
    const docStart = sink.pos;
    writeAscii(sink, ',"doc":');
    rootId.element = -1;
    if (shape === undefined) writeDocColumn(sink, src, at, useJsonNativeFormat);
    else writeShapedDoc(sink, src, at, useJsonNativeFormat, shape);
    const docEnd = sink.pos;
    writeIdJsonString(sink, src, rootId.element);
    moveToFront(sink, docStart, docEnd);
    writeAscii(sink, lineEnd(SNAPSHOT_VERSION, 0));
  } catch (error) {
    sink.pos = start;
    sink.embedded = false;
    if (error instanceof ColumnMismatch) throw mismatchError(error, src, rootId.element, at);
    throw snapshotError(error, src, at);
  }
}

/**
 * `doc` with the shape's excluded fields left out, then the shape's columns, from what the
 * document's write found at their paths (nothing for a tombstone without a document).
 */
function writeShapedDoc(
  sink: JsonSink,
  src: Uint8Array,
  docAt: number,
  native: boolean,
  shape: ShapeRun,
): void {
  shaping.types = shape.types;
  shaping.at = shape.at;
  shape.types.fill(0);
  shaping.pending = docAt < 0 ? null : shape.shape.root;
  try {
    writeDocColumn(sink, src, docAt, native);
  } finally {
    shaping.pending = null;
  }
  // A String column of a document writes it as a root: keep where the row's own _id is.
  const idElement = rootId.element;
  writeColumns(sink, src, shape);
  rootId.element = idElement;
}

/** The mismatch of `onTypeMismatch: 'fail'`, naming the document by its `_id` text. */
function mismatchError(
  mismatch: ColumnMismatch,
  src: Uint8Array,
  idElement: number,
  decodedAt: number,
): TypeMismatchError {
  resetWriter();
  let id = '(no _id)';
  try {
    const sink = new JsonSink(64);
    appendIdText(sink, src, idElement, decodedAt);
    id = sink.text();
  } catch {
    // The _id itself cannot be rendered: the message says so instead.
  }
  const { column } = mismatch;
  return new TypeMismatchError(
    id,
    column.path,
    BSON_TYPE_NAMES[mismatch.bsonType] ?? `type 0x${mismatch.bsonType.toString(16)}`,
    column.name,
    column.typeText,
  );
}

let scratch = Buffer.allocUnsafe(256);

/** Swaps `buf[from, middle)` and `buf[middle, pos)`. */
function moveToFront(sink: JsonSink, from: number, middle: number): void {
  const length = sink.pos - middle;
  if (scratch.length < length) scratch = Buffer.allocUnsafe(length);
  sink.buf.copy(scratch, 0, middle, sink.pos);
  sink.buf.copyWithin(from + length, from, middle);
  scratch.copy(sink.buf, from, 0, length);
}

/** What today's path raises for the snapshot row: a decode error, else `_id`'s, else `doc`'s. */
function snapshotError(error: unknown, src: Uint8Array, at: number): unknown {
  resetWriter();
  checkBson(src, at);
  const idElement = snapshotIdElement(src, at);
  try {
    writeIdJsonString(new JsonSink(64), src, idElement);
  } catch (idError) {
    return explain(idError, src, at, idType(src, idElement), idAt(src, idElement));
  }
  return explain(error, src, at, T_DOCUMENT, at);
}

/** Appends `documentToJson` of the document at `at` (`decodedAt`: see RowLine). */
export function appendDocumentJson(sink: JsonSink, src: Uint8Array, at = 0, decodedAt = at): void {
  const start = sink.pos;
  try {
    writeDocument(sink, src, at, 0, DOC_STYLE, true);
  } catch (error) {
    sink.pos = start;
    throw explain(error, src, decodedAt, T_DOCUMENT, at);
  }
}

/** Appends `renderDocumentId` of the value of the element at `idElement` (the `_id` column's text). */
export function appendIdText(sink: JsonSink, src: Uint8Array, idElement: number, decodedAt: number): void {
  const start = sink.pos;
  try {
    const type = idType(src, idElement);
    const at = idAt(src, idElement);
    refuseAsId(type);
    if (type === T_OBJECT_ID) writeObjectId(sink, src, at, false);
    else if (type === T_STRING || type === T_SYMBOL) {
      const text = stringValue(src, at);
      sink.ensure(Buffer.byteLength(text));
      sink.pos += sink.buf.write(text, sink.pos);
    } else writeValue(sink, src, type, at, src.length, 0, ID_STYLE);
  } catch (error) {
    sink.pos = start;
    throw explain(error, src, decodedAt, idType(src, idElement), idAt(src, idElement));
  }
}

const shared = { sink: new JsonSink() };

function sharedText(write: (sink: JsonSink) => void): string {
  const sink = shared.sink;
  sink.reset();
  write(sink);
  const text = sink.text();
  if (sink.buf.length > 4 * 1024 * 1024) shared.sink = new JsonSink();
  return text;
}

/** The JSONEachRow line (no newline) of the snapshot row for the document at `at`. */
export function snapshotLine(src: Uint8Array, useJsonNativeFormat: boolean, at = 0): string {
  return sharedText((sink) => appendSnapshotLine(sink, src, useJsonNativeFormat, at));
}

/** `documentToJson` of the document at `at`. */
export function documentJson(src: Uint8Array, at = 0, decodedAt = at): string {
  return sharedText((sink) => appendDocumentJson(sink, src, at, decodedAt));
}

/** `renderDocumentId(document._id)` of the document at `at` (the whole document is checked first). */
export function documentIdText(src: Uint8Array, at = 0): string {
  checkBson(src, at);
  return sharedText((sink) => appendIdText(sink, src, snapshotIdElement(src, at), at));
}

/**
 * The element holding a snapshot document's `_id`: the last `_id` key (a decoded object keeps the
 * last value), or -1 when there is none or the document decodes to a DBRef (which has no `_id`).
 */
export function snapshotIdElement(src: Uint8Array, at: number): number {
  try {
    const size = readInt32(src, at);
    const end = at + size - 1;
    if (size < 5 || end >= src.length || src[end] !== 0) throw new BsonFormatError('corrupt object bson');
    let found = -1;
    let dollar = false;
    for (let p = at + 4; p < end; ) {
      const key = p + 1;
      if (src[key] === 0x5f && src[key + 1] === 0x69 && src[key + 2] === 0x64 && src[key + 3] === 0)
        found = p;
      if (src[key] === 0x24) dollar = true;
      const keyEnd = cstringEnd(src, key, end);
      const next = keyEnd < 0 ? -1 : valueEnd(src, src[p] as number, keyEnd + 1, end);
      if (next <= keyEnd || next > end) throw new BsonFormatError('corrupt object bson');
      p = next;
    }
    if (dollar && orderedEntries(src, at, true).some((entry) => entry.literal !== undefined)) return -1;
    return found;
  } catch (error) {
    throw explain(error, src, at, T_DOCUMENT, at);
  }
}

/** `JSON.stringify(renderDocumentId(id))`. */
function writeIdJsonString(sink: JsonSink, src: Uint8Array, idElement: number): void {
  const type = idType(src, idElement);
  const at = idAt(src, idElement);
  refuseAsId(type);
  if (type === T_OBJECT_ID) writeObjectId(sink, src, at, true);
  else if (type === T_STRING || type === T_SYMBOL) writeString(sink, src, at, src.length);
  else {
    sink.rawByte(0x22);
    sink.embedded = true;
    writeValue(sink, src, type, at, src.length, 0, ID_STYLE);
    sink.embedded = false;
    sink.rawByte(0x22);
  }
}

/** `doc` in the line: the JSON itself for a JSON column, the JSON as a JSON string for a String one. */
function writeDocColumn(sink: JsonSink, src: Uint8Array, docAt: number, native: boolean): void {
  if (docAt < 0) writeAscii(sink, native ? '{}' : '"{}"');
  else if (native) writeDocument(sink, src, docAt, 0, DOC_STYLE, true);
  else {
    sink.rawByte(0x22);
    sink.embedded = true;
    writeDocument(sink, src, docAt, 0, DOC_STYLE, true);
    sink.embedded = false;
    sink.rawByte(0x22);
  }
}

function idType(src: Uint8Array, idElement: number): number {
  return idElement < 0 ? T_UNDEFINED : (src[idElement] as number);
}

function idAt(src: Uint8Array, idElement: number): number {
  return idElement < 0 ? -1 : elementValue(src, idElement);
}

/** renderDocumentId's refusals. */
function refuseAsId(type: number): void {
  if (type === T_UNDEFINED) throw new UnsupportedValueError('a document without _id cannot be replicated');
  if (type === T_ARRAY) throw new UnsupportedValueError('an array cannot be an _id');
  if (type === T_REGEX) throw new UnsupportedValueError('a regular expression cannot be an _id');
}

/**
 * The error today's path raises: the decoder's first (it runs before any rendering), else the
 * rendering's own, with a nesting error naming its path as bson-json does.
 */
function explain(
  error: unknown,
  src: Uint8Array,
  decodedAt: number,
  rootType: number,
  rootAt: number,
): unknown {
  resetWriter();
  checkBson(src, decodedAt);
  if (!(error instanceof NestingTooDeep)) return error;
  const path = depthErrorPath(src, rootType, rootAt, 0, '');
  return new UnsupportedValueError(
    `document nests deeper than ${MAX_NESTING_DEPTH} levels at ${path || '(root)'}`,
  );
}

/**
 * Reads a change event as the server sent it (raw BSON) without decoding it: the few top-level
 * fields CDC needs, and where `documentKey._id`, `fullDocument` and `fullDocumentBeforeChange`
 * are, so the transcoder writes the row straight from the bytes. This runs once per event, so it
 * matches keys byte by byte and makes no string it does not need: the resume token is written only
 * when asked for (a batch needs its first and last).
 */
import { BSON } from 'mongodb';
import { snapshotIdElement } from '../../core/bson-transcode.js';
import {
  BsonFormatError,
  cstringEnd,
  findElement,
  T_DOCUMENT,
  T_NULL,
  T_STRING,
  T_TIMESTAMP,
  valueEnd,
} from '../../core/bson-transcode-check.js';
import { stringValue } from '../../core/bson-transcode-entries.js';
import { readInt32 } from '../../core/bson-transcode-scalars.js';
import { UnsupportedValueError } from '../../core/errors.js';
import type { SourceChangeEvent, SourceNamespace } from '../../ports/source.js';
import { encodeResumeToken } from './resume-plan.js';
import { DESERIALIZE_OPTIONS } from './snapshot-source.js';

/** A change event read from its bytes; a row event (insert / update / replace / delete) is what the engines take. */
export class RawChangeEvent implements SourceChangeEvent {
  operationType = '';
  clusterTime = { seconds: 0, increment: 0 };
  ns: SourceNamespace = NO_NAMESPACE;
  idElement = -1;
  fullDocumentAt = -1;
  beforeChangeAt = -1;
  private tokenAt = -1;
  private tokenText: string | null;

  /** `token`: given instead of the event's own (tests that name positions). */
  constructor(
    readonly bytes: Uint8Array,
    token?: string,
  ) {
    this.tokenText = token ?? null;
    this.readFields();
    if (this.tokenAt < 0 && token === undefined)
      throw new UnsupportedValueError('change event without a resume token (_id)');
  }

  /** The resume token (`_id`), serialized as the store keeps it. */
  get token(): string {
    this.tokenText ??= tokenText(this.bytes, this.tokenAt);
    return this.tokenText;
  }

  private readFields(): void {
    const bytes = this.bytes;
    const end = readInt32(bytes, 0) - 1;
    if (end < 4 || end >= bytes.length || bytes[end] !== 0) throw new BsonFormatError('corrupt object bson');
    for (let p = 4; p < end; ) {
      const keyEnd = cstringEnd(bytes, p + 1, end);
      if (keyEnd < 0) throw new BsonFormatError('Bad BSON Document: illegal CString');
      const field = fieldOf(bytes, p + 1, keyEnd);
      const next = valueEnd(bytes, bytes[p] as number, keyEnd + 1, end);
      if (next <= keyEnd || next > end) throw new BsonFormatError('corrupt object bson');
      if (field !== 0) this.readField(field, p);
      p = next;
    }
    if (this.idElement < 0 && this.fullDocumentAt >= 0)
      this.idElement = snapshotIdElement(bytes, this.fullDocumentAt);
  }

  /** One top-level element CDC reads; `documentKey._id` is the row's `_id`, else `fullDocument._id`. */
  private readField(field: number, element: number): void {
    const bytes = this.bytes;
    const type = bytes[element] as number;
    const at = cstringEnd(bytes, element + 1, bytes.length) + 1;
    if (field === F_OPERATION_TYPE && type === T_STRING) this.operationType = operationTypeAt(bytes, at);
    else if (field === F_CLUSTER_TIME && type === T_TIMESTAMP)
      this.clusterTime = { seconds: readInt32(bytes, at + 4) >>> 0, increment: readInt32(bytes, at) >>> 0 };
    else if (field === F_ID) this.tokenAt = documentAt(bytes, type, at);
    else if (field === F_NS) this.ns = namespaceAt(bytes, documentAt(bytes, type, at));
    else if (field === F_DOCUMENT_KEY) this.idElement = keyIdElement(bytes, documentAt(bytes, type, at));
    else if (field === F_FULL_DOCUMENT) this.fullDocumentAt = documentAt(bytes, type, at);
    else if (field === F_BEFORE_CHANGE) this.beforeChangeAt = documentAt(bytes, type, at);
  }
}

/** Reads the event's fields, checks the two every event must have, and resolves the row's `_id`. */
export function readChangeEvent(bytes: Uint8Array): RawChangeEvent {
  const event = new RawChangeEvent(bytes);
  if (event.operationType === '') throw new UnsupportedValueError('change event without operationType');
  if (event.clusterTime.seconds === 0 && event.clusterTime.increment === 0)
    throw new UnsupportedValueError('change event without clusterTime cannot be versioned');
  return event;
}

const NO_NAMESPACE: SourceNamespace = { db: '', coll: '' };

const F_ID = 1;
const F_OPERATION_TYPE = 2;
const F_CLUSTER_TIME = 3;
const F_NS = 4;
const F_DOCUMENT_KEY = 5;
const F_FULL_DOCUMENT = 6;
const F_BEFORE_CHANGE = 7;

const FIELDS: [number, Uint8Array][] = [
  [F_ID, Buffer.from('_id')],
  [F_OPERATION_TYPE, Buffer.from('operationType')],
  [F_CLUSTER_TIME, Buffer.from('clusterTime')],
  [F_NS, Buffer.from('ns')],
  [F_DOCUMENT_KEY, Buffer.from('documentKey')],
  [F_FULL_DOCUMENT, Buffer.from('fullDocument')],
  [F_BEFORE_CHANGE, Buffer.from('fullDocumentBeforeChange')],
];

function fieldOf(bytes: Uint8Array, from: number, to: number): number {
  for (const [field, name] of FIELDS) if (sameBytes(bytes, from, to, name)) return field;
  return 0;
}

function sameBytes(bytes: Uint8Array, from: number, to: number, name: Uint8Array): boolean {
  if (to - from !== name.length) return false;
  for (let k = 0; k < name.length; k++) if (bytes[from + k] !== name[k]) return false;
  return true;
}

const ROW_TYPES = ['insert', 'update', 'replace', 'delete'].map((name) => ({
  name,
  bytes: Buffer.from(name),
}));

/** A row operation type without decoding it; any other type decoded. */
function operationTypeAt(bytes: Uint8Array, at: number): string {
  const length = readInt32(bytes, at) - 1;
  for (const type of ROW_TYPES) if (sameBytes(bytes, at + 4, at + 4 + length, type.bytes)) return type.name;
  return stringValue(bytes, at);
}

/** The offset of an embedded document, -1 when the field is null. */
function documentAt(bytes: Uint8Array, type: number, at: number): number {
  if (type === T_NULL) return -1;
  if (type !== T_DOCUMENT) throw new UnsupportedValueError('a change event document field is not a document');
  if (at + 5 > bytes.length) throw new BsonFormatError('corrupt object bson');
  return at;
}

/** `documentKey._id` (the last `_id`, as a decoded object keeps it); -1 when there is none. */
function keyIdElement(bytes: Uint8Array, keyAt: number): number {
  if (keyAt < 0) return -1;
  return findElement(bytes, keyAt, '_id');
}

/** The last namespaces seen: events of one collection carry the same `ns` bytes. */
const namespaces: { bytes: Uint8Array; ns: SourceNamespace }[] = [];
const NAMESPACES_KEPT = 16;

function namespaceAt(bytes: Uint8Array, at: number): SourceNamespace {
  if (at < 0) return NO_NAMESPACE;
  const size = readInt32(bytes, at);
  for (const known of namespaces) if (sameBytes(bytes, at, at + size, known.bytes)) return known.ns;
  const text = (name: string): string => {
    const field = findElement(bytes, at, name);
    if (field < 0 || bytes[field] !== T_STRING) return '';
    return stringValue(bytes, cstringEnd(bytes, field + 1, bytes.length) + 1);
  };
  const ns = { db: text('db'), coll: text('coll') };
  if (namespaces.length >= NAMESPACES_KEPT) namespaces.shift();
  namespaces.push({ bytes: Uint8Array.prototype.slice.call(bytes, at, at + size), ns });
  return ns;
}

/**
 * The resume token as `encodeResumeToken` writes it: `{"_data":"<hex>"}` for today's tokens,
 * read straight from the bytes; any other shape is decoded first.
 */
function tokenText(bytes: Uint8Array, at: number): string {
  const size = readInt32(bytes, at);
  const data = at + 4;
  const dataAt = cstringEnd(bytes, data + 1, at + size) + 1;
  const onlyData =
    bytes[data] === T_STRING &&
    sameBytes(bytes, data + 1, dataAt - 1, DATA_KEY) &&
    dataAt + 4 + readInt32(bytes, dataAt) === at + size - 1;
  if (onlyData) return `{"_data":${JSON.stringify(stringValue(bytes, dataAt))}}`;
  return encodeResumeToken(BSON.deserialize(bytes.subarray(at, at + size), DESERIALIZE_OPTIONS));
}

const DATA_KEY = Buffer.from('_data');

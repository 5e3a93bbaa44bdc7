/**
 * Reads a change event as the server sent it (raw BSON) without decoding it: the few top-level
 * fields CDC needs, and where `documentKey._id`, `fullDocument` and `fullDocumentBeforeChange`
 * are, so the transcoder writes the row straight from the bytes.
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
import type { RawChange } from '../../core/change-lines.js';
import { UnsupportedValueError } from '../../core/errors.js';
import type { SourceChangeEvent, SourceNamespace } from '../../ports/source.js';
import { encodeResumeToken } from './resume-plan.js';
import { DESERIALIZE_OPTIONS } from './snapshot-source.js';

/** The top-level elements CDC reads, by offset of their type byte (-1 when absent). */
interface EventElements {
  id: number;
  operationType: number;
  clusterTime: number;
  ns: number;
  documentKey: number;
  fullDocument: number;
  fullDocumentBeforeChange: number;
}

const NAMES: Record<string, keyof EventElements> = {
  _id: 'id',
  operationType: 'operationType',
  clusterTime: 'clusterTime',
  ns: 'ns',
  documentKey: 'documentKey',
  fullDocument: 'fullDocument',
  fullDocumentBeforeChange: 'fullDocumentBeforeChange',
};

/** The event's operation type, cluster time and resume token: what every event, row or not, is read for. */
export interface EventHead {
  operationType: string;
  clusterTime: { seconds: number; increment: number };
  /** The resume token (`_id`), serialized as the store keeps it. */
  token: string;
  elements: EventElements;
}

export function readEventHead(bytes: Uint8Array): EventHead {
  const elements = topLevelElements(bytes);
  if (elements.operationType < 0 || bytes[elements.operationType] !== T_STRING)
    throw new UnsupportedValueError('change event without operationType');
  if (elements.clusterTime < 0 || bytes[elements.clusterTime] !== T_TIMESTAMP)
    throw new UnsupportedValueError('change event without clusterTime cannot be versioned');
  const at = valueAt(bytes, elements.clusterTime);
  return {
    operationType: stringValue(bytes, valueAt(bytes, elements.operationType)),
    clusterTime: { seconds: readUint32(bytes, at + 4), increment: readUint32(bytes, at) },
    token: tokenText(bytes, elements.id),
    elements,
  };
}

/** A row event (insert / update / replace / delete) of a mapped collection, for the engines. */
export function rowEvent(bytes: Uint8Array, head: EventHead): SourceChangeEvent {
  const { elements } = head;
  const fullDocumentAt = documentAt(bytes, elements.fullDocument);
  const change: RawChange = {
    operationType: head.operationType,
    bytes,
    idElement: idElementOf(bytes, elements.documentKey, fullDocumentAt),
    fullDocumentAt,
    beforeChangeAt: documentAt(bytes, elements.fullDocumentBeforeChange),
    clusterTime: head.clusterTime,
  };
  return { ...change, token: head.token, ns: namespaceOf(bytes, elements.ns) };
}

function topLevelElements(bytes: Uint8Array): EventElements {
  const found: EventElements = {
    id: -1,
    operationType: -1,
    clusterTime: -1,
    ns: -1,
    documentKey: -1,
    fullDocument: -1,
    fullDocumentBeforeChange: -1,
  };
  const end = readInt32(bytes, 0) - 1;
  if (end < 4 || end >= bytes.length || bytes[end] !== 0) throw new BsonFormatError('corrupt object bson');
  for (let p = 4; p < end; ) {
    const keyEnd = cstringEnd(bytes, p + 1, end);
    if (keyEnd < 0) throw new BsonFormatError('Bad BSON Document: illegal CString');
    const name =
      NAMES[Buffer.from(bytes.buffer, bytes.byteOffset + p + 1, keyEnd - p - 1).toString('latin1')];
    if (name !== undefined) found[name] = p;
    const next = valueEnd(bytes, bytes[p] as number, keyEnd + 1, end);
    if (next <= keyEnd || next > end) throw new BsonFormatError('corrupt object bson');
    p = next;
  }
  return found;
}

function valueAt(bytes: Uint8Array, element: number): number {
  return cstringEnd(bytes, element + 1, bytes.length) + 1;
}

function readUint32(bytes: Uint8Array, at: number): number {
  return readInt32(bytes, at) >>> 0;
}

/** The offset of an embedded document, -1 when the field is absent or null. */
function documentAt(bytes: Uint8Array, element: number): number {
  if (element < 0 || bytes[element] === T_NULL) return -1;
  if (bytes[element] !== T_DOCUMENT)
    throw new UnsupportedValueError('a change event document field is not a document');
  return valueAt(bytes, element);
}

/** `documentKey._id`, else `fullDocument._id` (the last `_id`, as a decoded object keeps it). */
function idElementOf(bytes: Uint8Array, documentKey: number, fullDocumentAt: number): number {
  const keyAt = documentAt(bytes, documentKey);
  const fromKey = keyAt < 0 ? -1 : findElement(bytes, keyAt, '_id');
  if (fromKey >= 0 || fullDocumentAt < 0) return fromKey;
  return snapshotIdElement(bytes, fullDocumentAt);
}

function namespaceOf(bytes: Uint8Array, element: number): SourceNamespace {
  const at = documentAt(bytes, element);
  const text = (name: string): string => {
    const field = at < 0 ? -1 : findElement(bytes, at, name);
    return field >= 0 && bytes[field] === T_STRING ? stringValue(bytes, valueAt(bytes, field)) : '';
  };
  return { db: text('db'), coll: text('coll') };
}

/**
 * The resume token as `encodeResumeToken` writes it: `{"_data":"<hex>"}` for today's tokens,
 * read straight from the bytes; any other shape is decoded first.
 */
function tokenText(bytes: Uint8Array, element: number): string {
  const at = documentAt(bytes, element);
  if (at < 0) throw new UnsupportedValueError('change event without a resume token (_id)');
  const size = readInt32(bytes, at);
  const data = findElement(bytes, at, '_data');
  const dataAt = data < 0 ? -1 : valueAt(bytes, data);
  const onlyData =
    data === at + 4 && bytes[data] === T_STRING && dataAt + 4 + readInt32(bytes, dataAt) === at + size - 1;
  if (onlyData) return `{"_data":${JSON.stringify(stringValue(bytes, dataAt))}}`;
  return encodeResumeToken(BSON.deserialize(bytes.subarray(at, at + size), DESERIALIZE_OPTIONS));
}

/**
 * A CDC batch's insert bodies, straight from the raw BSON change events: the rows of
 * `changeEventRow` collapsed by `collapseByKey` (rows.ts), each written as the JSONEachRow line of
 * `toJsonEachRowLine` by the transcoder, with no decoded event or row object in between.
 */
import { appendIdText, appendRowLine, JsonSink, type RowLine } from './bson-transcode.js';
import { UnsupportedValueError } from './errors.js';
import { ROW_OPERATION_TYPES } from './rows.js';
import { type ChunkBuffers, type EncodedLines, LineBody } from './snapshot-lines.js';
import { type ShapeRun, TypeMismatchError } from './table-shape.js';
import { versionOf } from './version.js';

/** A data-change event as the server sent it: where its parts are in its bytes. */
export interface RawChange {
  operationType: string;
  /** The whole event, as BSON. */
  bytes: Uint8Array;
  /** Offset of the element holding the row's `_id` (documentKey's, else fullDocument's); -1 when none. */
  idElement: number;
  /** Offset of `fullDocument`; -1 when absent or null. */
  fullDocumentAt: number;
  /** Offset of `fullDocumentBeforeChange` (a delete's pre-image); -1 when absent or null. */
  beforeChangeAt: number;
  /** The event's cluster time: `_peerdb_version` is seconds·2³² + increment. */
  clusterTime: { seconds: number; increment: number };
}

/** Where one row's `_id` and `doc` are: a document inherited by a tombstone is in another event's bytes. */
interface RowPlace {
  src: Uint8Array;
  idElement: number;
  docAt: number;
  version: bigint;
  isDeleted: 0 | 1;
}

/**
 * The row an event produces, as places in its bytes (changeEventRow's rules): insert / replace /
 * update → the full document; an update whose lookup found nothing → none (the delete that
 * removed the document follows); delete → a tombstone with the pre-image, or `{}`.
 */
function changeRowPlace(change: RawChange): RowPlace | null {
  const type = change.operationType;
  if (!(ROW_OPERATION_TYPES as readonly string[]).includes(type)) return null;
  if (change.idElement < 0) throw new UnsupportedValueError(`${type} event without documentKey._id`);
  const version = versionOf(change.clusterTime.seconds, change.clusterTime.increment);
  const { bytes: src, idElement } = change;
  if (type === 'delete') return { src, idElement, docAt: change.beforeChangeAt, version, isDeleted: 1 };
  if (change.fullDocumentAt < 0) {
    if (type === 'update') return null;
    throw new UnsupportedValueError(`${type} event without fullDocument`);
  }
  return { src, idElement, docAt: change.fullDocumentAt, version, isDeleted: 0 };
}

/** An event and the table its row goes to, in stream order. */
export interface TableChange<K> {
  table: K;
  /** The table's identity (its qualified name): rows collapse per (tableKey, `_id`). */
  tableKey: string;
  change: RawChange;
  /** The table's shape (typed columns, excluded fields), one run per table and batch. */
  shape?: ShapeRun;
}

export interface TableLines<K> {
  table: K;
  lines: EncodedLines;
  /**
   * A value its shape could not convert under `onTypeMismatch: 'fail'`: the table's body is not
   * to be sent (the table stops), the other tables' are.
   */
  mismatch: TypeMismatchError | null;
}

interface TableBody<K> {
  table: K;
  body: LineBody;
  shape: ShapeRun | undefined;
  mismatch: TypeMismatchError | null;
}

/**
 * The bodies of a batch: the last row per (table, `_id`) in the order of those last rows, a
 * tombstone without pre-image carrying the last document seen for its key; one body per table, in
 * the order the tables first appear among the rows kept.
 */
export function encodeChangeLines<K>(
  changes: readonly TableChange<K>[],
  useJsonNativeFormat: boolean,
  buffers?: ChunkBuffers,
): TableLines<K>[] {
  const bodies = new Map<string, TableBody<K>>();
  for (const { table, tableKey, place, shape } of collapse(changes).values()) {
    let entry = bodies.get(tableKey);
    if (entry === undefined) {
      entry = { table, body: new LineBody(buffers), shape, mismatch: null };
      bodies.set(tableKey, entry);
    }
    if (entry.mismatch === null) appendLine(entry, place, useJsonNativeFormat);
  }
  return [...bodies.values()].map(({ table, body, mismatch }) => ({ table, lines: body.finish(), mismatch }));
}

function appendLine<K>(entry: TableBody<K>, place: RowPlace, useJsonNativeFormat: boolean): void {
  const line: RowLine = {
    idElement: place.idElement,
    docAt: place.docAt,
    version: place.version,
    isDeleted: place.isDeleted,
    useJsonNativeFormat,
    decodedAt: 0,
  };
  if (entry.shape !== undefined) line.shape = entry.shape;
  try {
    entry.body.line((sink) => appendRowLine(sink, place.src, line));
  } catch (error) {
    if (!(error instanceof TypeMismatchError)) throw error;
    entry.mismatch = error;
  }
}

interface KeptRow<K> {
  table: K;
  tableKey: string;
  place: RowPlace;
  shape: ShapeRun | undefined;
}

/** collapseByKey over the events' rows: a Map's order is the order of the last rows kept. */
function collapse<K>(changes: readonly TableChange<K>[]): Map<string, KeptRow<K>> {
  const kept = new Map<string, KeptRow<K>>();
  const idText = new JsonSink(256);
  for (const { table, tableKey, change, shape } of changes) {
    const place = changeRowPlace(change);
    if (place === null) continue;
    idText.reset();
    appendIdText(idText, place.src, place.idElement, 0);
    const key = `${tableKey}\u0000${idText.text()}`;
    const previous = kept.get(key);
    kept.delete(key);
    kept.set(key, { table, tableKey, place: inherited(place, previous?.place), shape });
  }
  return kept;
}

/**
 * A tombstone without a document takes the last document seen for its key: that row's bytes give
 * both (its `_id` renders the same text, being the same key).
 */
function inherited(place: RowPlace, previous: RowPlace | undefined): RowPlace {
  if (place.isDeleted === 0 || place.docAt >= 0 || previous === undefined || previous.docAt < 0) return place;
  return { ...previous, version: place.version, isDeleted: 1 };
}

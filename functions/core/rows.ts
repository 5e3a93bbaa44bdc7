import { documentToJson } from './bson-json.js';
import { renderDocumentId } from './document-id.js';
import { UnsupportedValueError } from './errors.js';
import { SNAPSHOT_VERSION, versionFromClusterTime } from './version.js';

/** One row of a destination table (see docs/table-schema.md); `_peerdb_synced_at` is left to its DEFAULT. */
export interface DestinationRow {
  /** The target table the row goes to (not a column). */
  table: string;
  _id: string;
  /** The document as JSON text. */
  doc: string;
  _peerdb_version: bigint;
  _peerdb_is_deleted: 0 | 1;
}

/** The subset of a driver change event the core reads. */
export interface ChangeEventLike {
  operationType: string;
  documentKey?: { _id?: unknown } | null;
  fullDocument?: Record<string, unknown> | null;
  fullDocumentBeforeChange?: Record<string, unknown> | null;
  clusterTime?: unknown;
  ns?: { db?: string; coll?: string };
}

export const ROW_OPERATION_TYPES = ['insert', 'update', 'replace', 'delete'] as const;
/** Events that end replication of the collection they name: the table stops, the pipe goes on. */
export const TABLE_ENDING_OPERATION_TYPES = ['drop', 'rename', 'dropDatabase', 'invalidate'] as const;

export type ChangeEventAction = 'row' | 'stop-table' | 'skip';

/**
 * What CDC does with an event: data changes become rows; drop / rename / dropDatabase /
 * invalidate stop that table; everything else (index builds, collMod, create, shard events…)
 * carries no row data and is skipped.
 */
export function changeEventAction(event: Pick<ChangeEventLike, 'operationType'>): ChangeEventAction {
  if ((ROW_OPERATION_TYPES as readonly string[]).includes(event.operationType)) return 'row';
  if ((TABLE_ENDING_OPERATION_TYPES as readonly string[]).includes(event.operationType)) return 'stop-table';
  return 'skip';
}

export function snapshotRow(table: string, document: Record<string, unknown>): DestinationRow {
  return {
    table,
    _id: renderDocumentId(document._id),
    doc: documentToJson(document),
    _peerdb_version: SNAPSHOT_VERSION,
    _peerdb_is_deleted: 0,
  };
}

/**
 * The row a data-change event produces, or null when it produces none:
 * - insert / replace / update → the full document, at the event's version;
 * - update whose looked-up document is null (deleted before the lookup ran) → null: the delete
 *   that removed it comes later in the stream and writes the tombstone, so nothing is lost;
 * - delete → a tombstone (`_peerdb_is_deleted = 1`) carrying the pre-image when the collection
 *   records one, `{}` otherwise (collapseByKey fills in a document seen earlier in the batch).
 */
export function changeEventRow(table: string, event: ChangeEventLike): DestinationRow | null {
  if (changeEventAction(event) !== 'row') return null;
  if (event.clusterTime === undefined || event.clusterTime === null) {
    throw new UnsupportedValueError(`${event.operationType} event without clusterTime cannot be versioned`);
  }
  const id = event.documentKey?._id ?? event.fullDocument?._id;
  if (id === undefined)
    throw new UnsupportedValueError(`${event.operationType} event without documentKey._id`);
  const version = versionFromClusterTime(event.clusterTime);
  if (event.operationType === 'delete') {
    const before = event.fullDocumentBeforeChange;
    return {
      table,
      _id: renderDocumentId(id),
      doc: before ? documentToJson(before) : '{}',
      _peerdb_version: version,
      _peerdb_is_deleted: 1,
    };
  }
  if (!event.fullDocument) {
    if (event.operationType === 'update') return null;
    throw new UnsupportedValueError(`${event.operationType} event without fullDocument`);
  }
  return {
    table,
    _id: renderDocumentId(id),
    doc: documentToJson(event.fullDocument),
    _peerdb_version: version,
    _peerdb_is_deleted: 0,
  };
}

/**
 * Keep only the last row per (table, _id), in input order of those last rows. Events of one
 * transaction share a cluster time and so a version; keeping the last makes the batch's outcome
 * the transaction's outcome. A tombstone without a document inherits the last document seen for
 * its key, so `doc` of a deleted row still says what was deleted when the batch knew it.
 */
export function collapseByKey(rows: readonly DestinationRow[]): DestinationRow[] {
  const last = new Map<string, DestinationRow>();
  for (const row of rows) {
    const key = `${row.table}\u0000${row._id}`;
    const previous = last.get(key);
    last.delete(key);
    if (row._peerdb_is_deleted === 1 && row.doc === '{}' && previous !== undefined && previous.doc !== '{}') {
      last.set(key, { ...row, doc: previous.doc });
    } else last.set(key, row);
  }
  return [...last.values()];
}

/**
 * One JSONEachRow line for a row. With the JSON column type `doc` is inlined as an object; with a
 * String column it is sent as a JSON string. The version is written as an integer literal, which
 * ClickHouse reads exactly into UInt64.
 */
export function toJsonEachRowLine(row: DestinationRow, useJsonNativeFormat: boolean): string {
  const doc = useJsonNativeFormat ? row.doc : JSON.stringify(row.doc);
  return `{"_id":${JSON.stringify(row._id)},"doc":${doc},"_peerdb_version":${row._peerdb_version.toString()},"_peerdb_is_deleted":${row._peerdb_is_deleted}}`;
}

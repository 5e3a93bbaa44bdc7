import type { DestinationRow } from '../core/rows.js';
import type { TableOptions, TypedColumnSql } from '../core/table-schema.js';

/**
 * The destination port: everything the engines and the control plane ask of ClickHouse. One
 * adapter implements it (functions/adapters/clickhouse, `@clickhouse/client` over HTTP), for
 * ClickHouse Cloud and the embedded local engine alike. Names are validated by the core's strict
 * identifier rule; every failure surfaces as DestinationUnavailableError (retry) or
 * DestinationFatalError (stop).
 */

/** A table in a database, both validated identifiers. */
export interface TableRef {
  database: string;
  table: string;
}

export interface InsertBatch extends TableRef {
  /** Rows for this table (their own `table` field is not read; the batch names the table). */
  rows: Iterable<DestinationRow> | AsyncIterable<DestinationRow>;
  /**
   * Same token for a replay of the same batch: ClickHouse keeps one copy. Derive it from what
   * makes the batch unique (pipe, table, partition and checkpoint, or the CDC token range).
   */
  deduplicationToken: string;
  /** True when `doc` is a JSON column, false when it is a String column. */
  useJsonNativeFormat: boolean;
}

/**
 * A batch already encoded as the request body (the snapshot path: the core's transcoder writes
 * each raw BSON document straight into its JSONEachRow line), sent as it is.
 */
export interface StreamedInsertBatch extends TableRef {
  /** JSONEachRow lines as in EncodedInsertBatch, handed over chunk by chunk as they are written. */
  body: AsyncIterable<Uint8Array>;
  /** As in InsertBatch. */
  deduplicationToken: string;
  /** As in EncodedInsertBatch. */
  columns?: readonly string[];
}

export interface EncodedInsertBatch extends TableRef {
  /**
   * JSONEachRow lines, each ending in `\n`, byte for byte what `toJsonEachRowLine` writes for the
   * table's `doc` column type (JSON or String), cut into chunks anywhere.
   */
  body: readonly Uint8Array[];
  /** Lines in `body`. */
  rows: number;
  /** As in InsertBatch. */
  deduplicationToken: string;
  /** The table's typed columns the lines carry besides `_id`, `doc` and the `_peerdb_` columns (table-shape.ts). */
  columns?: readonly string[];
}

export interface InsertResult {
  rows: number;
  bytes: number;
}

/** How a resync table replaced the live one. */
export type SwapMethod =
  /** `EXCHANGE TABLES`: atomic, readers always see one of the two complete tables. */
  | 'exchange'
  /** `RENAME TABLE a TO a_old, b TO a`: on servers without EXCHANGE; see docs/clickhouse.md. */
  | 'rename'
  /** A previous attempt had already swapped. */
  | 'already-swapped';

export interface RowCountOptions {
  /** Read through `FINAL` (the latest version per `_id`). */
  final: boolean;
  /** Count only rows whose latest version is not a delete; implies `final`. */
  liveOnly: boolean;
}

/** A destination row as read back (for tests and status). */
export interface StoredRow {
  _id: string;
  /** `doc` as JSON text. */
  doc: string;
  _peerdb_version: bigint;
  _peerdb_is_deleted: 0 | 1;
}

export interface Destination {
  ensureDatabase(database: string): Promise<void>;
  /** Create the table if missing (idempotent) with the core's DDL and insert deduplication on. */
  createTable(ref: TableRef, options: TableOptions): Promise<void>;
  /** Create `<table>_resync`, dropping a leftover one from an abandoned resync first; returns its name. */
  createResyncTable(ref: TableRef, options: TableOptions): Promise<string>;
  tableExists(ref: TableRef): Promise<boolean>;
  /**
   * Add the typed columns the table lacks (ALTER TABLE … ADD COLUMN IF NOT EXISTS: metadata only,
   * existing rows read the type's default), so it takes rows of a new shape until its resync swaps.
   */
  addColumns(ref: TableRef, columns: readonly TypedColumnSql[]): Promise<void>;
  insertRows(batch: InsertBatch): Promise<InsertResult>;
  /** Inserts a body of ready JSONEachRow lines, with the same settings as insertRows. */
  insertEncoded(batch: EncodedInsertBatch): Promise<InsertResult>;
  /**
   * Inserts JSONEachRow lines sent as they are made, with the same settings as insertRows. The
   * insert commits only once `body` has ended: a body that throws aborts the request, nothing of
   * it is inserted, and the call rejects with the body's own error.
   */
  insertStreamed(batch: StreamedInsertBatch): Promise<void>;
  /**
   * Put `<table>_resync` in place of `<table>`, keeping the old rows aside until
   * dropSwappedOutTable (CDC may still be writing to both). Safe to call again after a crash at
   * any point: it finishes what is left.
   */
  swapResyncTable(ref: TableRef): Promise<SwapMethod>;
  /** Drop what a swap set aside. Safe to call again; does nothing when no swap set anything aside. */
  dropSwappedOutTable(ref: TableRef): Promise<void>;
  dropTable(ref: TableRef): Promise<void>;
  /** The optional hard-delete clean-up: physically remove rows whose latest version is a delete. */
  purgeDeletedRows(ref: TableRef): Promise<void>;
  countRows(ref: TableRef, options?: Partial<RowCountOptions>): Promise<number>;
  /** The rows `FINAL` with `_peerdb_is_deleted = 0` returns, ordered by `_id`. */
  readLiveRows(ref: TableRef): Promise<StoredRow[]>;
  close(): Promise<void>;
}

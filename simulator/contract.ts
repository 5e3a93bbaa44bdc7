/**
 * The seams between the simulator's parts. Each part (wire + topology, storage + queries,
 * oplog + change streams) is built against these types so they can evolve separately.
 * Keep this file small: types and the one error class every part throws.
 */
import type { Document, Long, Timestamp, UUID } from 'bson';

/** A command failure as the real server reports it: `{ok: 0, errmsg, code, codeName, errorLabels}`. */
export class CommandError extends Error {
  constructor(
    readonly code: number,
    readonly codeName: string,
    message: string,
    readonly errorLabels: string[] = [],
    /** Extra fields merged into the error reply (e.g. `writeConcernError`, `topologyVersion`). */
    readonly extra: Document = {},
  ) {
    super(message);
    this.name = 'CommandError';
  }
}

/** One oplog entry, shaped like the real `local.oplog.rs` document. */
export interface OplogEntry {
  ts: Timestamp;
  /** Election term. */
  t: Long;
  op: 'i' | 'u' | 'd' | 'c' | 'n';
  /** `db.collection`, or `db.$cmd` for commands, or `admin.$cmd` for applyOps / no-ops. */
  ns: string;
  /** Collection UUID. */
  ui?: UUID;
  o: Document;
  o2?: Document;
  wall: Date;
  lsid?: Document;
  txnNumber?: Long;
  /**
   * Not part of the real oplog document: the real server keeps these in
   * `config.system.preimages`. Present only when the collection enables pre-images.
   */
  preImage?: Document;
}

/** A batch handed back to a client for `find`/`aggregate` first batches and `getMore`. */
export interface CursorBatch {
  documents: Document[];
  /** True when the cursor is finished; the reply then carries cursor id 0. */
  exhausted: boolean;
  /** Only change stream cursors set this. */
  postBatchResumeToken?: Document;
}

/** Any open server-side cursor (query, aggregate, change stream). */
export interface ServerCursor {
  readonly id: Long;
  /** `db.collection` as the reply's `cursor.ns`. */
  readonly ns: string;
  /**
   * Up to `batchSize` documents. Tailable/awaitData cursors (change streams) may wait up to
   * `maxAwaitTimeMS` for new data before returning an empty batch.
   */
  nextBatch(batchSize: number | undefined, maxAwaitTimeMS: number | undefined): Promise<CursorBatch>;
  close(): void;
  /** Session that owns the cursor, to kill it with the session. */
  readonly lsid?: Document;
}

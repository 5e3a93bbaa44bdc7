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
  /** Written by a chunk migration (or a shard's copy of a DDL): change streams never show it. */
  fromMigrate?: boolean;
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

/** Member states of seed 002, as `replSetGetStatus` names them. */
export type MemberState =
  | 'STARTUP'
  | 'PRIMARY'
  | 'SECONDARY'
  | 'RECOVERING'
  | 'STARTUP2'
  | 'UNKNOWN'
  | 'ARBITER'
  | 'DOWN'
  | 'ROLLBACK'
  | 'REMOVED';

/** Session fields the wire layer lifts out of a command for the parts that need them. */
export interface SessionInfo {
  lsid: Document;
  txnNumber?: Long;
  /** `autocommit: false` marks a command inside a multi-document transaction. */
  inTransaction: boolean;
  startTransaction: boolean;
}

/** What every command handler receives. */
export interface CommandContext {
  /** `$db` of the request. */
  readonly db: string;
  /** The command name exactly as sent (first key of the body). */
  readonly name: string;
  /** The command body with OP_MSG document sequences folded in as arrays. */
  readonly body: Document;
  /** `host:port` of the member that received the command. */
  readonly memberName: string;
  readonly memberState: MemberState;
  readonly connectionId: number;
  readonly appName?: string;
  readonly session?: SessionInfo;
}

export type CommandHandler = (ctx: CommandContext) => Promise<Document> | Document;

/** Cluster time source shared by the oplog and every reply's `$clusterTime`/`operationTime`. */
export interface ClusterClock {
  /** The latest cluster time handed out. */
  current(): Timestamp;
}

/** An oplog entry before the oplog stamps it. */
export type OplogDraft = Omit<OplogEntry, 'ts' | 't' | 'wall'>;

/** How the storage part records its writes. */
export interface OplogWriter {
  /** Appends the drafts in order, each with the next cluster time; returns them stamped. */
  append(drafts: OplogDraft[]): OplogEntry[];
}

/** What change streams need from storage. */
export interface CatalogReader {
  findOneById(ns: string, id: unknown): Document | null;
  collectionInfo(ns: string): { uuid: UUID; changeStreamPreAndPostImages: boolean } | null;
}

/** Where every kind of cursor lives, so one getMore/killCursors serves them all. */
export interface CursorRegistry {
  add(make: (id: Long) => ServerCursor): ServerCursor;
  get(id: Long): ServerCursor | undefined;
  remove(id: Long): void;
}

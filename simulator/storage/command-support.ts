/**
 * What every storage command shares: its dependencies, argument parsing with the server's error
 * codes, the write/read scope for the command's session, and cursor replies.
 */
import type { Document, Long } from 'bson';
import {
  type ClusterClock,
  type CommandContext,
  CommandError,
  type CursorBatch,
  type CursorRegistry,
  type OplogWriter,
  type ServerCursor,
} from '../contract.js';
import { bsonEquals } from './bson-order.js';
import { type Catalog, validateCollectionName, validateDbName } from './catalog.js';
import type { Collection } from './collection.js';
import type { RetryableWrites } from './retryable-writes.js';
import type { TransactionManager } from './transactions.js';
import { DirectWriteScope, type WriteScope } from './write-scope.js';

/** The change stream factory CHANGES provides; storage only routes `$changeStream` pipelines to it. */
export type OpenChangeStream = (
  ctx: CommandContext,
  target: { db: string; collection: string | null },
  stageOptions: Document,
  restOfPipeline: Document[],
  cursorOptions: { batchSize?: number; maxAwaitTimeMS?: number; comment?: unknown },
) => ServerCursor | Promise<ServerCursor>;

export interface StorageDeps {
  catalog: Catalog;
  cursors: CursorRegistry;
  oplog: OplogWriter;
  clock: ClusterClock;
  openChangeStream: OpenChangeStream;
  /** Created by `storageCommands` when not given; pass one to end its transactions with sessions. */
  transactions?: TransactionManager;
  /** Created by `storageCommands` when not given; pass one to forget ended sessions. */
  retryableWrites?: RetryableWrites;
  /**
   * A mongos's first batch: it stops at the batch size without asking its merge for more, so a
   * full first batch keeps its cursor open even when nothing is left (even at a limit the batch
   * size equals); a mongod sees the end of a limit or a scan it reached and closes the cursor.
   */
  fullFirstBatchKeepsCursor?: boolean;
}

export interface ResolvedDeps extends StorageDeps {
  transactions: TransactionManager;
}

export function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  const tag = (value as { _bsontype?: string } | undefined)?._bsontype;
  if (tag) return tag.toLowerCase();
  return typeof value === 'object' ? 'object' : typeof value;
}

function wrongType(field: string, expected: string, value: unknown): CommandError {
  return new CommandError(
    14,
    'TypeMismatch',
    `BSON field '${field}' is the wrong type '${typeName(value)}', expected type '${expected}'`,
  );
}

/** A numeric argument as a JS number (accepts int32/int64/double in any representation). */
export function numberArg(body: Document, field: string, fallback: number): number {
  const value = body[field];
  if (value === undefined || value === null) return fallback;
  const n = typeof value === 'number' ? value : Number((value as { valueOf(): unknown }).valueOf?.());
  if (typeof value === 'boolean' || Number.isNaN(n)) throw wrongType(field, 'number', value);
  return n;
}

export function nonNegativeArg(body: Document, field: string, fallback: number): number {
  const n = numberArg(body, field, fallback);
  if (n < 0)
    throw new CommandError(
      51024,
      'Location51024',
      `BSON field '${field}' value must be >= 0, actual value '${n}'`,
    );
  return n;
}

export function boolArg(body: Document, field: string, fallback: boolean): boolean {
  const value = body[field];
  if (value === undefined || value === null) return fallback;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return value !== 0;
  const n = Number((value as { valueOf(): unknown }).valueOf?.());
  if (!Number.isNaN(n)) return n !== 0;
  throw wrongType(field, 'bool', value);
}

export function documentArg(body: Document, field: string): Document | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value) || (value as { _bsontype?: string })._bsontype) {
    throw wrongType(field, 'object', value);
  }
  return value as Document;
}

export function arrayArg(body: Document, field: string, required = true): Document[] {
  const value = body[field];
  if (value === undefined && !required) return [];
  if (!Array.isArray(value)) {
    if (value === undefined) {
      throw new CommandError(40414, 'Location40414', `BSON field '${field}' is missing but a required field`);
    }
    throw wrongType(field, 'array', value);
  }
  return value as Document[];
}

/** The collection a command targets (the value of its first field), validated. */
export function targetCollection(ctx: CommandContext): string {
  validateDbName(ctx.db);
  return validateCollectionName(ctx.db, ctx.body[ctx.name]);
}

/** Where this command's writes go: the session's transaction, or straight to the catalog. */
export function writeScope(deps: ResolvedDeps, ctx: CommandContext): WriteScope {
  if (ctx.session?.inTransaction) return deps.transactions.scopeFor(ctx.session);
  return new DirectWriteScope(deps.catalog, deps.oplog);
}

/** The collection as this command sees it (a transaction sees its own writes). */
export function readCollection(
  deps: ResolvedDeps,
  ctx: CommandContext,
  name: string,
): Collection | undefined {
  if (ctx.session?.inTransaction) return deps.transactions.scopeFor(ctx.session).collection(ctx.db, name);
  return deps.catalog.get(ctx.db, name);
}

/** Runs a transactional write and aborts the transaction when it fails, like the server. */
export function guardTransaction<T>(deps: ResolvedDeps, ctx: CommandContext, run: () => T): T {
  try {
    return run();
  } catch (error) {
    if (ctx.session?.inTransaction) deps.transactions.abortOnError(ctx.session);
    throw error;
  }
}

/** The `cursor` field of a find/aggregate/getMore reply. */
export function cursorReply(
  cursorId: Long,
  ns: string,
  batch: CursorBatch,
  field: 'firstBatch' | 'nextBatch',
): Document {
  const cursor: Document = { [field]: batch.documents, id: cursorId, ns };
  if (batch.postBatchResumeToken) cursor.postBatchResumeToken = batch.postBatchResumeToken;
  return { cursor, ok: 1 };
}

/** First-batch size from `cursor.batchSize` (aggregate) or `batchSize` (find). */
export function firstBatchSize(body: Document, fallback: number): number {
  const options = documentArg(body, 'cursor');
  if (options && options.batchSize !== undefined) return nonNegativeArg(options, 'batchSize', fallback);
  return nonNegativeArg(body, 'batchSize', fallback);
}

/**
 * Rejects a `hint` naming an index the collection does not have, as the query planner does
 * (a missing collection ignores its hint).
 */
export function checkHint(collection: Collection | undefined, hint: unknown): void {
  if (hint === undefined || hint === null || !collection) return;
  if (typeof hint === 'string') {
    if (collection.indexes.some((index) => index.name === hint)) return;
  } else if (typeof hint === 'object' && !Array.isArray(hint)) {
    const keys = Object.keys(hint as Document);
    if (keys.length === 0 || keys[0] === '$natural') return;
    if (collection.indexes.some((index) => bsonEquals(index.key, hint))) return;
  }
  throw new CommandError(
    2,
    'BadValue',
    'error processing query: planner returned error :: caused by :: hint provided does not correspond to an existing index',
  );
}

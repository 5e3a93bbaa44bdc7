/**
 * Where a command may run, as the real server's `secondaryAllowed()` says: writes only on the
 * primary, reads on a secondary when the client opted in, the rest (diagnostics, getMore,
 * hello, sessions) on any member that answers.
 */
import type { Document } from 'bson';

/**
 * `cursor`: continuing an open cursor (getMore) needs a member that can serve reads, but no
 * secondaryOk, which the cursor's opening command already checked.
 */
export type CommandKind = 'write' | 'read' | 'cursor' | 'any';

const WRITES = new Set([
  'insert',
  'update',
  'delete',
  'findAndModify',
  'findandmodify',
  'bulkWrite',
  'create',
  'createIndexes',
  'drop',
  'dropDatabase',
  'dropIndexes',
  'deleteIndexes',
  'renameCollection',
  'collMod',
  'commitTransaction',
  'abortTransaction',
  'applyOps',
]);

const READS = new Set([
  'find',
  'aggregate',
  'count',
  'distinct',
  'listCollections',
  'listIndexes',
  'listDatabases',
  'dbStats',
  'collStats',
  'dataSize',
  'explain',
]);

/** Writes that drivers retry, and so get `RetryableWriteError` labels when they carry `txnNumber`. */
const RETRYABLE_WRITES = new Set([
  'insert',
  'update',
  'delete',
  'findAndModify',
  'findandmodify',
  'bulkWrite',
]);

export function commandKind(name: string, body: Document): CommandKind {
  if (WRITES.has(name)) return 'write';
  if (name === 'aggregate' && writesOutput(body.pipeline)) return 'write';
  if (READS.has(name)) return 'read';
  if (name === 'getMore') return 'cursor';
  return 'any';
}

export function isRetryableWriteCommand(name: string): boolean {
  return RETRYABLE_WRITES.has(name);
}

/** The commands a mongod accepts inside a multi-document transaction (its txn command allowlist). */
const ALLOWED_IN_TRANSACTION = new Set([
  'abortTransaction',
  'aggregate',
  'bulkWrite',
  'commitTransaction',
  'create',
  'createIndexes',
  'delete',
  'distinct',
  'find',
  'findAndModify',
  'findandmodify',
  'getMore',
  'insert',
  'killCursors',
  'update',
]);

export function isAllowedInTransaction(name: string): boolean {
  return ALLOWED_IN_TRANSACTION.has(name);
}

export function isTransactionEnd(name: string): boolean {
  return name === 'commitTransaction' || name === 'abortTransaction';
}

function writesOutput(pipeline: unknown): boolean {
  if (!Array.isArray(pipeline)) return false;
  const last = pipeline[pipeline.length - 1] as Document | undefined;
  return last !== undefined && last !== null && ('$out' in last || '$merge' in last);
}

export function isChangeStreamAggregate(name: string, body: Document): boolean {
  if (name !== 'aggregate' || !Array.isArray(body.pipeline)) return false;
  const first = body.pipeline[0] as Document | undefined;
  return first !== undefined && first !== null && '$changeStream' in first;
}

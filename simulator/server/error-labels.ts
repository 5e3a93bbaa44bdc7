/**
 * The error labels the real server attaches (drivers at wire version ≥ 9 rely on the server's
 * labels, not their own code lists, to decide whether to retry or resume).
 */
import type { SessionInfo } from '../contract.js';
import { isRetryableWriteCommand, isTransactionEnd } from './command-kinds.js';
import {
  NON_RESUMABLE_CHANGE_STREAM_CODES,
  NOT_PRIMARY_CODES,
  RESUMABLE_CHANGE_STREAM_CODES,
  RETRYABLE_WRITE_CODES,
} from './error-codes.js';

export interface LabelContext {
  name: string;
  session?: SessionInfo | undefined;
  /** The command is a change stream `aggregate` or a `getMore` on a change stream cursor. */
  changeStream: boolean;
}

const TRANSIENT_TRANSACTION_CODES: ReadonlySet<number> = new Set([24, 112, 251]);

/**
 * Inside a transaction, errors after which the whole transaction may be retried (the server's
 * `isTransientTransactionError`): WriteConflict, LockTimeout and NoSuchTransaction qualify for
 * every command, commit and abort included; "not primary" errors only before the commit.
 */
function isTransientTransactionError(name: string, code: number): boolean {
  if (isTransactionEnd(name)) return TRANSIENT_TRANSACTION_CODES.has(code);
  return TRANSIENT_TRANSACTION_CODES.has(code) || NOT_PRIMARY_CODES.has(code);
}

function isRetryableWrite(context: LabelContext): boolean {
  if (isTransactionEnd(context.name)) return true;
  const session = context.session;
  return isRetryableWriteCommand(context.name) && session?.txnNumber !== undefined && !session.inTransaction;
}

/** Labels for a command that failed with `code`. */
export function errorLabelsFor(context: LabelContext, code: number): string[] {
  const labels: string[] = [];
  if (RETRYABLE_WRITE_CODES.has(code) && isRetryableWrite(context)) labels.push('RetryableWriteError');
  if (context.session?.inTransaction && isTransientTransactionError(context.name, code)) {
    labels.push('TransientTransactionError');
  }
  if (context.changeStream && RESUMABLE_CHANGE_STREAM_CODES.has(code))
    labels.push('ResumableChangeStreamError');
  if (NON_RESUMABLE_CHANGE_STREAM_CODES.has(code)) labels.push('NonResumableChangeStreamError');
  return labels;
}

/** Labels for a successful write whose write concern failed with `code`. */
export function writeConcernErrorLabelsFor(context: LabelContext, code: number): string[] {
  return RETRYABLE_WRITE_CODES.has(code) && isRetryableWrite(context) ? ['RetryableWriteError'] : [];
}

/**
 * Retryable writes: a write sent again with the same session and txnNumber (the driver retries
 * after a network error or a retryable write concern error) is answered from the first result
 * instead of being applied twice, as the server does from `config.transactions`.
 */
import type { Document, Long } from 'bson';
import { CommandError, type CommandHandler, type SessionInfo } from '../contract.js';
import { sessionKey } from './transactions.js';

interface ExecutedWrite {
  txnNumber: Long;
  /** Reply per statement-id list: a mongos sends one command per shard batch, each with its `stmtIds`. */
  replies: Map<string, Document>;
}

function statementKey(body: Document): string {
  return Array.isArray(body.stmtIds) ? body.stmtIds.map(String).join(',') : '';
}

export class RetryableWrites {
  private readonly bySession = new Map<string, ExecutedWrite>();

  /** Wraps a write command handler so retried statements are not re-applied. */
  wrap(handler: CommandHandler): CommandHandler {
    return async (ctx) => {
      const session = ctx.session;
      if (!isRetryableWrite(session)) return handler(ctx);
      const key = sessionKey(session.lsid);
      const previous = this.bySession.get(key);
      const statements = statementKey(ctx.body);
      const executed = previous?.txnNumber.equals(session.txnNumber)
        ? previous.replies.get(statements)
        : undefined;
      if (executed) return executed;
      if (previous?.txnNumber.greaterThan(session.txnNumber)) {
        throw new CommandError(
          225,
          'TransactionTooOld',
          `Retryable write with txnNumber ${session.txnNumber} is prohibited on session because a newer retryable write with txnNumber ${previous.txnNumber} has already started on this session.`,
        );
      }
      const reply = await handler(ctx);
      const record = previous?.txnNumber.equals(session.txnNumber)
        ? previous
        : { txnNumber: session.txnNumber, replies: new Map<string, Document>() };
      record.replies.set(statements, reply);
      this.bySession.set(key, record);
      return reply;
    };
  }

  /** Forgets a session (endSessions / killSessions). */
  endSession(lsid: Document): void {
    this.bySession.delete(sessionKey(lsid));
  }
}

function isRetryableWrite(session: SessionInfo | undefined): session is SessionInfo & { txnNumber: Long } {
  return session !== undefined && session.txnNumber !== undefined && !session.inTransaction;
}

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
  reply: Document;
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
      if (previous?.txnNumber.equals(session.txnNumber)) return previous.reply;
      if (previous?.txnNumber.greaterThan(session.txnNumber)) {
        throw new CommandError(
          225,
          'TransactionTooOld',
          `Retryable write with txnNumber ${session.txnNumber} is prohibited on session because a newer retryable write with txnNumber ${previous.txnNumber} has already started on this session.`,
        );
      }
      const reply = await handler(ctx);
      this.bySession.set(key, { txnNumber: session.txnNumber, reply });
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

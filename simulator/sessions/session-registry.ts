/**
 * Logical sessions seen by the deployment (keyed by `lsid.id`), and the cursors each owns, so
 * `endSessions`/`killSessions` can close them. Cursors are learnt by wrapping the shared
 * `CursorRegistry`: every cursor, whichever part creates it, is added through it.
 */
import type { Document, Long } from 'bson';
import type { CursorRegistry, ServerCursor } from '../contract.js';

/** The key of a session: its `lsid.id` UUID in hex. */
export function sessionKey(lsid: Document | undefined): string | undefined {
  const id = lsid?.id as { toString?: (encoding: string) => string; buffer?: Uint8Array } | undefined;
  if (!id) return undefined;
  if (id.buffer instanceof Uint8Array) return Buffer.from(id.buffer).toString('hex');
  return typeof id.toString === 'function' ? id.toString('hex') : undefined;
}

interface SessionRecord {
  lsid: Document;
  lastUse: Date;
  /** Cursor id (decimal string) → the id itself. */
  cursorIds: Map<string, Long>;
}

/** Sessions idle this long without cursors are forgotten, like the server's 30-minute timeout. */
const SESSION_TIMEOUT_MS = 30 * 60 * 1000;
/** The idle sweep runs once per this many touches, keeping `touch` O(1) amortised. */
const SWEEP_EVERY = 1024;

export class SessionRegistry implements CursorRegistry {
  private touches = 0;
  private readonly sessions = new Map<string, SessionRecord>();
  private readonly cursorOwners = new Map<string, string>();
  /** Change stream cursor ids, so errors on their getMores get `ResumableChangeStreamError`. */
  private readonly changeStreamCursors = new Set<string>();

  /** Sessions that ran a command inside a multi-document transaction. */
  private readonly transactionSessions = new Map<string, Document>();

  /**
   * @param endTransaction aborts and forgets a session's transaction (STORAGE's
   *   `TransactionManager.endSession`), called when the session ends or its member steps down.
   */
  constructor(
    private readonly cursors: CursorRegistry,
    private readonly endTransaction: (lsid: Document) => void = () => {},
  ) {}

  /** Records that `lsid` runs a transaction, so a step-down can abort it. */
  noteTransaction(lsid: Document): void {
    const key = sessionKey(lsid);
    if (key) this.transactionSessions.set(key, lsid);
  }

  /** Aborts every open transaction, as a primary does when it steps down. */
  abortTransactions(): void {
    for (const lsid of this.transactionSessions.values()) this.endTransaction(lsid);
    this.transactionSessions.clear();
  }

  /** Records that a command used `lsid`. */
  touch(lsid: Document | undefined): void {
    const key = sessionKey(lsid);
    if (!key || !lsid) return;
    const record = this.sessions.get(key);
    if (record) record.lastUse = new Date();
    else this.sessions.set(key, { lsid, lastUse: new Date(), cursorIds: new Map() });
    this.touches += 1;
    if (this.touches % SWEEP_EVERY === 0) this.sweepIdle(Date.now() - SESSION_TIMEOUT_MS);
  }

  private sweepIdle(idleBefore: number): void {
    for (const [key, record] of this.sessions) {
      if (record.cursorIds.size === 0 && record.lastUse.getTime() < idleBefore) this.sessions.delete(key);
    }
  }

  get activeCount(): number {
    return this.sessions.size;
  }

  has(lsid: Document): boolean {
    const key = sessionKey(lsid);
    return key !== undefined && this.sessions.has(key);
  }

  /** Ends sessions: forgets them and closes their cursors. */
  end(lsids: Document[]): void {
    for (const lsid of lsids) {
      const key = sessionKey(lsid);
      if (!key) continue;
      this.killCursorsOf(key);
      this.sessions.delete(key);
      this.transactionSessions.delete(key);
      this.endTransaction(lsid);
    }
  }

  /** Closes the cursors of the given sessions (all sessions when `lsids` is undefined). */
  kill(lsids: Document[] | undefined): void {
    const keys = lsids === undefined ? [...this.sessions.keys()] : lsids.map((lsid) => sessionKey(lsid));
    for (const key of keys) {
      if (!key) continue;
      this.killCursorsOf(key);
      const transaction = this.transactionSessions.get(key);
      if (transaction) this.endTransaction(transaction);
      this.transactionSessions.delete(key);
    }
  }

  markChangeStream(cursorId: Long): void {
    if (!cursorId.isZero()) this.changeStreamCursors.add(cursorId.toString());
  }

  isChangeStream(cursorId: unknown): boolean {
    return cursorId !== undefined && cursorId !== null && this.changeStreamCursors.has(String(cursorId));
  }

  add(make: (id: Long) => ServerCursor): ServerCursor {
    const cursor = this.cursors.add(make);
    const key = sessionKey(cursor.lsid);
    if (key) {
      this.touch(cursor.lsid);
      this.sessions.get(key)?.cursorIds.set(cursor.id.toString(), cursor.id);
      this.cursorOwners.set(cursor.id.toString(), key);
    }
    return cursor;
  }

  get(id: Long): ServerCursor | undefined {
    return this.cursors.get(id);
  }

  remove(id: Long): void {
    this.forget(id.toString());
    this.cursors.remove(id);
  }

  private forget(id: string): void {
    const owner = this.cursorOwners.get(id);
    if (owner) this.sessions.get(owner)?.cursorIds.delete(id);
    this.cursorOwners.delete(id);
    this.changeStreamCursors.delete(id);
  }

  private killCursorsOf(key: string): void {
    const record = this.sessions.get(key);
    if (!record) return;
    for (const [id, cursorId] of [...record.cursorIds]) {
      this.cursors.get(cursorId)?.close();
      this.cursors.remove(cursorId);
      this.forget(id);
    }
  }
}

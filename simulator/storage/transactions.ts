/**
 * Multi-document transactions. A transaction works on private copies of the collections it
 * touches (so it reads its own writes and a stable snapshot), buffers its oplog drafts, and on
 * commit applies its final document versions to the catalog and writes ONE `applyOps` entry.
 * A document changed by someone else since the transaction first saw it is a WriteConflict.
 */
import type { Document, Long } from 'bson';
import { CommandError, type OplogDraft, type OplogWriter, type SessionInfo } from '../contract.js';
import { type Catalog, validateCollectionName, validateDbName } from './catalog.js';
import { Collection, type CollectionOptions } from './collection.js';
import { valueKey } from './value-key.js';
import { createDraft, type WriteScope } from './write-scope.js';

type TransactionState = 'active' | 'committed' | 'aborted';

const TRANSIENT = ['TransientTransactionError'];

function writeConflict(): CommandError {
  return new CommandError(
    112,
    'WriteConflict',
    'Write conflict during plan execution and yielding is disabled. :: Please retry your operation or multi-document transaction.',
    TRANSIENT,
  );
}

function noSuchTransaction(txnNumber: Long | undefined, labels: string[] = TRANSIENT): CommandError {
  return new CommandError(
    251,
    'NoSuchTransaction',
    `Transaction with { txnNumber: ${txnNumber?.toString() ?? '?'} } has been aborted.`,
    labels,
  );
}

interface TouchedCollection {
  committed: Collection;
  copy: Collection;
  /** `_id` key → the committed version the transaction started from (undefined: absent). */
  firstSeen: Map<string, Document | undefined>;
}

/** Which active transaction has written a document (`ns` + `_id` key), shared by all transactions. */
type DocumentLocks = Map<string, Transaction>;

class Transaction implements WriteScope {
  private currentState: TransactionState = 'active';
  readonly drafts: OplogDraft[] = [];
  readonly touched = new Map<string, TouchedCollection>();
  /** Collections created inside the transaction: invisible to others until it commits. */
  readonly created = new Map<string, Collection>();
  private readonly held: string[] = [];

  constructor(
    readonly txnNumber: Long,
    readonly lsid: Document,
    private readonly catalog: Catalog,
    private readonly oplog: OplogWriter,
    private readonly locks: DocumentLocks,
  ) {}

  get state(): TransactionState {
    return this.currentState;
  }

  /** Ends the transaction and releases the documents it wrote. */
  finish(state: 'committed' | 'aborted'): void {
    this.currentState = state;
    for (const lock of this.held) if (this.locks.get(lock) === this) this.locks.delete(lock);
    this.held.length = 0;
  }

  collection(db: string, name: string): Collection | undefined {
    const ns = `${db}.${name}`;
    const pending = this.created.get(ns);
    if (pending) return pending;
    const known = this.touched.get(ns);
    if (known) return known.copy;
    const committed = this.catalog.get(db, name);
    if (!committed) return undefined;
    const copy = committed.clone();
    const firstSeen = new Map<string, Document | undefined>();
    copy.beforeWrite = (key, current) => {
      if (firstSeen.has(key)) return;
      // First writer wins: another open transaction's write, or a newer committed version, conflicts.
      const lock = `${ns}\0${key}`;
      const holder = this.locks.get(lock);
      if (holder && holder !== this && holder.state === 'active') throw writeConflict();
      if (committed.getByKey(key) !== current) throw writeConflict();
      this.locks.set(lock, this);
      this.held.push(lock);
      firstSeen.set(key, current);
    };
    this.touched.set(ns, { committed, copy, firstSeen });
    return copy;
  }

  ensureCollection(db: string, name: string): Collection {
    return this.collection(db, name) ?? this.createCollection(db, name);
  }

  /**
   * As on the server (4.4+), a collection created in a transaction exists only inside it until
   * the commit, which logs its `create` inside the transaction's applyOps.
   */
  createCollection(db: string, name: string, options: CollectionOptions = {}): Collection {
    validateDbName(db);
    validateCollectionName(db, name);
    if (this.collection(db, name)) {
      throw new CommandError(48, 'NamespaceExists', `Collection ${db}.${name} already exists.`);
    }
    const created = new Collection(db, name, undefined, options);
    this.created.set(created.ns, created);
    this.drafts.push(createDraft(created));
    return created;
  }

  emit(drafts: OplogDraft[]): void {
    this.drafts.push(...drafts);
  }

  /** Throws WriteConflict when the commit could not apply (a mongos's prepare phase asks this). */
  checkCommittable(): void {
    for (const created of this.created.values()) {
      if (this.catalog.get(created.db, created.name)) throw writeConflict();
    }
    for (const { committed, firstSeen } of this.touched.values()) {
      if (this.catalog.get(committed.db, committed.name) !== committed) throw writeConflict();
      for (const [key, version] of firstSeen) if (committed.getByKey(key) !== version) throw writeConflict();
    }
  }

  commit(): void {
    this.checkCommittable();
    for (const { committed, copy, firstSeen } of this.touched.values()) {
      for (const key of firstSeen.keys()) {
        const final = copy.getByKey(key);
        const current = committed.getByKey(key);
        if (final === undefined) {
          if (current !== undefined) committed.remove(current._id);
        } else if (current === undefined) committed.insert(final);
        else committed.replace(final);
      }
    }
    for (const created of this.created.values()) this.catalog.attach(created);
    if (this.drafts.length > 0) {
      const applyOps = this.drafts.map((draft) => {
        const op: Document = { op: draft.op, ns: draft.ns, ui: draft.ui, o: draft.o };
        if (draft.o2) op.o2 = draft.o2;
        if (draft.preImage) op.preImage = draft.preImage;
        return op;
      });
      this.oplog.append([
        { op: 'c', ns: 'admin.$cmd', o: { applyOps }, lsid: this.lsid, txnNumber: this.txnNumber },
      ]);
    }
    this.finish('committed');
  }
}

export class TransactionManager {
  private readonly bySession = new Map<string, Transaction>();
  private readonly locks: DocumentLocks = new Map();

  constructor(
    private readonly catalog: Catalog,
    private readonly oplog: OplogWriter,
  ) {}

  /** The write scope for a command inside a transaction (starting it when `startTransaction`). */
  scopeFor(session: SessionInfo): WriteScope {
    const { txnNumber } = session;
    if (txnNumber === undefined) {
      throw new CommandError(50768, 'Location50768', 'Transaction commands require a txnNumber');
    }
    const key = sessionKey(session.lsid);
    const current = this.bySession.get(key);
    if (session.startTransaction) {
      if (current?.txnNumber.greaterThan(txnNumber)) {
        throw new CommandError(
          225,
          'TransactionTooOld',
          `Cannot start transaction ${txnNumber} on session because a newer transaction ${current.txnNumber} has already started.`,
        );
      }
      if (current?.txnNumber.equals(txnNumber)) throw noSuchTransaction(txnNumber);
      if (current?.state === 'active') current.finish('aborted');
      const started = new Transaction(txnNumber, session.lsid, this.catalog, this.oplog, this.locks);
      this.bySession.set(key, started);
      return started;
    }
    if (current === undefined) throw noSuchTransaction(txnNumber);
    if (!current.txnNumber.equals(txnNumber) || current.state !== 'active')
      throw noSuchTransaction(txnNumber);
    return current;
  }

  /** A write failed inside the transaction: the server aborts it. */
  abortOnError(session: SessionInfo): void {
    const current = this.bySession.get(sessionKey(session.lsid));
    if (current && session.txnNumber && current.txnNumber.equals(session.txnNumber))
      current.finish('aborted');
  }

  commit(session: SessionInfo | undefined): void {
    const current = this.lookup(session);
    if (current.state === 'committed') return;
    if (current.state === 'aborted') throw noSuchTransaction(current.txnNumber);
    try {
      current.commit();
    } catch (error) {
      current.finish('aborted');
      throw error;
    }
  }

  /**
   * The prepare half of a cross-shard commit: the transaction must be open and able to commit
   * (else it is aborted and the error thrown). Nothing runs between prepare and commit here.
   */
  prepare(session: SessionInfo | undefined): void {
    const current = this.lookup(session);
    if (current.state === 'committed') return;
    if (current.state === 'aborted') throw noSuchTransaction(current.txnNumber);
    try {
      current.checkCommittable();
    } catch (error) {
      current.finish('aborted');
      throw error;
    }
  }

  abort(session: SessionInfo | undefined): void {
    const current = this.lookup(session);
    if (current.state === 'committed') {
      throw new CommandError(256, 'TransactionCommitted', 'Transaction has been committed.');
    }
    if (current.state === 'aborted') throw noSuchTransaction(current.txnNumber, []);
    current.finish('aborted');
  }

  /** The state of a session's transaction `txnNumber`, if this member knows it. */
  stateOf(lsid: Document, txnNumber: Long): TransactionState | undefined {
    const current = this.bySession.get(sessionKey(lsid));
    return current?.txnNumber.equals(txnNumber) ? current.state : undefined;
  }

  /** Forgets a session's transaction (endSessions / killSessions). */
  endSession(lsid: Document): void {
    const current = this.bySession.get(sessionKey(lsid));
    if (current?.state === 'active') current.finish('aborted');
    this.bySession.delete(sessionKey(lsid));
  }

  private lookup(session: SessionInfo | undefined): Transaction {
    if (!session?.txnNumber) {
      throw new CommandError(
        50768,
        'Location50768',
        'Transaction commands require a session and a txnNumber',
      );
    }
    const current = this.bySession.get(sessionKey(session.lsid));
    if (current === undefined) throw noSuchTransaction(session.txnNumber);
    if (!current.txnNumber.equals(session.txnNumber)) throw noSuchTransaction(session.txnNumber);
    return current;
  }
}

/** One key per logical session id. */
export function sessionKey(lsid: Document): string {
  return valueKey(lsid.id ?? lsid);
}

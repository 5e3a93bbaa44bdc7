import { type Document, type MongoClient, ObjectId } from 'mongodb';
import { classifyError } from '../../functions/core/classify.js';
import type { TableSpec } from '../engines/support.js';
import { seededRandom } from '../support/seeded-random.js';

export type IdKind = 'objectId' | 'int' | 'string' | 'compound';

export interface LoadCollection extends TableSpec {
  idKind: IdKind;
}

export interface LoadCounts {
  inserts: number;
  updates: number;
  replaces: number;
  deletes: number;
  /** Inserts that reuse the `_id` of a document deleted earlier. */
  reinserts: number;
  transactions: number;
  /**
   * Operations cut by a transient error the driver did not ride through (a connection reset
   * twice in a row, say): applied or not, MongoDB is the truth the tables are compared with.
   */
  interrupted: number;
}

/** Relative weights of the operations a load makes (they need not sum to 1). */
export interface OperationMix {
  insert: number;
  update: number;
  replace: number;
  delete: number;
  reinsert: number;
  transaction: number;
}

type SingleOperation = Exclude<keyof OperationMix, 'transaction'>;

/** Inserts, updates, replaces and deletes, a tenth of them in multi-document transactions. */
export const DEFAULT_MIX: OperationMix = {
  insert: 0.25,
  update: 0.3,
  replace: 0.17,
  delete: 0.18,
  reinsert: 0,
  transaction: 0.1,
};

export interface WriteLoadOptions {
  seed?: number;
  mix?: OperationMix;
  /** Makes inserted, reinserted and replacing documents (default: small sample documents). */
  makeDocument?: DocumentFactory;
}

let idCounter = 1_000_000;

export function newId(kind: IdKind): unknown {
  idCounter += 1;
  switch (kind) {
    case 'objectId':
      return new ObjectId();
    case 'int':
      return idCounter;
    case 'string':
      return `key-${idCounter.toString(36)}`;
    case 'compound':
      return { region: ['eu', 'us', 'ap'][idCounter % 3], seq: idCounter };
  }
}

export function sampleDocument(id: unknown, n: number): Document {
  return {
    _id: id,
    name: `item ${n}`,
    n,
    price: n + 0.25,
    tags: [`t${n % 7}`, `t${n % 3}`],
    nested: { level: n % 5, label: `l-${n}`, deeper: { flag: n % 2 === 0 } },
  };
}

export type DocumentFactory = (id: unknown, n: number) => Document;

/** Seeds each collection with `perCollection` documents; returns the ids inserted per collection. */
export async function seedCollections(
  mongo: MongoClient,
  collections: readonly LoadCollection[],
  perCollection: number,
  makeDocument: DocumentFactory = sampleDocument,
): Promise<Map<string, unknown[]>> {
  const ids = new Map<string, unknown[]>();
  for (const collection of collections) {
    const documents = Array.from({ length: perCollection }, (_, n) =>
      makeDocument(newId(collection.idKind), n),
    );
    const target = mongo.db(collection.db).collection(collection.coll);
    // Batches of at most ~8 MB, so large documents seed too.
    for (let start = 0; start < documents.length; ) {
      let end = start;
      let bytes = 0;
      while (end < documents.length && (end === start || bytes < 8_000_000)) {
        bytes += JSON.stringify(documents[end]).length;
        end += 1;
      }
      await target.insertMany(documents.slice(start, end));
      start = end;
    }
    ids.set(
      collection.coll,
      documents.map((document) => document._id),
    );
  }
  return ids;
}

/**
 * Writes through the real driver until stopped: inserts, $set/$inc/$unset/$push updates,
 * replaces, deletes, reinserts of deleted `_id`s and multi-document transactions that touch
 * several collections (sometimes the same `_id` twice, so a transaction's events for one key
 * must collapse to its last), in the proportions of an operation mix.
 */
export class WriteLoad {
  readonly counts: LoadCounts = {
    inserts: 0,
    updates: 0,
    replaces: 0,
    deletes: 0,
    reinserts: 0,
    transactions: 0,
    interrupted: 0,
  };
  private stopping = false;
  private running: Promise<void> | null = null;
  private readonly random: () => number;
  private readonly mix: OperationMix;
  private readonly makeDocument: DocumentFactory;
  private readonly deleted = new Map<string, unknown[]>();

  constructor(
    private readonly mongo: MongoClient,
    private readonly collections: readonly LoadCollection[],
    private readonly ids: Map<string, unknown[]>,
    seedOrOptions: number | WriteLoadOptions = 42,
  ) {
    const options = typeof seedOrOptions === 'number' ? { seed: seedOrOptions } : seedOrOptions;
    this.random = seededRandom(options.seed ?? 42);
    this.mix = options.mix ?? DEFAULT_MIX;
    this.makeDocument = options.makeDocument ?? sampleDocument;
  }

  start(maxOperations = 100_000): void {
    this.running = this.loop(maxOperations);
  }

  async stop(): Promise<LoadCounts> {
    this.stopping = true;
    await this.running;
    return this.counts;
  }

  /** Runs `count` operations now (no concurrency), e.g. between two CDC batches. */
  async burst(count: number): Promise<void> {
    for (let op = 0; op < count; op += 1) await this.operation();
  }

  private async loop(maxOperations: number): Promise<void> {
    for (let op = 0; op < maxOperations && !this.stopping; op += 1) await this.operation();
  }

  private pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)] as T;
  }

  private pickOperation(exclude: readonly (keyof OperationMix)[] = []): keyof OperationMix {
    const entries = (Object.entries(this.mix) as [keyof OperationMix, number][]).filter(
      ([kind, weight]) => weight > 0 && !exclude.includes(kind),
    );
    const total = entries.reduce((sum, [, weight]) => sum + weight, 0);
    let roll = this.random() * total;
    for (const [kind, weight] of entries) {
      roll -= weight;
      if (roll < 0) return kind;
    }
    return entries.at(-1)?.[0] ?? 'insert';
  }

  private async operation(): Promise<void> {
    const kind = this.pickOperation();
    try {
      if (kind === 'transaction') await this.transaction();
      else await this.single(this.pick(this.collections), kind);
    } catch (error) {
      if (classifyError(error).disposition !== 'retry') throw error;
      this.counts.interrupted += 1;
    }
  }

  private async single(
    collection: LoadCollection,
    kind: SingleOperation,
    session?: import('mongodb').ClientSession,
  ): Promise<void> {
    const target = this.mongo.db(collection.db).collection(collection.coll);
    const ids = this.ids.get(collection.coll) ?? [];
    const deleted = this.deleted.get(collection.coll) ?? [];
    this.deleted.set(collection.coll, deleted);
    const n = Math.floor(this.random() * 1_000_000);
    if (kind === 'reinsert' && deleted.length > 0) {
      const id = deleted.splice(Math.floor(this.random() * deleted.length), 1)[0];
      await target.insertOne(this.makeDocument(id, n), { session });
      ids.push(id);
      this.counts.reinserts += 1;
      return;
    }
    if (kind === 'insert' || kind === 'reinsert' || ids.length === 0) {
      const id = newId(collection.idKind);
      await target.insertOne(this.makeDocument(id, n), { session });
      ids.push(id);
      this.counts.inserts += 1;
      return;
    }
    const index = Math.floor(this.random() * ids.length);
    const id = ids[index];
    if (kind === 'update') {
      const update =
        n % 4 === 0
          ? { $unset: { tags: '' }, $inc: { n: 1 } }
          : n % 4 === 1
            ? { $push: { log: n }, $set: { 'nested.level': n % 11 } }
            : { $set: { name: `updated ${n}`, 'nested.level': n % 11 }, $inc: { n: 1 } };
      await target.updateOne({ _id: id as never }, update as never, { session });
      this.counts.updates += 1;
    } else if (kind === 'replace') {
      const { _id, ...replacement } = this.makeDocument(id, n);
      await target.replaceOne({ _id: id as never }, { ...replacement, replaced: true }, { session });
      this.counts.replaces += 1;
    } else {
      await target.deleteOne({ _id: id as never }, { session });
      ids.splice(index, 1);
      deleted.push(id);
      this.counts.deletes += 1;
    }
  }

  private async transaction(): Promise<void> {
    const session = this.mongo.startSession();
    try {
      await session.withTransaction(async () => {
        const touched = 2 + Math.floor(this.random() * 3);
        for (let op = 0; op < touched; op += 1) {
          const kind = this.pickOperation(['transaction', 'reinsert']) as SingleOperation;
          await this.single(this.pick(this.collections), kind, session);
        }
        const collection = this.pick(this.collections);
        const ids = this.ids.get(collection.coll) ?? [];
        const id = ids.at(-1);
        if (id !== undefined) {
          // The same key twice in one transaction: both events share one cluster time.
          const target = this.mongo.db(collection.db).collection(collection.coll);
          await target.updateOne({ _id: id as never }, { $set: { inTxn: 1 } }, { session });
          await target.updateOne({ _id: id as never }, { $set: { inTxn: 2 } }, { session });
        }
      });
      this.counts.transactions += 1;
    } finally {
      await session.endSession();
    }
  }
}

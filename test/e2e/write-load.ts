import { type Document, type MongoClient, ObjectId } from 'mongodb';
import type { TableSpec } from '../engines/support.js';

export type IdKind = 'objectId' | 'int' | 'string' | 'compound';

export interface LoadCollection extends TableSpec {
  idKind: IdKind;
}

export interface LoadCounts {
  inserts: number;
  updates: number;
  replaces: number;
  deletes: number;
  transactions: number;
}

/** A small deterministic PRNG, so a failing run can be replayed. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
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

/** Seeds each collection with `perCollection` documents; returns the ids inserted per collection. */
export async function seedCollections(
  mongo: MongoClient,
  collections: readonly LoadCollection[],
  perCollection: number,
): Promise<Map<string, unknown[]>> {
  const ids = new Map<string, unknown[]>();
  for (const collection of collections) {
    const documents = Array.from({ length: perCollection }, (_, n) =>
      sampleDocument(newId(collection.idKind), n),
    );
    const target = mongo.db(collection.db).collection(collection.coll);
    for (let start = 0; start < documents.length; start += 500) {
      await target.insertMany(documents.slice(start, start + 500));
    }
    ids.set(
      collection.coll,
      documents.map((document) => document._id),
    );
  }
  return ids;
}

/**
 * Writes through the real driver until stopped: inserts, $set/$inc updates, replaces, deletes
 * and multi-document transactions that touch several collections (sometimes the same `_id`
 * twice, so a transaction's events for one key must collapse to its last).
 */
export class WriteLoad {
  readonly counts: LoadCounts = { inserts: 0, updates: 0, replaces: 0, deletes: 0, transactions: 0 };
  private stopping = false;
  private running: Promise<void> | null = null;
  private readonly random: () => number;

  constructor(
    private readonly mongo: MongoClient,
    private readonly collections: readonly LoadCollection[],
    private readonly ids: Map<string, unknown[]>,
    seed = 42,
  ) {
    this.random = prng(seed);
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

  private async operation(): Promise<void> {
    const roll = this.random();
    if (roll < 0.1) return this.transaction();
    const collection = this.pick(this.collections);
    await this.single(collection, roll);
  }

  private async single(collection: LoadCollection, roll: number, session?: import('mongodb').ClientSession) {
    const target = this.mongo.db(collection.db).collection(collection.coll);
    const ids = this.ids.get(collection.coll) ?? [];
    const n = Math.floor(this.random() * 1_000_000);
    if (roll < 0.35 || ids.length === 0) {
      const id = newId(collection.idKind);
      await target.insertOne(sampleDocument(id, n), { session });
      ids.push(id);
      this.counts.inserts += 1;
      return;
    }
    const index = Math.floor(this.random() * ids.length);
    const id = ids[index];
    if (roll < 0.65) {
      await target.updateOne(
        { _id: id as never },
        { $set: { name: `updated ${n}`, 'nested.level': n % 11 }, $inc: { n: 1 } },
        { session },
      );
      this.counts.updates += 1;
    } else if (roll < 0.82) {
      await target.replaceOne(
        { _id: id as never },
        { replaced: true, n, list: [n, `${n}`, { k: n }] },
        { session },
      );
      this.counts.replaces += 1;
    } else {
      await target.deleteOne({ _id: id as never }, { session });
      ids.splice(index, 1);
      this.counts.deletes += 1;
    }
  }

  private async transaction(): Promise<void> {
    const session = this.mongo.startSession();
    try {
      await session.withTransaction(async () => {
        const touched = 2 + Math.floor(this.random() * 3);
        for (let op = 0; op < touched; op += 1) {
          await this.single(this.pick(this.collections), 0.35 + this.random() * 0.65, session);
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

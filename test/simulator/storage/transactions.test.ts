import { BSON, type Document } from 'bson';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StorageHarness, startStorageHarness } from './harness.js';

let h: StorageHarness;

beforeAll(async () => {
  h = await startStorageHarness();
});

afterAll(async () => {
  await h?.stop();
});

describe('multi-document transactions', () => {
  it('commits all writes at once as one applyOps entry with lsid and txnNumber', async () => {
    const db = h.client.db('txn_commit');
    const coll = db.collection('t');
    await coll.insertOne({ _id: 1, v: 0 } as never);
    const session = h.client.startSession();
    try {
      await session.withTransaction(async () => {
        await coll.insertOne({ _id: 2, v: 1 } as never, { session });
        await coll.updateOne({ _id: 1 } as never, { $set: { v: 5 } }, { session });
        // The transaction reads its own writes; others do not see them yet.
        expect(await coll.findOne({ _id: 1 } as never, { session })).toEqual({ _id: 1, v: 5 });
        expect(await coll.countDocuments({}, { session })).toBe(2);
        expect(await coll.findOne({ _id: 1 } as never)).toEqual({ _id: 1, v: 0 });
        expect(await coll.countDocuments()).toBe(1);
      });
    } finally {
      await session.endSession();
    }
    expect(await coll.find().sort({ _id: 1 }).toArray()).toEqual([
      { _id: 1, v: 5 },
      { _id: 2, v: 1 },
    ]);
    const entries = h.rs.deployment.oplog.all();
    const last = entries[entries.length - 1];
    expect(last).toMatchObject({ op: 'c', ns: 'admin.$cmd' });
    expect(last?.lsid).toBeDefined();
    expect(last?.txnNumber).toBeDefined();
    const ops = last?.o.applyOps as { op: string; ns: string; o: unknown; o2?: unknown }[];
    expect(ops.map((op) => [op.op, op.ns])).toEqual([
      ['i', 'txn_commit.t'],
      ['u', 'txn_commit.t'],
    ]);
    const plain = (value: unknown) => BSON.deserialize(BSON.serialize(value as Document));
    expect(plain(ops[1]?.o)).toEqual({ $v: 2, diff: { u: { v: 5 } } });
    expect(plain(ops[1]?.o2)).toEqual({ _id: 1 });
  });

  it('discards everything on abort and writes nothing to the oplog', async () => {
    const coll = h.client.db('txn_abort').collection('t');
    await coll.insertOne({ _id: 1 } as never);
    const before = h.rs.deployment.oplog.all().length;
    const session = h.client.startSession();
    try {
      session.startTransaction();
      await coll.insertOne({ _id: 2 } as never, { session });
      await coll.deleteOne({ _id: 1 } as never, { session });
      await session.abortTransaction();
    } finally {
      await session.endSession();
    }
    expect(await coll.find().toArray()).toEqual([{ _id: 1 }]);
    expect(h.rs.deployment.oplog.all().length).toBe(before);
  });

  it('fails a transactional write on a document changed outside with a transient WriteConflict', async () => {
    const coll = h.client.db('txn_conflict').collection('t');
    await coll.insertOne({ _id: 1, v: 0 } as never);
    const session = h.client.startSession();
    try {
      session.startTransaction();
      // First read takes the transaction's snapshot of the collection.
      expect(await coll.findOne({ _id: 1 } as never, { session })).toEqual({ _id: 1, v: 0 });
      await coll.updateOne({ _id: 1 } as never, { $set: { v: 1 } });
      const error = await coll
        .updateOne({ _id: 1 } as never, { $set: { v: 2 } }, { session })
        .catch((e: { code?: number; hasErrorLabel?: (l: string) => boolean }) => e);
      expect(error).toMatchObject({ code: 112 });
      expect(
        (error as { hasErrorLabel(l: string): boolean }).hasErrorLabel('TransientTransactionError'),
      ).toBe(true);
      await session.abortTransaction().catch(() => undefined);
    } finally {
      await session.endSession();
    }
    expect(await coll.findOne({ _id: 1 } as never)).toEqual({ _id: 1, v: 1 });
  });

  it('lets the first of two open transactions writing one document win', async () => {
    const coll = h.client.db('txn_two').collection('t');
    await coll.insertOne({ _id: 1, v: 0 } as never);
    const first = h.client.startSession();
    const second = h.client.startSession();
    try {
      first.startTransaction();
      second.startTransaction();
      await coll.updateOne({ _id: 1 } as never, { $set: { v: 1 } }, { session: first });
      await expect(
        coll.updateOne({ _id: 1 } as never, { $set: { v: 2 } }, { session: second }),
      ).rejects.toMatchObject({
        code: 112,
        codeName: 'WriteConflict',
      });
      await second.abortTransaction().catch(() => undefined);
      await first.commitTransaction();
    } finally {
      await first.endSession();
      await second.endSession();
    }
    expect(await coll.findOne({ _id: 1 } as never)).toEqual({ _id: 1, v: 1 });
  });

  it('answers NoSuchTransaction for a commit of an unknown transaction', async () => {
    const admin = h.client.db('admin');
    const session = h.client.startSession();
    try {
      const error = await admin
        .command({ commitTransaction: 1, txnNumber: 42n as never, autocommit: false }, { session })
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 251, codeName: 'NoSuchTransaction' });
    } finally {
      await session.endSession();
    }
  });
});

describe('transactions: server rules the specification tests check', () => {
  it('keeps a collection created in a transaction invisible until the commit logs its create', async () => {
    const db = h.client.db('txn_create');
    const session = h.client.startSession();
    try {
      session.startTransaction();
      await db.collection('fresh').insertOne({ _id: 1 } as never, { session });
      await db.collection('fresh').createIndex({ x: 1 }, { session, name: 'x_1' });
      expect(await db.listCollections({ name: 'fresh' }).toArray()).toEqual([]);
      await session.commitTransaction();
    } finally {
      await session.endSession();
    }
    const indexes = await db.collection('fresh').listIndexes().toArray();
    expect(indexes.map((index) => index.name)).toEqual(['_id_', 'x_1']);
    const last = h.rs.deployment.oplog.all().at(-1);
    const ops = last?.o.applyOps as { op: string; o: Document }[];
    expect(ops.map((op) => Object.keys(op.o)[0])).toEqual(['create', '_id', 'createIndexes']);
  });

  it('refuses commands outside the transaction allowlist with 263', async () => {
    const coll = h.client.db('txn_count').collection('t');
    const session = h.client.startSession();
    try {
      session.startTransaction();
      await expect(coll.countDocuments({}, { session })).resolves.toBe(0);
      await expect(coll.count({}, { session })).rejects.toMatchObject({
        code: 263,
        codeName: 'OperationNotSupportedInTransaction',
      });
      await session.abortTransaction();
    } finally {
      await session.endSession();
    }
  });

  it('commits but reports UnsatisfiableWriteConcern when w exceeds the data-bearing members', async () => {
    const coll = h.client.db('txn_wc').collection('t');
    const session = h.client.startSession();
    try {
      session.startTransaction({ writeConcern: { w: 10 } });
      await coll.insertOne({ _id: 1 } as never, { session });
      await expect(session.commitTransaction()).rejects.toMatchObject({ code: 100 });
    } finally {
      await session.endSession();
    }
    expect(await coll.find().toArray()).toEqual([{ _id: 1 }]);
  });
});

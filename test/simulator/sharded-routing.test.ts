/**
 * The sharded cluster through the real driver: mongos answers as a mongos, documents land on
 * the shard owning their `_id` (hashed and ranged), reads gather every shard and merge in the
 * order asked, and writes and transactions span shards.
 */
import { Double, MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ShardedClusterHandle, startShardedCluster } from '../../simulator/index.js';

let cluster: ShardedClusterHandle;
let client: MongoClient;

beforeAll(async () => {
  cluster = await startShardedCluster({ shards: 2, membersPerShard: 3, mongos: 2, noopIntervalMs: 100 });
  client = new MongoClient(cluster.uri, { serverSelectionTimeoutMS: 5_000 });
  await client.connect();
});

afterAll(async () => {
  await client?.close();
  await cluster?.stop();
});

/** The `_id`s each shard holds for `db.coll`, read from the shards themselves. */
function idsPerShard(db: string, coll: string): unknown[][] {
  return cluster.shards.map((shard) => {
    const collection = shard.deployment.catalog.get(db, coll);
    return collection ? [...collection.scanById(1)].map((entry) => entry.id) : [];
  });
}

describe('mongos', () => {
  it('answers hello as a mongos and the driver sees a sharded topology of both routers', async () => {
    const hello = await client.db('admin').command({ hello: 1 });
    expect(hello.msg).toBe('isdbgrid');
    expect(hello.setName).toBeUndefined();
    expect(hello.isWritablePrimary).toBe(true);
    const description = (
      client as unknown as { topology: { description: { type: string; servers: Map<string, unknown> } } }
    ).topology.description;
    expect(description.type).toBe('Sharded');
    expect(description.servers.size).toBe(2);
    const status = await client.db('admin').command({ serverStatus: 1 });
    expect(status.process).toBe('mongos');
    expect(status.repl).toBeUndefined();
    await expect(client.db('admin').command({ replSetGetStatus: 1 })).rejects.toMatchObject({ code: 59 });
  });

  it('routes each document to the shard that owns its hashed _id', async () => {
    const coll = client.db('routing').collection<{ _id: unknown; [key: string]: unknown }>('hashed');
    await coll.insertMany(Array.from({ length: 40 }, (_, i) => ({ _id: i, v: i })));
    const held = idsPerShard('routing', 'hashed');
    expect(held[0]?.length).toBeGreaterThan(0);
    expect(held[1]?.length).toBeGreaterThan(0);
    expect((held[0]?.length ?? 0) + (held[1]?.length ?? 0)).toBe(40);
    for (const [shard, ids] of held.entries()) {
      for (const id of ids) expect(cluster.shardOf('routing.hashed', id)).toBe(shard);
    }
  });

  it('targets the same shard for an _id whatever its numeric BSON type', async () => {
    const coll = client.db('routing').collection<{ _id: unknown; [key: string]: unknown }>('hashed');
    for (let id = 0; id < 10; id += 1) {
      const result = await coll.updateOne({ _id: new Double(id) }, { $set: { viaDouble: true } });
      expect(result.modifiedCount).toBe(1);
    }
    expect(await coll.countDocuments({ viaDouble: true })).toBe(10);
  });

  it('routes by ranges between split points', async () => {
    cluster.shardCollection('routing.ranged', { kind: 'ranged', splitPoints: [10, 20] });
    const coll = client.db('routing').collection<{ _id: unknown; [key: string]: unknown }>('ranged');
    await coll.insertMany(Array.from({ length: 30 }, (_, i) => ({ _id: i })));
    const [first, second] = idsPerShard('routing', 'ranged');
    // Chunks [MinKey,10) and [20,MaxKey) go to shard 0, [10,20) to shard 1.
    expect(second?.map(Number)).toEqual(Array.from({ length: 10 }, (_, i) => i + 10));
    expect(first?.map(Number)).toEqual([
      ...Array.from({ length: 10 }, (_, i) => i),
      ...Array.from({ length: 10 }, (_, i) => i + 20),
    ]);
  });

  it('gathers reads from every shard and merges them in sort order', async () => {
    const coll = client.db('routing').collection<{ _id: unknown; [key: string]: unknown }>('hashed');
    const descending = await coll
      .find({ v: { $gte: 5 } })
      .sort({ v: -1 })
      .toArray();
    expect(descending.map((doc) => doc.v)).toEqual(Array.from({ length: 35 }, (_, i) => 39 - i));
    const page = await coll.find({}).sort({ _id: 1 }).skip(10).limit(5).batchSize(2).toArray();
    expect(page.map((doc) => doc._id)).toEqual([10, 11, 12, 13, 14]);
    expect(await coll.countDocuments({ v: { $lt: 10 } })).toBe(10);
    const grouped = await coll.aggregate([{ $group: { _id: null, total: { $sum: '$v' } } }]).toArray();
    expect(grouped).toEqual([{ _id: null, total: 780 }]);
  });

  it('keeps a find cursor open across writes between its batches', async () => {
    const coll = client.db('routing').collection<{ _id: unknown; [key: string]: unknown }>('hashed');
    const cursor = coll.find({}).sort({ _id: 1 }).batchSize(5);
    const seen: unknown[] = [];
    for (let index = 0; index < 40; index += 1) {
      const doc = await cursor.next();
      seen.push(doc?._id);
      if (index % 10 === 0) await coll.updateOne({ _id: 39 - index } as never, { $set: { touched: index } });
    }
    await cursor.close();
    expect(seen.map(Number)).toEqual(Array.from({ length: 40 }, (_, i) => i));
  });

  it('updates and deletes on every shard, one document or many', async () => {
    const coll = client.db('routing').collection<{ _id: unknown; [key: string]: unknown }>('writes');
    await coll.insertMany(Array.from({ length: 20 }, (_, i) => ({ _id: i, group: i % 2 })));
    expect((await coll.updateMany({ group: 1 }, { $set: { odd: true } })).modifiedCount).toBe(10);
    expect((await coll.updateOne({ group: 0 }, { $set: { picked: true } })).modifiedCount).toBe(1);
    expect(await coll.countDocuments({ picked: true })).toBe(1);
    const upserted = await coll.updateOne({ name: 'new' }, { $set: { group: 9 } }, { upsert: true });
    const id = upserted.upsertedId;
    expect(idsPerShard('routing', 'writes')[cluster.shardOf('routing.writes', id)]).toContainEqual(id);
    expect((await coll.deleteMany({ odd: true })).deletedCount).toBe(10);
    expect(await coll.countDocuments()).toBe(11);
  });

  it('commits a transaction across shards atomically, and aborts it entirely', async () => {
    const coll = client.db('routing').collection<{ _id: unknown; [key: string]: unknown }>('transfers');
    const ids = [1, 2, 3, 4, 5, 6];
    const owners = new Set(ids.map((id) => cluster.shardOf('routing.transfers', id)));
    expect(owners.size).toBe(2);
    const session = client.startSession();
    try {
      session.startTransaction();
      await coll.insertMany(
        ids.map((_id) => ({ _id })),
        { session },
      );
      expect(await coll.countDocuments({}, { session })).toBe(6);
      expect(await coll.countDocuments({})).toBe(0);
      await session.commitTransaction();
      session.startTransaction();
      await coll.deleteMany({}, { session });
      await session.abortTransaction();
    } finally {
      await session.endSession();
    }
    expect(await coll.countDocuments()).toBe(6);
    const last = cluster.shards.map((shard) => shard.deployment.oplog.all().at(-1));
    expect(last.filter((entry) => entry?.o.applyOps !== undefined)).toHaveLength(2);
  });

  it('commits a cross-shard transaction on no shard when one participant cannot commit', async () => {
    const coll = client.db('routing').collection<{ _id: unknown; [key: string]: unknown }>('prepared');
    const ids = Array.from({ length: 10 }, (_, i) => i);
    const onFirst = ids.find((id) => cluster.shardOf('routing.prepared', id) === 0) as number;
    const onSecond = ids.find((id) => cluster.shardOf('routing.prepared', id) === 1) as number;
    await coll.insertMany([
      { _id: onFirst, v: 0 },
      { _id: onSecond, v: 0 },
    ]);
    const session = client.startSession();
    try {
      session.startTransaction();
      await coll.updateOne({ _id: onFirst } as never, { $set: { v: 1 } }, { session });
      await coll.updateOne({ _id: onSecond } as never, { $set: { v: 1 } }, { session });
      // A write outside the transaction changes the second document first.
      await coll.updateOne({ _id: onSecond } as never, { $set: { v: 2 } });
      const failure = await session.commitTransaction().then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(failure).toMatchObject({ code: 112 });
      expect((failure as { errorLabels?: string[] }).errorLabels).toContain('TransientTransactionError');
    } finally {
      await session.endSession();
    }
    expect(await coll.findOne({ _id: onFirst } as never)).toMatchObject({ v: 0 });
    expect(await coll.findOne({ _id: onSecond } as never)).toMatchObject({ v: 2 });
  });
});

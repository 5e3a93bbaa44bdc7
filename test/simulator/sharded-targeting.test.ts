/**
 * The sharded cluster's mongos targets a `find` by the `_id` shard key as a real mongos does
 * (a range inside one shard's chunks goes to that shard alone; a hashed key's range goes to
 * every shard), and serves `config.collections` / `config.chunks` in the 5.0+ format.
 */
import { type Document, MaxKey, MinKey, MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ShardedClusterHandle, startShardedCluster } from '../../simulator/index.js';

let cluster: ShardedClusterHandle;
let client: MongoClient;

beforeAll(async () => {
  cluster = await startShardedCluster({ shards: 2, membersPerShard: 1, mongos: 1, noopIntervalMs: 100 });
  client = new MongoClient(cluster.uri, { serverSelectionTimeoutMS: 5_000 });
  await client.connect();
  // Chunks [MinKey,100) and [200,MaxKey) on shard 0, [100,200) on shard 1.
  cluster.shardCollection('target.ranged', { kind: 'ranged', splitPoints: [100, 200] });
  await client
    .db('target')
    .collection<{ _id: number }>('ranged')
    .insertMany(Array.from({ length: 300 }, (_, i) => ({ _id: i })));
  await client
    .db('target')
    .collection<{ _id: number }>('hashed')
    .insertMany(Array.from({ length: 50 }, (_, i) => ({ _id: i })));
});

afterAll(async () => {
  await client?.close();
  await cluster?.stop();
});

/** The `find`s each shard receives while `read` runs. */
async function findsPerShard(read: () => Promise<unknown>): Promise<number[]> {
  const before = cluster.shards.map((_, index) => finds(index));
  await read();
  return cluster.shards.map((_, index) => finds(index) - (before[index] as number));
}

function finds(shard: number): number {
  return cluster.router.shard(shard).commandsReceived.get('find') ?? 0;
}

describe('find through the mongos', () => {
  const ranged = () => client.db('target').collection<{ _id: number }>('ranged');

  it('sends a range inside one chunk to its shard alone, and one across shards to both', async () => {
    let inside: unknown[] = [];
    expect(
      await findsPerShard(async () => {
        inside = await ranged()
          .find({ _id: { $gte: 120, $lt: 180 } })
          .sort({ _id: 1 })
          .toArray();
      }),
    ).toEqual([0, 1]);
    expect(inside.map((doc) => (doc as { _id: number })._id)).toEqual(
      Array.from({ length: 60 }, (_, i) => 120 + i),
    );
    expect(await findsPerShard(() => ranged().find({ _id: 250 }).toArray())).toEqual([1, 0]);
    let across: unknown[] = [];
    expect(
      await findsPerShard(async () => {
        across = await ranged()
          .find({ _id: { $gte: 50, $lt: 150 } })
          .toArray();
      }),
    ).toEqual([1, 1]);
    expect(across).toHaveLength(100);
  });

  it('targets an open end widened with $type (a snapshot partition) to the chunks it reaches', async () => {
    const firstPartition: Document = { $or: [{ _id: { $lt: 100 } }, { _id: { $type: ['minKey', 'null'] } }] };
    expect(await findsPerShard(() => ranged().find(firstPartition).toArray())).toEqual([1, 0]);
    const lastOfShard1: Document = {
      $and: [
        { _id: { $gte: 100, $lt: 200 } },
        { $or: [{ _id: { $gt: 150 } }, { _id: { $type: ['string', 'object', 'objectId'] } }] },
      ],
    };
    let rest: unknown[] = [];
    expect(
      await findsPerShard(async () => {
        rest = await ranged().find(lastOfShard1).toArray();
      }),
    ).toEqual([0, 1]);
    expect(rest).toHaveLength(49);
  });

  it('sends a hashed key range to every shard, an equality to its owner only', async () => {
    const hashed = client.db('target').collection<{ _id: number }>('hashed');
    expect(await findsPerShard(() => hashed.find({ _id: { $gte: 10, $lt: 20 } }).toArray())).toEqual([1, 1]);
    const owner = cluster.shardOf('target.hashed', 7);
    const counts = await findsPerShard(() => hashed.find({ _id: 7 }).toArray());
    expect(counts[owner]).toBe(1);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(1);
  });

  it('sends a range bounded by MinKey or MaxKey, which match every type, to every shard', async () => {
    for (const filter of [
      { $lt: new MaxKey() },
      { $lte: new MaxKey() },
      { $gt: new MinKey() },
      { $gte: new MinKey() },
    ]) {
      let found: unknown[] = [];
      const counts = await findsPerShard(async () => {
        found = await ranged()
          .find({ _id: filter as unknown as number })
          .toArray();
      });
      expect({ filter, counts, found: found.length }).toEqual({ filter, counts: [1, 1], found: 300 });
    }
  });

  it('sends a regex on _id, which matches strings wherever they sort, to every shard', async () => {
    // Chunks [MinKey,'m') on shard 0 and ['m',MaxKey) on shard 1; a regex sorts above every string.
    cluster.shardCollection('target.words', { kind: 'ranged', splitPoints: ['m'] });
    const words = client.db('target').collection<{ _id: string }>('words');
    await words.insertMany(['apple', 'banana', 'melon', 'pear', 'xylophone'].map((_id) => ({ _id })));
    const ids = async (filter: Document) => {
      let found: { _id: string }[] = [];
      const counts = await findsPerShard(async () => {
        found = await words.find(filter).sort({ _id: 1 }).toArray();
      });
      return { counts, ids: found.map((doc) => doc._id) };
    };
    expect(await ids({ _id: /p/ })).toEqual({ counts: [1, 1], ids: ['apple', 'pear', 'xylophone'] });
    expect(await ids({ _id: { $in: [/^a/, 'zebra'] } })).toEqual({ counts: [1, 1], ids: ['apple'] });
    expect(await ids({ _id: { $in: ['banana', 'zebra'] } })).toEqual({ counts: [1, 1], ids: ['banana'] });
    expect(await ids({ _id: 'pear' })).toEqual({ counts: [0, 1], ids: ['pear'] });
  });

  it('sends a regex on a hashed _id to every shard rather than to the shard its hash names', async () => {
    const hashedWords = client.db('target').collection<{ _id: string }>('hashedWords');
    await hashedWords.insertMany(Array.from({ length: 20 }, (_, i) => ({ _id: `s${i}` })));
    for (const filter of [{ _id: /^s/ }, { _id: { $in: [/^s/] } }]) {
      let found: unknown[] = [];
      const counts = await findsPerShard(async () => {
        found = await hashedWords.find(filter).toArray();
      });
      expect({ counts, found: found.length }).toEqual({ counts: [1, 1], found: 20 });
    }
  });

  it('sends an update or delete with a regex on _id to every shard, not to the one its hash names', async () => {
    const regexWrites = client.db('target').collection<{ _id: string; seen?: number }>('regexWrites');
    await regexWrites.insertMany(Array.from({ length: 20 }, (_, i) => ({ _id: `w${i}` })));
    const updated = await regexWrites.updateMany({ _id: /^w/ }, { $set: { seen: 1 } });
    expect(updated.modifiedCount).toBe(20);
    expect((await regexWrites.deleteMany({ _id: /^w/ })).deletedCount).toBe(20);
    expect(await regexWrites.countDocuments()).toBe(0);
  });

  it('applies sort, skip, limit and projection at the mongos after the shards answered', async () => {
    const page = await ranged()
      .find({ _id: { $gte: 90 } }, { projection: { _id: 1 } })
      .sort({ _id: -1 })
      .skip(5)
      .limit(3)
      .toArray();
    expect(page).toEqual([{ _id: 294 }, { _id: 293 }, { _id: 292 }]);
  });
});

describe('the config database through the mongos', () => {
  it('lists a ranged collection with its key and uuid, and its chunks by uuid from MinKey to MaxKey', async () => {
    const config = client.db('config');
    const entry = await config
      .collection<{ _id: string; [field: string]: unknown }>('collections')
      .findOne({ _id: 'target.ranged' });
    const [listed] = await client.db('target').listCollections({ name: 'ranged' }).toArray();
    expect(entry).toMatchObject({ key: { _id: 1 }, unique: false });
    expect(entry?.timestamp).toBeDefined();
    expect(String(entry?.uuid)).toBe(String((listed as { info: { uuid: unknown } }).info.uuid));
    const chunks = await config.collection('chunks').find({ uuid: entry?.uuid }).sort({ min: 1 }).toArray();
    expect(chunks.map((chunk) => [chunk.min._id, chunk.max._id, chunk.shard])).toEqual([
      [new MinKey(), 100, 'shard0'],
      [100, 200, 'shard1'],
      [200, new MaxKey(), 'shard0'],
    ]);
    const hashed = await config
      .collection<{ _id: string; [field: string]: unknown }>('collections')
      .findOne({ _id: 'target.hashed' });
    expect(hashed?.key).toEqual({ _id: 'hashed' });
  });

  it('shows a migrated chunk on its new shard', async () => {
    await cluster.moveChunk('target.ranged', 1, 0);
    const entry = await client
      .db('config')
      .collection<{ _id: string; [field: string]: unknown }>('collections')
      .findOne({ _id: 'target.ranged' });
    const chunks = await client
      .db('config')
      .collection('chunks')
      .find({ uuid: entry?.uuid })
      .sort({ min: 1 })
      .toArray();
    expect(chunks.map((chunk) => chunk.shard)).toEqual(['shard0', 'shard0', 'shard0']);
    expect(
      await findsPerShard(() =>
        client.db('target').collection<{ _id: number }>('ranged').find({ _id: 150 }).toArray(),
      ),
    ).toEqual([1, 0]);
  });
});

describe('a find inside a transaction through the mongos', () => {
  it('goes to the targeted shard within the transaction and sees its own writes', async () => {
    cluster.shardCollection('target.tx', { kind: 'ranged', splitPoints: [100] });
    const tx = client.db('target').collection<{ _id: number; n?: number }>('tx');
    await tx.insertMany([{ _id: 1 }, { _id: 150 }]);
    const session = client.startSession();
    try {
      let seen: unknown[] = [];
      const counts = await findsPerShard(() =>
        session.withTransaction(async () => {
          await tx.updateOne({ _id: 150 }, { $set: { n: 7 } }, { session });
          seen = await tx.find({ _id: { $gte: 100 } }, { session }).toArray();
        }),
      );
      expect(seen).toEqual([{ _id: 150, n: 7 }]);
      expect(counts).toEqual([0, 1]);
    } finally {
      await session.endSession();
    }
    expect(await tx.findOne({ _id: 150 })).toEqual({ _id: 150, n: 7 });
  });
});

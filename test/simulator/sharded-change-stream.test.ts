/**
 * A change stream through mongos, with the real driver: the shards' streams merge in cluster
 * time order, an event waits until every shard has been heard from past it, the stream resumes
 * on another mongos, chunk migrations stay invisible, and a shard's step-down loses nothing.
 */
import {
  type ChangeStream,
  type ChangeStreamDocument,
  type Long,
  MongoClient,
  type Timestamp,
} from 'mongodb';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type ShardedClusterHandle,
  type ShardedClusterOptions,
  startShardedCluster,
} from '../../simulator/index.js';

type Item = { _id: number; n?: number };

let cluster: ShardedClusterHandle | undefined;
let client: MongoClient | undefined;

afterEach(async () => {
  await client?.close();
  await cluster?.stop();
  client = undefined;
  cluster = undefined;
});

async function start(
  options: ShardedClusterOptions = {},
): Promise<{ cluster: ShardedClusterHandle; client: MongoClient }> {
  cluster = await startShardedCluster({
    shards: 2,
    membersPerShard: 3,
    mongos: 2,
    noopIntervalMs: 100,
    ...options,
  });
  client = new MongoClient(cluster.uri, { serverSelectionTimeoutMS: 5_000 });
  await client.connect();
  return { cluster, client };
}

/** Reads events until `count` arrived or `timeoutMs` passed (bounded). */
async function collect(
  stream: ChangeStream<Item>,
  count: number,
  timeoutMs = 10_000,
): Promise<ChangeStreamDocument<Item>[]> {
  const events: ChangeStreamDocument<Item>[] = [];
  const deadline = Date.now() + timeoutMs;
  while (events.length < count && Date.now() < deadline) {
    const event = await stream.tryNext();
    if (event) events.push(event);
  }
  return events;
}

function idOf(event: ChangeStreamDocument<Item>): number {
  return Number((event as { documentKey?: { _id: unknown } }).documentKey?._id);
}

function ascending(times: Timestamp[]): boolean {
  return times.every((time, index) => index === 0 || time.greaterThan(times[index - 1] as Timestamp));
}

/** Ids owned by each of the two shards, enough for the tests. */
function idsByShard(handle: ShardedClusterHandle, ns: string): [number[], number[]] {
  const byShard: [number[], number[]] = [[], []];
  for (let id = 0; byShard[0].length < 10 || byShard[1].length < 10; id += 1) {
    byShard[handle.shardOf(ns, id) as 0 | 1].push(id);
  }
  return byShard;
}

describe('change stream through mongos', () => {
  it('merges both shards in cluster time order, each event once', async () => {
    const { client } = await start();
    const coll = client.db('cs').collection<Item>('orders');
    const stream = coll.watch([], { maxAwaitTimeMS: 100 });
    await stream.tryNext();
    for (let id = 0; id < 30; id += 1) await coll.insertOne({ _id: id });
    const events = await collect(stream, 30);
    await stream.close();
    expect(events.map(idOf)).toEqual(Array.from({ length: 30 }, (_, i) => i));
    expect(ascending(events.map((event) => (event as { clusterTime: Timestamp }).clusterTime))).toBe(true);
  });

  it('holds an event until the idle shard is heard from past it', async () => {
    const { cluster, client } = await start({ noopIntervalMs: 0 });
    const [onFirst, onSecond] = idsByShard(cluster, 'cs.held');
    const coll = client.db('cs').collection<Item>('held');
    const stream = coll.watch([], { maxAwaitTimeMS: 100 });
    await stream.tryNext();
    await coll.insertOne({ _id: onFirst[0] as number });
    // Shard 1 writes nothing (and has no no-op writer here): it may still hold an earlier event.
    expect(await collect(stream, 1, 600)).toEqual([]);
    await coll.insertOne({ _id: onSecond[0] as number });
    const events = await collect(stream, 1, 5_000);
    expect(events.map(idOf)).toEqual([onFirst[0]]);
    await stream.close();
  });

  it('moves its postBatchResumeToken through idle shards no-op writes', async () => {
    const { client } = await start({ noopIntervalMs: 100 });
    const stream = client.db('cs').collection<Item>('idle').watch([], { maxAwaitTimeMS: 100 });
    await stream.tryNext();
    const first = JSON.stringify(stream.resumeToken);
    // Polled until it moves (5 s at most): no-ops every 100 ms move it well within that.
    let moved = false;
    for (const deadline = Date.now() + 5_000; !moved && Date.now() < deadline; ) {
      await stream.tryNext();
      moved = JSON.stringify(stream.resumeToken) !== first;
    }
    expect(moved).toBe(true);
    await stream.close();
  });

  it('resumes on the other mongos from a token the first one gave', async () => {
    const { cluster, client } = await start();
    const coll = client.db('cs').collection<Item>('resume');
    const stream = coll.watch([], { maxAwaitTimeMS: 100 });
    await stream.tryNext();
    for (let id = 0; id < 10; id += 1) await coll.insertOne({ _id: id });
    const firstHalf = await collect(stream, 5);
    await stream.close();
    const other = new MongoClient(`mongodb://${cluster.mongos[1]?.name}/`, {
      serverSelectionTimeoutMS: 5_000,
    });
    try {
      const resumed = other
        .db('cs')
        .collection<Item>('resume')
        .watch([], { resumeAfter: firstHalf[4]?._id, maxAwaitTimeMS: 100 });
      const rest = await collect(resumed, 5);
      await resumed.close();
      expect([...firstHalf, ...rest].map(idOf)).toEqual(Array.from({ length: 10 }, (_, i) => i));
    } finally {
      await other.close();
    }
  });

  it('never shows a chunk migration, and later writes to moved documents once', async () => {
    const { cluster, client } = await start();
    const coll = client.db('cs').collection<Item>('migrating');
    await coll.insertMany(Array.from({ length: 20 }, (_, id) => ({ _id: id })));
    const stream = coll.watch([], { maxAwaitTimeMS: 100 });
    await stream.tryNext();
    const migration = await cluster.moveChunk('cs.migrating', 0, 1);
    expect(migration.moved).toBeGreaterThan(0);
    const entries = cluster.shards.flatMap((shard) => shard.deployment.oplog.all());
    expect(entries.filter((entry) => entry.fromMigrate && entry.ns === 'cs.migrating').length).toBe(
      2 * migration.moved,
    );
    await coll.updateMany({}, { $set: { n: 1 } });
    const events = await collect(stream, 20);
    expect(await collect(stream, 1, 500)).toEqual([]);
    await stream.close();
    expect(events.every((event) => event.operationType === 'update')).toBe(true);
    expect(events.map(idOf).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(await coll.countDocuments()).toBe(20);
  });

  it('looks an update up after the merge, on the shard that owns the document now', async () => {
    const { cluster, client } = await start();
    const coll = client.db('cs').collection<Item & { m?: number }>('lookup');
    const [onFirst] = idsByShard(cluster, 'cs.lookup');
    const [moving, deleted] = onFirst as [number, number];
    await coll.insertMany([{ _id: moving }, { _id: deleted }]);
    const opening = coll.watch([], { maxAwaitTimeMS: 100 });
    await opening.tryNext();
    const before = opening.resumeToken;
    await opening.close();
    await coll.updateOne({ _id: moving }, { $set: { n: 1 } });
    await coll.updateOne({ _id: deleted }, { $set: { n: 1 } });
    await coll.deleteOne({ _id: deleted });
    const chunk = cluster.router.routingOf('cs.lookup').chunkIndexOf(moving);
    await cluster.moveChunk('cs.lookup', chunk, 1);
    expect(cluster.shardOf('cs.lookup', moving)).toBe(1);
    await coll.updateOne({ _id: moving }, { $set: { m: 2 } });
    const stream = coll.watch([], { resumeAfter: before, fullDocument: 'updateLookup', maxAwaitTimeMS: 100 });
    const events = await collect(stream, 4);
    await stream.close();
    const updates = events.filter((event) => event.operationType === 'update');
    expect(updates.map(idOf)).toEqual([moving, deleted, moving]);
    const images = updates.map((event) => (event as { fullDocument?: unknown }).fullDocument);
    expect(images).toEqual([{ _id: moving, n: 1, m: 2 }, null, { _id: moving, n: 1, m: 2 }]);
    expect(Object.keys(updates[0] as object).indexOf('fullDocument')).toBe(
      Object.keys(updates[0] as object).indexOf('wallTime') + 1,
    );
  });

  it('delivers every event once across a shard primary step-down', async () => {
    const { cluster, client } = await start({ electionDelayMs: 200 });
    const coll = client.db('cs').collection<Item>('stepdown');
    const stream = coll.watch([], { maxAwaitTimeMS: 100 });
    await stream.tryNext();
    for (let id = 0; id < 10; id += 1) await coll.insertOne({ _id: id });
    const before = await collect(stream, 5);
    const oldPrimary = cluster.shards[0]?.deployment.topology.primary;
    cluster.stepDownShard(0);
    for (let id = 10; id < 20; id += 1) await coll.insertOne({ _id: id });
    const after = await collect(stream, 15);
    await stream.close();
    expect(cluster.shards[0]?.deployment.topology.primary).not.toBe(oldPrimary);
    expect([...before, ...after].map(idOf)).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it('resumes through the other mongos when the one serving it goes away', async () => {
    const { cluster, client } = await start();
    const coll = client.db('cs').collection<Item>('failover');
    const stream = coll.watch([], { maxAwaitTimeMS: 100 });
    await stream.tryNext();
    for (let id = 0; id < 5; id += 1) await coll.insertOne({ _id: id });
    const before = await collect(stream, 5);
    const cursorId = (stream as unknown as { cursor: { id: Long } }).cursor.id;
    const serving = cluster.mongos.find((mongos) => mongos.sessions.get(cursorId) !== undefined);
    expect(serving).toBeDefined();
    await serving?.stop();
    for (let id = 5; id < 10; id += 1) await coll.insertOne({ _id: id });
    // Resuming first closes the old cursor on the stopped mongos, which can take the driver a
    // server selection timeout (5 s here).
    const after = await collect(stream, 5, 25_000);
    await stream.close();
    expect([...before, ...after].map(idOf)).toEqual(Array.from({ length: 10 }, (_, i) => i));
  }, 40_000);
});

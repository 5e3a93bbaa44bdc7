/**
 * The snapshot plan through the simulator's mongos: a collection ranged-sharded on `_id` gets
 * partitions along its chunks, each read by one shard, every document once; a hashed key, a
 * config database the user may not read, and a replica set keep the range plan and say why.
 */
import { BSON, type Document, MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readShardChunks } from '../../../functions/adapters/mongodb/shard-chunks.js';
import { MongoSnapshotSource } from '../../../functions/adapters/mongodb/snapshot-source.js';
import type { PartitionBounds } from '../../../functions/core/partition-plan.js';
import type { SourceNamespace } from '../../../functions/ports/source.js';
import { type ShardedClusterHandle, startReplicaSet, startShardedCluster } from '../../../simulator/index.js';

const COUNT = 10_000;
const TARGET = 1_500;
const RANGED: SourceNamespace = { db: 'plan', coll: 'ranged' };
const HASHED: SourceNamespace = { db: 'plan', coll: 'hashed' };

let cluster: ShardedClusterHandle;
let client: MongoClient;
let source: MongoSnapshotSource;

beforeAll(async () => {
  cluster = await startShardedCluster({ shards: 2, membersPerShard: 1, mongos: 1, noopIntervalMs: 100 });
  client = new MongoClient(cluster.uri, { serverSelectionTimeoutMS: 5_000 });
  await client.connect();
  // Five chunks of 2,000 documents, dealt shard0, shard1, shard0, shard1, shard0.
  cluster.shardCollection('plan.ranged', { kind: 'ranged', splitPoints: [2_000, 4_000, 6_000, 8_000] });
  const documents = Array.from({ length: COUNT }, (_, i) => ({ _id: i, v: i % 97 }));
  await client.db('plan').collection<{ _id: number }>('ranged').insertMany(documents);
  await client.db('plan').collection<{ _id: number }>('hashed').insertMany(documents);
  source = new MongoSnapshotSource(client);
}, 60_000);

afterAll(async () => {
  await client?.close();
  await cluster?.stop();
});

function shardFinds(): number[] {
  return cluster.shards.map((_, index) => cluster.router.shard(index).commandsReceived.get('find') ?? 0);
}

async function readIds(namespace: SourceNamespace, bounds: PartitionBounds): Promise<number[]> {
  const ids: number[] = [];
  for await (const batch of source.readPartition(namespace, {
    bounds,
    checkpoint: null,
    maxRows: 700,
    maxBytes: 1 << 20,
  })) {
    for (const raw of batch.documents) {
      ids.push(Number(BSON.deserialize(raw)._id));
    }
  }
  return ids;
}

describe('snapshot partitions through a mongos', () => {
  it('follows a ranged _id key: merged or cut within one shard, each partition read by one shard, every _id once', async () => {
    const plan = await source.planPartitions(RANGED, { targetRowsPerPartition: TARGET });
    console.info(`[shard-chunks] ${plan.strategy}: ${plan.reason}`);
    expect(plan.strategy).toBe('shard-chunks');
    expect(plan.reason).toContain('5 chunks on 2 shard(s)');
    // Each 2,000-document chunk is above the target, so it is cut in two at its middle.
    const uppers = plan.partitions.map((bounds) =>
      bounds.upper === null ? null : Number((bounds.upper as { value: string }).value),
    );
    expect(uppers).toEqual([1_000, 2_000, 3_000, 4_000, 5_000, 6_000, 7_000, 8_000, 8_999, null]);
    const seen: number[] = [];
    for (const bounds of plan.partitions) {
      const before = shardFinds();
      seen.push(...(await readIds(RANGED, bounds)));
      const asked = shardFinds().map((after, index) => after - (before[index] as number));
      expect(
        asked.filter((finds) => finds > 0),
        JSON.stringify(bounds),
      ).toHaveLength(1);
    }
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: COUNT }, (_, i) => i));
  });

  it('reads full replies through the mongos with no cursor left open to kill', async () => {
    // A mongos stops a first batch at its size without looking for the end: a batch size equal
    // to the limit would leave a cursor open after every full reply.
    const monitored = new MongoClient(cluster.uri, { monitorCommands: true });
    const sent: string[] = [];
    monitored.on('commandStarted', (event) => sent.push(event.commandName));
    try {
      const ids: number[] = [];
      for await (const batch of new MongoSnapshotSource(monitored).readPartition(HASHED, {
        bounds: { lower: null, upper: null },
        checkpoint: null,
        maxRows: 2_000,
        maxBytes: 1 << 24,
      })) {
        for (const raw of batch.documents) ids.push(Number(BSON.deserialize(raw)._id));
      }
      expect(ids).toEqual(Array.from({ length: COUNT }, (_, i) => i));
      expect(sent.filter((name) => name === 'killCursors')).toEqual([]);
      // The largest-_id query, then five full replies, the last ending on that _id.
      expect(sent.filter((name) => name === 'find')).toHaveLength(6);
    } finally {
      await monitored.close();
    }
  });

  it('keeps the range plan for a hashed _id key, saying why', async () => {
    const plan = await source.planPartitions(HASHED, { targetRowsPerPartition: TARGET });
    expect(plan.strategy).toBe('integer-range');
    expect(plan.reason).toMatch(/^not following shard chunks \(hashed _id shard key/);
  });

  it('keeps the range plan when the config database may not be read', async () => {
    await client.db('admin').command({
      configureFailPoint: 'failCommand',
      mode: { times: 1 },
      data: { failCommands: ['find'], errorCode: 13, namespace: 'config.collections' },
    } satisfies Document);
    const plan = await source.planPartitions(RANGED, { targetRowsPerPartition: TARGET });
    expect(plan.strategy).toBe('integer-range');
    expect(plan.reason).toContain('not authorised to read the config database (Unauthorized)');
  });
});

/** failCommand on the mongos for the chunk counts (`countDocuments` is an aggregate), switched off after. */
async function withCountsFailing<T>(
  mode: Document | string,
  data: Document,
  work: () => Promise<T>,
): Promise<T> {
  await client.db('admin').command({
    configureFailPoint: 'failCommand',
    mode,
    data: { failCommands: ['aggregate'], namespace: 'plan.ranged', ...data },
  });
  try {
    return await work();
  } finally {
    await client.db('admin').command({ configureFailPoint: 'failCommand', mode: 'off' });
  }
}

describe('reading the chunks fails or takes too long: the range plan, with the reason', () => {
  it('keeps the range plan when a count fails with another error (an Atlas proxy 8000)', async () => {
    // The plan's own $sample aggregate goes first (skipped); every chunk count after it fails.
    const plan = await withCountsFailing({ skip: 1 }, { errorCode: 8000 }, () =>
      source.planPartitions(RANGED, { targetRowsPerPartition: TARGET }),
    );
    expect(plan.strategy).toBe('integer-range');
    expect(plan.reason).toMatch(/^not following shard chunks \(reading the chunks failed \(.+\): /);
    expect(plan.partitions.length).toBeGreaterThan(1);
  });

  it('keeps the range plan when the counts pass the time budget, within it', async () => {
    // Only the read is timed (not the fail point's setup): a read that ignored the budget would
    // wait out the 10 s block; 3 s leaves a loaded machine room past the 0.3 s budget.
    let tookMs = Number.POSITIVE_INFINITY;
    const reading = await withCountsFailing(
      'alwaysOn',
      { blockConnection: true, blockTimeMS: 10_000 },
      async () => {
        const started = Date.now();
        const read = await readShardChunks(client, RANGED, { budgetMs: 300 });
        tookMs = Date.now() - started;
        return read;
      },
    );
    expect(tookMs).toBeLessThan(3_000);
    expect(reading).toEqual({ why: 'the chunks were not read and counted within 0.3 s' });
  });

  it('gives every config read and count what is left of the budget as its maxTimeMS', async () => {
    const monitored = new MongoClient(cluster.uri, {
      serverSelectionTimeoutMS: 5_000,
      monitorCommands: true,
    });
    const limits: { command: string; maxTimeMS: unknown }[] = [];
    monitored.on('commandStarted', (event) => {
      if (['find', 'aggregate'].includes(event.commandName))
        limits.push({ command: event.commandName, maxTimeMS: event.command.maxTimeMS });
    });
    try {
      const reading = await readShardChunks(monitored, RANGED, { budgetMs: 8_000 });
      expect('chunks' in reading && reading.chunks.map((chunk) => chunk.count)).toEqual([
        2_000, 2_000, 2_000, 2_000, 2_000,
      ]);
    } finally {
      await monitored.close();
    }
    expect(limits.map((limit) => limit.command)).toEqual(['find', 'find', ...Array(5).fill('aggregate')]);
    for (const { maxTimeMS } of limits) {
      expect(Number(maxTimeMS)).toBeGreaterThan(0);
      expect(Number(maxTimeMS)).toBeLessThanOrEqual(8_000);
    }
  });
});

describe('snapshot partitions on a replica set', () => {
  it('keep the range plan: no chunks', async () => {
    const rs = await startReplicaSet({ members: 1 });
    const rsClient = new MongoClient(rs.uri, { serverSelectionTimeoutMS: 5_000 });
    try {
      await rsClient
        .db('plan')
        .collection<{ _id: number }>('ranged')
        .insertMany(Array.from({ length: 3_000 }, (_, i) => ({ _id: i })));
      const plan = await new MongoSnapshotSource(rsClient).planPartitions(RANGED, {
        targetRowsPerPartition: TARGET,
      });
      expect(plan.strategy).toBe('integer-range');
      expect(plan.reason).toMatch(/^not following shard chunks \(not a mongos/);
    } finally {
      await rsClient.close();
      await rs.stop();
    }
  });
});

/**
 * The snapshot plan through the simulator's mongos: a collection ranged-sharded on `_id` gets
 * partitions along its chunks, each read by one shard, every document once; a hashed key, a
 * config database the user may not read, and a replica set keep the range plan and say why.
 */
import { BSON, type Document, MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

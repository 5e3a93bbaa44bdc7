/**
 * The fault matrix against a sharded cluster (`npm run faults -- --topology sharded`): the same
 * cases, the source being 2 shards × 3 members behind 2 mongos, the pipe's and the load's
 * clients listing both. The faults that aim at one replica set's members (fail points, member
 * states, connection resets, oplog truncation) have no single set to aim at here; the kills run
 * as they are, and a shard's primary steps down in the snapshot and again in CDC.
 */
import { MongoClient } from 'mongodb';
import { ClickHouseDestination } from '../../functions/adapters/clickhouse/destination.js';
import { MongoSnapshotSource } from '../../functions/adapters/mongodb/snapshot-source.js';
import {
  type ReplicaSetHandle,
  type ShardedClusterHandle,
  startShardedCluster,
} from '../../simulator/index.js';
import { DATABASE, markReplicating, type World } from '../e2e/harness.js';
import { newStore } from '../engines/support.js';
import { startTestClickHouse } from '../support/clickhouse.js';
import { startDynalite } from '../support/dynalite.js';
import type { Fault } from './faults.js';
import { cdcUnderLoad, snapshotUnderLoad } from './run-case.js';

/** The kills of the matrix that do not aim at a replica set's members. */
export const SHARDED_KILLS = [
  'kill-mid-chunk',
  'kill-before-checkpoint',
  'kill-during-snapshot-with-cdc',
  'kill-before-token-commit',
  'kill-between-batches',
] as const;

export interface ShardedFaultWorld {
  world: World;
  cluster: ShardedClusterHandle;
}

/**
 * The harness's world on a sharded cluster. Its `rs` carries only the URI: `prepareCase` reads
 * nothing else of it, and no fault that reaches into a replica set runs on this topology.
 */
export async function startShardedFaultWorld(): Promise<ShardedFaultWorld> {
  const steps: (() => Promise<unknown>)[] = [];
  const stop = async () => {
    for (const step of steps.splice(0).reverse()) await step().catch(() => undefined);
  };
  try {
    // A quiet shard holds a merged stream back until its next no-op: keep that short.
    const cluster = await startShardedCluster({
      shards: 2,
      membersPerShard: 3,
      mongos: 2,
      noopIntervalMs: 50,
    });
    steps.push(() => cluster.stop());
    const mongo = new MongoClient(cluster.uri, { serverSelectionTimeoutMS: 10_000 });
    steps.push(() => mongo.close());
    await mongo.connect();
    const dynamo = await startDynalite();
    steps.push(() => dynamo.stop());
    const clickhouse = await startTestClickHouse();
    steps.push(() => clickhouse.remove());
    const destination = ClickHouseDestination.connect({ url: clickhouse.url });
    steps.push(() => destination.close());
    await destination.ensureDatabase(DATABASE);
    const world: World = {
      rs: { uri: cluster.uri } as ReplicaSetHandle,
      mongo,
      dynamo,
      store: newStore(dynamo),
      clickhouse,
      clickhouseUrl: clickhouse.url,
      destination,
      snapshotSource: new MongoSnapshotSource(mongo),
      stop,
    };
    return { world, cluster };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Every shard with a primary again (bounded), so the next case starts clean. */
export async function restoreShards(cluster: ShardedClusterHandle): Promise<void> {
  for (const [index, shard] of cluster.shards.entries()) {
    for (let attempt = 0; !shard.deployment.topology.primary; attempt += 1) {
      if (attempt >= 100) throw new Error(`shard${index} has no primary after 10 s`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** A shard's primary steps down on the pipe's 2nd read of the snapshot (shard 0) and of CDC (shard 1). */
export function shardStepDown(cluster: ShardedClusterHandle): Fault {
  return {
    name: 'shard-step-down',
    async run(run) {
      const inSnapshot = run.onRead({ afterReads: 2, action: () => cluster.stepDownShard(0, 1) });
      await snapshotUnderLoad(run);
      await markReplicating(run.store, run.pipe);
      const inCdc = run.onRead({ afterReads: 2, action: () => cluster.stepDownShard(1, 1) });
      await cdcUnderLoad(run);
      return [
        ...(inSnapshot.fired() ? [] : ['the step-down in the snapshot never fired']),
        ...(inCdc.fired() ? [] : ['the step-down in CDC never fired']),
      ];
    },
  };
}

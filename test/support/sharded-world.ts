/**
 * The e2e harness's world on a simulated sharded cluster (2 shards × 3 members behind 2 mongos):
 * the pipe's stores and destination as `test/e2e/harness.ts` builds them, the source the
 * cluster reached through both mongos. Shared by the sharded e2e test and the sharded fault
 * matrix.
 */
import { MongoClient, type MongoClientOptions } from 'mongodb';
import { ClickHouseDestination } from '../../functions/adapters/clickhouse/destination.js';
import {
  type ReplicaSetHandle,
  type ShardedClusterHandle,
  startShardedCluster,
} from '../../simulator/index.js';
import { DATABASE, type World, worldOf } from '../e2e/harness.js';
import { startTestClickHouse } from './clickhouse.js';
import { startDynalite } from './dynalite.js';

export interface ShardedWorld {
  /** `world.rs` carries only the cluster's URI: nothing aims at one replica set here. */
  world: World;
  cluster: ShardedClusterHandle;
  stop(): Promise<void>;
}

export interface ShardedWorldOptions {
  /** An idle shard holds a merged stream back until its next no-op: tests keep it short. */
  noopIntervalMs: number;
  client?: MongoClientOptions;
  /** Called with the test's client before it connects (e.g. to watch its commands). */
  beforeConnect?: (client: MongoClient) => void;
}

export async function startShardedWorld(options: ShardedWorldOptions): Promise<ShardedWorld> {
  const steps: (() => Promise<unknown>)[] = [];
  const stop = async () => {
    for (const step of steps.splice(0).reverse()) await step().catch(() => undefined);
  };
  try {
    const cluster = await startShardedCluster({
      shards: 2,
      membersPerShard: 3,
      mongos: 2,
      noopIntervalMs: options.noopIntervalMs,
    });
    steps.push(() => cluster.stop());
    const mongo = new MongoClient(cluster.uri, options.client ?? {});
    steps.push(() => mongo.close());
    options.beforeConnect?.(mongo);
    await mongo.connect();
    const dynamo = await startDynalite();
    steps.push(() => dynamo.stop());
    const clickhouse = await startTestClickHouse();
    steps.push(() => clickhouse.remove());
    const destination = ClickHouseDestination.connect({ url: clickhouse.url });
    steps.push(() => destination.close());
    await destination.ensureDatabase(DATABASE);
    const rs = { uri: cluster.uri } as ReplicaSetHandle;
    const world = worldOf({ rs, mongo, dynamo, clickhouse, destination, stop });
    return { world, cluster, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

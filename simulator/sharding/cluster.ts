/**
 * `startShardedCluster`: N shards, each a replica set of the simulator's usual kind, sharing
 * one cluster clock, behind one or more mongos. The routing state (chunks, transaction
 * participants) is the cluster's, as the config servers hold it for every mongos.
 */
import { Deployment } from '../deployment.js';
import { ClusterClockImpl } from '../oplog/clock.js';
import { ClusterCatalog } from './cluster-catalog.js';
import { type MigrationResult, moveChunk } from './migration.js';
import { Mongos } from './mongos.js';
import { Router } from './router.js';
import type { Chunk, ShardKeySpec } from './shard-key.js';
import { ShardLink } from './shard-link.js';

export interface ShardedClusterOptions {
  /** Number of shards (default 2). */
  shards?: number;
  /** Members of each shard's replica set (default 3). */
  membersPerShard?: number;
  /** Number of mongos routers (default 1). */
  mongos?: number;
  /** Shard key of every collection on `_id` (default hashed); per collection: `shardCollection`. */
  shardKey?: ShardKeySpec;
  /**
   * The shards' periodic no-op writer (default 1 000 ms; the real server's is 10 s). An idle
   * shard only moves a merged change stream forward through these no-ops.
   */
  noopIntervalMs?: number;
  electionDelayMs?: number;
}

export interface ShardedClusterHandle {
  /** `mongodb://<mongos1>,<mongos2>/`: the driver sees a sharded topology. */
  readonly uri: string;
  readonly shards: readonly { name: string; uri: string; deployment: Deployment }[];
  readonly mongos: readonly Mongos[];
  /** The first mongos's router (the chunk table is shared by all). */
  readonly router: Router;
  /** Shards `ns` on `_id` with this key (resets its chunks). */
  shardCollection(ns: string, key: ShardKeySpec): readonly Chunk[];
  chunks(ns: string): readonly Chunk[];
  /** The shard that owns a document `_id` of `ns`. */
  shardOf(ns: string, id: unknown): number;
  moveChunk(ns: string, chunkIndex: number, toShard: number): Promise<MigrationResult>;
  /** Steps down the primary of one shard; its next primary is elected after the election delay. */
  stepDownShard(shard: number, stepDownSecs?: number): void;
  stop(): Promise<void>;
}

async function startShards(options: ShardedClusterOptions, clock: ClusterClockImpl): Promise<ShardLink[]> {
  const links: ShardLink[] = [];
  try {
    for (let index = 0; index < (options.shards ?? 2); index += 1) {
      const name = `shard${index}`;
      const deployment = await Deployment.start({
        members: options.membersPerShard ?? 3,
        setName: name,
        clock,
        noopIntervalMs: options.noopIntervalMs ?? 1_000,
        ...(options.electionDelayMs !== undefined ? { electionDelayMs: options.electionDelayMs } : {}),
      });
      links.push(new ShardLink(index, name, deployment));
    }
  } catch (error) {
    await Promise.all(links.map((link) => link.deployment.stop()));
    throw error;
  }
  return links;
}

export async function startShardedCluster(
  options: ShardedClusterOptions = {},
): Promise<ShardedClusterHandle> {
  const clock = new ClusterClockImpl();
  const links = await startShards(options, clock);
  const router = new Router(links, options.shardKey ?? { kind: 'hashed' });
  const catalog = new ClusterCatalog(links);
  const routers: Mongos[] = [];
  const stop = async () => {
    await Promise.all(routers.map((mongos) => mongos.stop()));
    await Promise.all(links.map((link) => link.deployment.stop()));
  };
  try {
    for (let index = 0; index < (options.mongos ?? 1); index += 1) {
      const mongos = new Mongos(index === 0 ? router : router.sibling(), catalog, clock);
      routers.push(mongos);
      await mongos.start();
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    uri: `mongodb://${routers.map((mongos) => mongos.name).join(',')}/`,
    shards: links.map((link) => ({
      name: link.name,
      uri: `mongodb://${link.deployment.memberNames().join(',')}/?replicaSet=${link.name}`,
      deployment: link.deployment,
    })),
    mongos: routers,
    router,
    shardCollection: (ns, key) => router.shardCollection(ns, key).chunks,
    chunks: (ns) => router.routingOf(ns).chunks,
    shardOf: (ns, id) => router.routingOf(ns).shardOf(id),
    moveChunk: (ns, chunkIndex, toShard) => moveChunk(router, ns, chunkIndex, toShard),
    stepDownShard(shard, stepDownSecs = 60) {
      const topology = router.shard(shard).deployment.topology;
      const primary = topology.primary;
      if (!primary) throw new Error(`shard${shard} has no primary to step down`);
      topology.stepDown(primary, stepDownSecs, false);
    },
    stop,
  };
}

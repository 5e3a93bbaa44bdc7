/**
 * The fault matrix against a sharded cluster (`npm run faults -- --topology sharded`): the same
 * cases, the source being 2 shards × 3 members behind 2 mongos, the pipe's and the load's
 * clients listing both. The faults that aim at one replica set's members (fail points, member
 * states, connection resets, oplog truncation) have no single set to aim at here; the kills run
 * as they are, and a shard's primary steps down in the snapshot and again in CDC.
 */
import type { ShardedClusterHandle } from '../../simulator/index.js';
import { markReplicating } from '../e2e/harness.js';
import { type ShardedWorld, startShardedWorld } from '../support/sharded-world.js';
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

/** The harness's world on the sharded cluster; `prepareCase` reads nothing of `rs` but its URI. */
export function startShardedFaultWorld(): Promise<ShardedWorld> {
  return startShardedWorld({ noopIntervalMs: 50, client: { serverSelectionTimeoutMS: 10_000 } });
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

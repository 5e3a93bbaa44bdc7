/** The deployment the conformance tests run against: a fresh simulator, or `MONGODB_URI`. */
import { startReplicaSet, startShardedCluster } from '../index.js';

/** `replicaset`: 3 members; `sharded`: 2 shards of 3 members behind 2 mongos. */
export type SimulatedTopology = 'replicaset' | 'sharded';

export interface DeploymentUnderTest {
  uri: string;
  /** Stops what the runner started; a no-op for an external deployment. */
  stop(): Promise<void>;
}

export async function startDeployment(
  externalUri: string | undefined,
  topology: SimulatedTopology = 'replicaset',
): Promise<DeploymentUnderTest> {
  if (externalUri) return { uri: externalUri, stop: async () => undefined };
  if (topology === 'sharded') {
    // The spec tests' collections are unsharded, so they live on the primary shard: one chunk
    // on shard 0 (ranged, no split points). The other shard still takes part in every change
    // stream, which only moves on once that shard's no-op writes pass the events.
    const cluster = await startShardedCluster({
      shardKey: { kind: 'ranged', splitPoints: [] },
      shards: 2,
      membersPerShard: 3,
      mongos: 2,
      noopIntervalMs: 200,
    });
    return { uri: cluster.uri, stop: () => cluster.stop() };
  }
  const replicaSet = await startReplicaSet({ members: 3 });
  return { uri: replicaSet.uri, stop: () => replicaSet.stop() };
}

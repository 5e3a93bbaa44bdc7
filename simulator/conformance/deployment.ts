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
    const cluster = await startShardedCluster({
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

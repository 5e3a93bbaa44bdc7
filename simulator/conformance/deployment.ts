/** The deployment the conformance tests run against: a fresh simulator, or `MONGODB_URI`. */
import { startReplicaSet } from '../index.js';

export interface DeploymentUnderTest {
  uri: string;
  /** Stops what the runner started; a no-op for an external deployment. */
  stop(): Promise<void>;
}

export async function startDeployment(externalUri: string | undefined): Promise<DeploymentUnderTest> {
  if (externalUri) return { uri: externalUri, stop: async () => undefined };
  const replicaSet = await startReplicaSet({ members: 3 });
  return { uri: replicaSet.uri, stop: () => replicaSet.stop() };
}

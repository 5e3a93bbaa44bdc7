/** A 1-member simulator (storage commands included) driven by the real `mongodb` driver. */
import { MongoClient } from 'mongodb';
import { type ReplicaSetHandle, startReplicaSet } from '../../../simulator/index.js';

export interface StorageHarness {
  rs: ReplicaSetHandle;
  client: MongoClient;
  stop(): Promise<void>;
}

export async function startStorageHarness(): Promise<StorageHarness> {
  const rs = await startReplicaSet({ members: 1, noopIntervalMs: 0 });
  const client = new MongoClient(rs.uri, { serverSelectionTimeoutMS: 5000 });
  try {
    await client.connect();
  } catch (error) {
    await rs.stop();
    throw error;
  }
  return {
    rs,
    client,
    async stop() {
      await client.close();
      await rs.stop();
    },
  };
}

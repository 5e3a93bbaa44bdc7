/**
 * A 1-member simulator with the storage commands registered, driven by the real `mongodb` driver.
 * The composition root may already register them; then this only connects.
 */
import { MongoClient } from 'mongodb';
import { createChangeStreamOpener } from '../../../simulator/changestreams/open.js';
import { type ReplicaSetHandle, startReplicaSet } from '../../../simulator/index.js';
import { storageCommands } from '../../../simulator/storage/commands.js';

export interface StorageHarness {
  rs: ReplicaSetHandle;
  client: MongoClient;
  stop(): Promise<void>;
}

export async function startStorageHarness(): Promise<StorageHarness> {
  const rs = await startReplicaSet({ members: 1, noopIntervalMs: 0 });
  const deployment = rs.deployment;
  if (!deployment.registry.has('find')) {
    const parts = {
      catalog: deployment.catalog,
      cursors: deployment.sessions,
      oplog: deployment.oplog,
      clock: deployment.clock,
    };
    deployment.registry.registerAll(
      storageCommands({ ...parts, openChangeStream: createChangeStreamOpener(parts) }),
    );
  }
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

import { MongoClient } from 'mongodb';
import type { Destination } from '../../functions/ports/destination.js';
import type { PipeStore } from '../../functions/ports/pipe-store.js';
import { startReplicaSet, startShardedCluster } from '../../simulator/index.js';
import type { DemoTopology } from '../config.js';
import type { LocalOutput } from '../progress.js';
import { DEMO_COLLECTIONS, DEMO_DATABASE, seedSampleData } from './sample-data.js';
import { startWriteLoad } from './write-load.js';

export const DEMO_PIPE = 'demo';

export interface DemoSource {
  uri: string;
  stop(): Promise<void>;
}

/**
 * The simulator's replica set, or its sharded cluster (2 shards × 3 members, 2 mongos: the
 * pipe's URI lists both), every collection hashed on `_id`.
 */
function startSimulator(topology: DemoTopology): Promise<{ uri: string; stop(): Promise<void> }> {
  return topology === 'sharded'
    ? startShardedCluster({ shards: 2, membersPerShard: 3, mongos: 2, noopIntervalMs: 1_000 })
    : startReplicaSet({ noopIntervalMs: 1_000 });
}

/** The simulator source, seeded, with the live write load running (when its interval is > 0). */
export async function startDemoSource(
  writeIntervalMs: number,
  output: LocalOutput,
  topology: DemoTopology = 'replicaSet',
): Promise<DemoSource> {
  const simulator = await startSimulator(topology);
  const client = new MongoClient(simulator.uri, { serverSelectionTimeoutMS: 10_000 });
  try {
    await client.connect();
    const seeded = await seedSampleData(client.db(DEMO_DATABASE));
    output.line(
      `demo data: ${DEMO_DATABASE}.orders ${seeded.orders}, customers ${seeded.customers}, products ${seeded.products}`,
    );
  } catch (error) {
    await client.close();
    await simulator.stop();
    throw error;
  }
  const load =
    writeIntervalMs > 0
      ? startWriteLoad(client.db(DEMO_DATABASE), writeIntervalMs, (error) =>
          output.line(`demo write load: ${String(error)}`),
        )
      : null;
  if (load) output.line(`demo write load: a write every ${writeIntervalMs} ms on ${DEMO_DATABASE}.orders`);
  return {
    uri: simulator.uri,
    async stop() {
      await load?.stop();
      await client.close();
      await simulator.stop();
    },
  };
}

export interface DemoPipeParts {
  store: PipeStore;
  destination: Destination;
  apiUrl: string;
  sourceUri: string;
  clickhouseUrl: string;
  /** Below 60 the demo's CDC stays on the stream: changes show within seconds. */
  syncIntervalSeconds: number;
  output: LocalOutput;
}

/**
 * Creates the demo pipe through the HTTP API, as a user would. The demo source lives in memory,
 * so a demo pipe left by an earlier run points at data that is gone: it is removed first, with
 * its tables.
 */
export async function createDemoPipe(parts: DemoPipeParts): Promise<void> {
  const { store, destination, output } = parts;
  const existing = (await store.listPipes()).items.find((pipe) => pipe.name === DEMO_PIPE);
  if (existing) {
    for (const mapping of await store.listTableMappings(existing.id)) {
      await destination.dropTable({ database: DEMO_DATABASE, table: mapping.targetTable });
    }
    await store.deletePipe(existing.id);
    output.line(`pipe ${DEMO_PIPE}: the demo source is new, starting the demo pipe afresh`);
  }
  const response = await fetch(`${parts.apiUrl}/pipes`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      name: DEMO_PIPE,
      source: { uri: parts.sourceUri },
      destination: { url: parts.clickhouseUrl, database: DEMO_DATABASE, username: 'default', password: '' },
      settings: {
        tableMappings: DEMO_COLLECTIONS.map((coll) => ({
          sourceDatabaseName: DEMO_DATABASE,
          sourceCollection: coll,
          targetTable: coll,
        })),
        syncIntervalSeconds: parts.syncIntervalSeconds,
      },
    }),
  });
  const body = (await response.json()) as { id?: string; state?: string; error?: { message?: string } };
  if (response.status !== 202) {
    throw new Error(`creating the demo pipe failed: ${response.status} ${body.error?.message ?? ''}`);
  }
  output.line(`pipe ${DEMO_PIPE}: POST /pipes → 202, id ${body.id}, ${body.state}`);
  output.line(
    `try: curl '${parts.clickhouseUrl}/?query=SELECT+count()+FROM+${DEMO_DATABASE}.orders+FINAL+WHERE+_peerdb_is_deleted=0'`,
  );
  output.line(`     curl '${parts.apiUrl}/pipes/${body.id}'`);
}

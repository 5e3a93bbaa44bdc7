import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { MongoClient } from 'mongodb';
import { ClickHouseDestination } from '../functions/adapters/clickhouse/destination.js';
import { DynamoPipeStore } from '../functions/adapters/dynamodb/store.js';
import { MongoChangeSource } from '../functions/adapters/mongodb/change-source.js';
import { redactUri } from '../functions/adapters/mongodb/redact.js';
import { MongoSnapshotSource } from '../functions/adapters/mongodb/snapshot-source.js';
import type { PipeState } from '../functions/core/lifecycle.js';
import { parseSettings } from '../functions/core/settings.js';
import type { Clock } from '../functions/ports/clock.js';
import type { PipeRecord, PipeStore } from '../functions/ports/pipe-store.js';
import { type ReplicaSetHandle, startReplicaSet } from '../simulator/index.js';
import { startEmbeddedClickHouse } from './clickhouse/launcher.js';
import { type LocalConfig, LocalConfigError, parseLocalConfig } from './config.js';
import { DEMO_COLLECTIONS, DEMO_DATABASE, seedSampleData } from './demo/sample-data.js';
import { startWriteLoad, type WriteLoad } from './demo/write-load.js';
import { startLocalDynamo } from './dynamodb.js';
import { PipeDriver } from './pipe-driver.js';
import { consoleOutput } from './progress.js';

const STORE_TABLE = 'Pipes';
const DEMO_PIPE = 'demo';
const LOCAL_PIPE = 'local';
const SETTLING_STATES: readonly PipeState[] = ['Provisioning', 'Setup', 'Snapshot'];

const clock: Clock = { now: () => Date.now() };
const output = consoleOutput();

interface Source {
  uri: string;
  pipeName: string;
  collections: { db: string; coll: string }[];
  demo: ReplicaSetHandle | null;
}

async function startSource(config: LocalConfig): Promise<Source> {
  if (config.mongodbUri) {
    const collections = config.collections.map((name) => {
      const dot = name.indexOf('.');
      return { db: name.slice(0, dot), coll: name.slice(dot + 1) };
    });
    return { uri: config.mongodbUri, pipeName: LOCAL_PIPE, collections, demo: null };
  }
  const demo = await startReplicaSet({ noopIntervalMs: 1_000 });
  return {
    uri: demo.uri,
    pipeName: DEMO_PIPE,
    collections: DEMO_COLLECTIONS.map((coll) => ({ db: DEMO_DATABASE, coll })),
    demo,
  };
}

function tableName(coll: string): string {
  const cleaned = coll.replace(/[^A-Za-z0-9_]/g, '_');
  return /^[A-Za-z_]/.test(cleaned) ? cleaned : `_${cleaned}`;
}

/**
 * The demo source lives in memory, so a demo pipe from an earlier run points at data that is
 * gone: it is removed (with its tables) and created afresh. A pipe on a real MONGODB_URI is kept
 * and resumes where it was.
 */
async function ensurePipe(
  store: PipeStore,
  destination: ClickHouseDestination,
  source: Source,
): Promise<PipeRecord> {
  const database = source.demo ? DEMO_DATABASE : 'local';
  const existing = (await store.listPipes()).items.find((pipe) => pipe.name === source.pipeName);
  if (existing && !source.demo) return existing;
  if (existing) {
    for (const mapping of await store.listTableMappings(existing.id)) {
      await destination.dropTable({ database, table: mapping.targetTable });
    }
    await store.deletePipe(existing.id);
    output.line(`pipe ${source.pipeName}: the demo source is new, starting the demo pipe afresh`);
  }
  const tableMappings = source.collections.map(({ db, coll }) => ({
    sourceDatabaseName: db,
    sourceCollection: coll,
    targetTable: tableName(coll),
  }));
  const settings = parseSettings({ tableMappings, syncIntervalSeconds: 60 }, ['settings']);
  const { pipe } = await store.createPipe({
    name: source.pipeName,
    settings,
    source: { uri: redactUri(source.uri) },
    destination: { kind: 'clickhouse', database },
    actor: 'local-runtime',
    reason: 'created by npm start',
  });
  for (const mapping of tableMappings) await store.putTableMapping(pipe.id, mapping, 'Pending');
  output.line(`pipe ${pipe.name}: created (${pipe.state})`);
  return pipe;
}

async function main(): Promise<void> {
  const config = parseLocalConfig(process.argv.slice(2), process.env);
  const dataDir = resolve(config.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const stops: (() => Promise<unknown>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch((error) => output.line(`stop: ${String(error)}`));
  };
  let shuttingDown = false;
  let loop: Promise<void> = Promise.resolve();
  const shutdown = async (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    output.line(`${signal}: stopping (data stays in ${dataDir})`);
    await loop;
    await stopAll();
    output.line('stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));

  try {
    const clickhouse = await startEmbeddedClickHouse({
      dataDir: join(dataDir, 'clickhouse'),
      host: config.host,
      port: config.clickhousePort,
    });
    stops.push(() => clickhouse.stop());
    output.line(`clickhouse: ${clickhouse.url}`);
    const dynamo = await startLocalDynamo({
      tableName: STORE_TABLE,
      path: join(dataDir, 'dynamodb'),
      host: config.host,
      port: config.dynamodbPort,
    });
    stops.push(() => dynamo.stop());
    output.line(`dynamodb: ${dynamo.endpoint} (table ${STORE_TABLE})`);

    const source = await startSource(config);
    if (source.demo) {
      const demo = source.demo;
      stops.push(() => demo.stop());
      output.line(`demo source: ${source.uri}`);
    }
    const mongo = new MongoClient(source.uri, { serverSelectionTimeoutMS: 10_000 });
    stops.push(() => mongo.close());
    await mongo.connect();
    let writeLoad: WriteLoad | null = null;
    if (source.demo) {
      const seeded = await seedSampleData(mongo.db(DEMO_DATABASE));
      output.line(
        `demo data: ${DEMO_DATABASE}.orders ${seeded.orders}, customers ${seeded.customers}, products ${seeded.products}`,
      );
      if (config.demoWriteIntervalMs > 0) {
        const load = startWriteLoad(mongo.db(DEMO_DATABASE), config.demoWriteIntervalMs, (error) =>
          output.line(`demo write load: ${String(error)}`),
        );
        writeLoad = load;
        stops.push(() => load.stop());
      }
    }

    const store = new DynamoPipeStore({ client: dynamo.newClient(), tableName: STORE_TABLE, now: clock.now });
    const destination = ClickHouseDestination.connect({ url: clickhouse.url });
    stops.push(() => destination.close());
    const pipe = await ensurePipe(store, destination, source);
    const driver = new PipeDriver(
      {
        store,
        destination,
        clock,
        snapshotSource: new MongoSnapshotSource(mongo),
        changeSource: new MongoChangeSource(mongo, {
          namespaces: source.collections,
          log: (line) => output.line(`pipe ${pipe.name}: ${line}`),
        }),
      },
      output,
    );

    const tick = async () => {
      let state = await driver.step(pipe.id);
      while (!shuttingDown && SETTLING_STATES.includes(state)) state = await driver.step(pipe.id);
    };
    const schedule = () => {
      if (shuttingDown) return;
      loop = tick()
        .catch((error) => output.line(`pipe ${pipe.name}: ${String(error)}`))
        .finally(() => {
          if (!shuttingDown) setTimeout(schedule, config.cdcIntervalSeconds * 1000);
        });
    };
    schedule();
    if (writeLoad) output.line(`demo write load: a write every ${config.demoWriteIntervalMs} ms`);
    if (source.demo) {
      output.line(
        `try: curl '${clickhouse.url}/?query=SELECT+count()+FROM+${DEMO_DATABASE}.orders+FINAL+WHERE+_peerdb_is_deleted=0'`,
      );
    }
  } catch (error) {
    await stopAll();
    throw error;
  }
}

main().catch((error) => {
  if (error instanceof LocalConfigError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`npm start failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});

import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ClickHouseDestination } from '../functions/adapters/clickhouse/destination.js';
import { DynamoPipeStore } from '../functions/adapters/dynamodb/store.js';
import { cdcRunsIn } from '../functions/core/cdc-mode.js';
import { TRANSITIONAL_STATES } from '../functions/core/lifecycle.js';
import { parseSettings } from '../functions/core/settings.js';
import { connectWith, type Runtime } from '../functions/handlers/runtime.js';
import type { Clock } from '../functions/ports/clock.js';
import { CDC_LEASE, type PipeStore } from '../functions/ports/pipe-store.js';
import { localApiDeps } from './api/deps.js';
import { startLocalApiServer } from './api/server.js';
import { consoleCdcMetrics, localCdcInvoker } from './cdc/invoke.js';
import { LocalCdcSchedule } from './cdc/schedule.js';
import { startEmbeddedClickHouse } from './clickhouse/launcher.js';
import { isLoopback, type LocalConfig, LocalConfigError, parseLocalConfig } from './config.js';
import { createDemoPipe, DEMO_PIPE, type DemoSource, startDemoSource } from './demo/demo-pipe.js';
import { startLocalDynamo } from './dynamodb.js';
import { consoleOutput } from './progress.js';
import { LocalStateMachines } from './stepfunctions/runner.js';
import { PipeWatcher } from './watch.js';

const STORE_TABLE = 'Pipes';
const WATCH_INTERVAL_MS = 1_000;
/**
 * How long Ctrl-C waits for the Task invocations in progress (a snapshot chunk, a drain check)
 * before stopping the stand-ins under them. Executions are not waited for: they are journaled
 * and continue at their current state on the next start.
 */
const SHUTDOWN_GRACE_MS = 15_000;

const clock: Clock = { now: () => Date.now() };
const output = consoleOutput();

/**
 * After a restart: pipes whose CDC runs in their state get their schedule back (schedules live
 * in memory), then every execution the journal holds continues from the state it was in (as
 * Step Functions executions would have). The demo pipe is replaced below (its source was in
 * memory), so neither applies to it.
 */
async function resumePipes(
  store: PipeStore,
  schedule: LocalCdcSchedule,
  machines: LocalStateMachines,
  skipName: string | null,
): Promise<void> {
  const pipes = new Map((await store.listPipes()).items.map((pipe) => [pipe.id, pipe]));
  for (const pipe of pipes.values()) {
    if (pipe.name === skipName || !cdcRunsIn(pipe.state)) continue;
    const settings = parseSettings(pipe.settings);
    if (settings.replicationMode === 'snapshot') continue;
    await schedule.ensure(pipe.id, settings.syncIntervalSeconds);
    await schedule.enable(pipe.id);
    await schedule.runSoon(pipe.id, 'restart');
    output.line(`pipe ${pipe.name}: ${pipe.state}, CDC resumes from its stored resume point`);
  }
  const { entries, unreadable } = await machines.journaled();
  for (const path of unreadable) output.line(`execution journal: cannot read ${path}; left in place`);
  const journaled = new Set<string>();
  for (const entry of entries) {
    const pipe = pipes.get(entry.pipeId);
    if (pipe && pipe.name === skipName) {
      await machines.discard(entry);
      continue;
    }
    journaled.add(entry.pipeId);
    // A pipe deleted meanwhile: the execution goes on and ends at its next Task (PipeNotFoundError).
    const name = pipe?.name ?? entry.pipeId;
    try {
      machines.resume(entry);
      output.line(`pipe ${name}: resuming ${entry.operation} at ${entry.state} after a restart`);
    } catch (error) {
      output.line(
        `pipe ${name}: cannot resume ${entry.operation} (${String(error)}); its journal entry is kept`,
      );
    }
  }
  for (const pipe of pipes.values()) {
    if (pipe.name === skipName || journaled.has(pipe.id) || !TRANSITIONAL_STATES.includes(pipe.state))
      continue;
    output.line(
      `pipe ${pipe.name}: was ${pipe.state} when the runtime stopped, with no execution journaled for it (delete the pipe and create it again)`,
    );
  }
}

/**
 * Ctrl-C: every CDC run in progress is asked to end (its lease revoked: it stops at its next
 * write, its rows and resume point as they were), then the schedule stops and waits for them.
 */
async function stopCdc(store: PipeStore, schedule: LocalCdcSchedule): Promise<void> {
  for (const pipeId of schedule.enabledPipes())
    await store.revokeLease(pipeId, CDC_LEASE, 'the local runtime is stopping').catch(() => undefined);
  await schedule.stop();
}

function every(intervalMs: number, work: () => Promise<void>, isStopped: () => boolean): () => Promise<void> {
  let running: Promise<void> = Promise.resolve();
  const schedule = () => {
    if (isStopped()) return;
    running = work()
      .catch((error) => output.line(String(error)))
      .finally(() => {
        if (!isStopped()) setTimeout(schedule, intervalMs);
      });
  };
  schedule();
  return () => running;
}

/**
 * What `npm start` started and how Ctrl-C stops it: no Task begins any more, the Task
 * invocations and CDC runs in progress are waited for (up to SHUTDOWN_GRACE_MS), then the
 * stand-ins stop in the reverse order of their start.
 */
class Lifetime {
  readonly stops: (() => Promise<unknown>)[] = [];
  readonly inFlight: (() => Promise<void>)[] = [];
  machines: LocalStateMachines | null = null;
  stopping = false;

  constructor(private readonly dataDir: string) {
    process.on('SIGINT', () => void this.shutdown('SIGINT'));
    process.on('SIGTERM', () => void this.shutdown('SIGTERM'));
  }

  async stopAll(): Promise<void> {
    for (const stop of this.stops.reverse())
      await stop().catch((error) => output.line(`stop: ${String(error)}`));
  }

  private async shutdown(signal: string): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    output.line(`${signal}: stopping (data stays in ${this.dataDir})`);
    // No Task begins from now on; the ones in progress (and the current CDC run) are waited for.
    const stopped = this.machines?.stop() ?? Promise.resolve();
    await Promise.all([
      Promise.race([stopped, new Promise((done) => setTimeout(done, SHUTDOWN_GRACE_MS).unref())]),
      ...this.inFlight.map((current) => current()),
    ]);
    await this.stopAll();
    output.line('stopped');
    process.exit(0);
  }
}

async function main(): Promise<void> {
  const config = parseLocalConfig(process.argv.slice(2), process.env);
  const dataDir = resolve(config.dataDir);
  if (config.allowRemote && !isLoopback(config.host))
    output.line(
      `WARNING: listening on ${config.host}: the API and ClickHouse take no credentials; anyone who reaches this address controls the pipes and their data`,
    );
  mkdirSync(dataDir, { recursive: true });
  const life = new Lifetime(dataDir);
  try {
    await run(config, dataDir, life);
  } catch (error) {
    await life.stopAll();
    throw error;
  }
}

/**
 * The stand-ins, the pipe store, the CDC schedule and the state machines; then what the last run
 * left in flight continues, the API serves, the start's pipe is created and the pipes are watched.
 */
async function run(config: LocalConfig, dataDir: string, life: Lifetime): Promise<void> {
  const { clickhouse, dynamo, demo } = await startStandIns(config, dataDir, life);
  const store = new DynamoPipeStore({ client: dynamo.newClient(), tableName: STORE_TABLE, now: clock.now });
  const watcher = new PipeWatcher(store, output);
  await watcher.prime();
  const schedule = new LocalCdcSchedule({
    onError: (pipeId, error) =>
      output.line(`pipe ${watcher.nameOf(pipeId)}: CDC run failed: ${String(error)}`),
  });
  const runtime = localRuntime({
    store,
    schedule,
    watcher,
    clickhouseUrl: clickhouse.url,
    mongoUri: config.mongodbUri ?? demo?.uri,
  });
  const machines = localMachines(runtime, dataDir);
  life.machines = machines;
  schedule.start(localCdcInvoker(runtime));
  life.inFlight.push(() => stopCdc(store, schedule));
  // Before serving: what the last run left in flight continues first.
  await resumePipes(store, schedule, machines, demo ? DEMO_PIPE : null);
  const api = await startLocalApiServer({
    deps: localApiDeps({
      store,
      starter: machines,
      defaultDestination: localDestination(clickhouse.url),
      log: (line) => output.line(line),
    }),
    host: config.host,
    port: config.apiPort,
  });
  life.stops.push(() => api.stop());
  output.line(`api: ${api.url}`);
  await createStartPipe({ config, store, apiUrl: api.url, clickhouseUrl: clickhouse.url, demo });
  life.inFlight.push(
    every(
      WATCH_INTERVAL_MS,
      () => watcher.poll(),
      () => life.stopping,
    ),
  );
}

/** The embedded ClickHouse and DynamoDB, and the demo source unless --mongodb-uri names a source. */
async function startStandIns(config: LocalConfig, dataDir: string, life: Lifetime) {
  const clickhouse = await startEmbeddedClickHouse({
    dataDir: join(dataDir, 'clickhouse'),
    host: config.host,
    port: config.clickhousePort,
    maxQueryMemoryBytes: config.clickhouseMaxMemoryBytes,
  });
  life.stops.push(() => clickhouse.stop());
  output.line(`clickhouse: ${clickhouse.url}`);
  const dynamo = await startLocalDynamo({
    tableName: STORE_TABLE,
    path: join(dataDir, 'dynamodb'),
    host: config.host,
    port: config.dynamodbPort,
  });
  life.stops.push(() => dynamo.stop());
  output.line(`dynamodb: ${dynamo.endpoint} (table ${STORE_TABLE})`);
  if (config.mongodbUri) return { clickhouse, dynamo, demo: null };
  const demo: DemoSource = await startDemoSource(config.demoWriteIntervalMs, output, config.demoTopology);
  life.stops.push(() => demo.stop());
  output.line(`demo source: ${demo.uri}`);
  return { clickhouse, dynamo, demo };
}

/** What the handlers run with locally: the local schedule plays EventBridge Scheduler and the hand-over. */
function localRuntime(parts: {
  store: PipeStore;
  schedule: LocalCdcSchedule;
  watcher: PipeWatcher;
  clickhouseUrl: string;
  mongoUri: string | undefined;
}): Runtime {
  const { store, schedule, watcher } = parts;
  return {
    store,
    scheduler: schedule,
    cdcTrigger: schedule,
    cdcMetrics: consoleCdcMetrics(output.line, (pipeId) => watcher.nameOf(pipeId)),
    // The create machine started with a create request takes what the local API takes.
    createRules: { allowPlainSecrets: true, defaultDestination: localDestination(parts.clickhouseUrl) },
    clock,
    connect: connectWith({
      mongoUri: parts.mongoUri,
      clickhouse: { url: parts.clickhouseUrl },
      reuseClients: true,
      // The change source logs through the product's logger (functions/handlers/observability.ts).
    }),
  };
}

/** The local Step Functions, journaling every execution under the data directory. */
function localMachines(runtime: Runtime, dataDir: string): LocalStateMachines {
  return new LocalStateMachines({
    runtime,
    journalDir: join(dataDir, 'executions'),
    onJournalError: (executionId, error) =>
      output.line(`execution journal: ${executionId}: ${String(error)}`),
    onFinished: (execution) => {
      if (execution.status === 'FAILED')
        output.line(
          `execution ${execution.operation} failed: ${execution.error ?? ''} ${execution.cause ?? ''}`,
        );
    },
  });
}

/** The pipe `npm start` sets up: the demo pipe on the demo source, or `local` for --collections. */
async function createStartPipe(parts: {
  config: LocalConfig;
  store: PipeStore;
  apiUrl: string;
  clickhouseUrl: string;
  demo: DemoSource | null;
}): Promise<void> {
  const { config, demo } = parts;
  if (demo) {
    const destination = ClickHouseDestination.connect({ url: parts.clickhouseUrl });
    await createDemoPipe({
      store: parts.store,
      destination,
      apiUrl: parts.apiUrl,
      sourceUri: demo.uri,
      clickhouseUrl: parts.clickhouseUrl,
      syncIntervalSeconds: config.syncIntervalSeconds,
      output,
    });
    await destination.close();
  } else if (config.collections.length > 0) {
    await createLocalPipe(parts.apiUrl, config, parts.clickhouseUrl);
  }
}

/** The embedded ClickHouse, for create requests that name no destination. */
function localDestination(clickhouseUrl: string): Record<string, unknown> {
  return { url: clickhouseUrl, database: 'default', username: 'default', password: '' };
}

/** With --mongodb-uri: one pipe named `local` for the given collections, created through the API (idempotent by name). */
async function createLocalPipe(apiUrl: string, config: LocalConfig, clickhouseUrl: string): Promise<void> {
  const tableMappings = config.collections.map((name) => {
    const dot = name.indexOf('.');
    const coll = name.slice(dot + 1);
    return {
      sourceDatabaseName: name.slice(0, dot),
      sourceCollection: coll,
      targetTable: coll.replace(/[^A-Za-z0-9_]/g, '_').replace(/^([^A-Za-z_])/, '_$1'),
    };
  });
  const response = await fetch(`${apiUrl}/pipes`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      name: 'local',
      source: { uri: config.mongodbUri },
      destination: { url: clickhouseUrl, database: 'local', username: 'default', password: '' },
      settings: { tableMappings, syncIntervalSeconds: config.syncIntervalSeconds },
    }),
  });
  output.line(`pipe local: POST /pipes → ${response.status} ${await response.text()}`);
}

main().catch((error) => {
  if (error instanceof LocalConfigError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`npm start failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});

/**
 * The product's process in the product-alone CDC benchmark: nothing else runs in it. It builds a
 * Runtime as `npm start` does (the pipe store, the real adapters through connectWith, clients kept
 * between invocations as a warm Lambda keeps them) against the stand-ins of replay-child.ts, and
 * for each run creates a Running cdc_only pipe whose start point is the recording's, then invokes
 * the real CDC handler (cdcBatchTask through localCdcInvoker: loadPipe, the lease, cdcRun batch
 * after batch until caught up). Around each invocation it takes this process's CPU time
 * (process.cpuUsage: every thread, GC included), its GC pauses, the stand-ins' CPU time and the
 * machine's, and sends them to the parent; the last run may be profiled (profile.ts).
 */
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoPipeStore } from '../functions/adapters/dynamodb/store.js';
import type { CdcRunOutcome } from '../functions/engines/cdc-run.js';
import { connectWith, type Runtime } from '../functions/handlers/runtime.js';
import { systemClock } from '../functions/ports/clock.js';
import type { CdcBatchMetrics } from '../functions/ports/metrics.js';
import { localCdcInvoker } from '../local/cdc/invoke.js';
import { silentLog } from '../test/support/log.js';
import type { DiscardStats } from './discard-clickhouse.js';
import { cpuSecondsOfPid, machineBusySeconds } from './processes.js';
import { captureProfile, type ProfileSummary, summarizeProfile } from './profile.js';
import type { ReplayStandIns } from './replay-child.js';
import type { ReplayStats } from './replay-mongo.js';
import type { StartPoint } from './replay-recording.js';

export interface ReplayProductConfig {
  standIns: ReplayStandIns;
  standInsPid: number;
  db: string;
  coll: string;
  startPoint: StartPoint;
  events: number;
  /** Measured runs, then one profiled run when `profile`. */
  runs: number;
  profile: boolean;
  profileTop: number;
}

export interface ReplayRunFigures {
  run: number;
  profiled: boolean;
  events: number;
  batches: number[];
  /** BSON bytes of the events read (the change source's count). */
  eventBytes: number;
  rows: number;
  endedBecause: string;
  wallSeconds: number;
  /** This process: user and system CPU seconds, and the GC pauses within them. */
  cpuUser: number;
  cpuSystem: number;
  gcPauseSeconds: number;
  standInsCpu: number | undefined;
  machineBusy: number | undefined;
  discard: Pick<DiscardStats, 'inserts' | 'bodyBytes' | 'rows' | 'requests'>;
  replay: Pick<ReplayStats, 'streams' | 'replies' | 'eventsSent' | 'eventBytesSent'>;
  profile?: ProfileSummary;
}

export type ReplayProductMessage =
  | { type: 'run'; figures: ReplayRunFigures }
  | { type: 'done' }
  | { type: 'error'; message: string };

process.once('disconnect', () => process.exit(0));
const config = JSON.parse(process.env.BENCH_REPLAY ?? '{}') as ReplayProductConfig;
const send = (message: ReplayProductMessage) =>
  new Promise<void>((resolve) => process.send?.(message, () => resolve()) ?? resolve());

let gcMillis = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) gcMillis += entry.duration;
}).observe({ entryTypes: ['gc'] });

const store = new DynamoPipeStore({
  client: new DynamoDBClient({
    endpoint: config.standIns.dynamoEndpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  }),
  tableName: config.standIns.dynamoTable,
});
const batches: CdcBatchMetrics[] = [];
const runtime: Runtime = {
  store,
  scheduler: {
    ensure: async () => undefined,
    enable: async () => undefined,
    disable: async () => undefined,
    remove: async () => undefined,
  },
  clock: systemClock,
  cdcMetrics: {
    batchApplied: (_pipeId, batch) => batches.push(batch),
    pipeFailed: () => undefined,
  },
  connect: connectWith({
    mongoUri: config.standIns.mongoUri,
    clickhouse: { url: config.standIns.clickhouseUrl },
    log: silentLog,
    reuseClients: true,
  }),
};
const invoke = localCdcInvoker(runtime);

async function newPipe(run: number): Promise<string> {
  const mapping = {
    sourceDatabaseName: config.db,
    sourceCollection: config.coll,
    targetTable: 'events_replay',
  };
  const { pipe } = await store.createPipe({
    id: `replay-${process.pid}-${run}`,
    name: `replay-${process.pid}-${run}`,
    settings: { tableMappings: [mapping], replicationMode: 'cdc_only' },
    source: { kind: 'mongodb' },
    destination: { kind: 'clickhouse', database: 'bench' },
    actor: 'bench',
  });
  await store.putTableMapping(pipe.id, mapping, 'Replicating');
  for (const event of ['provisioned', 'destinationReadyCdcOnly'] as const)
    await store.applyEvent(pipe.id, event, { reason: 'bench', actor: 'bench' });
  await store.recordStartPoint(pipe.id, config.startPoint);
  return pipe.id;
}

async function standInStats(): Promise<{ replay: ReplayStats; discard: DiscardStats }> {
  const response = await fetch(`${config.standIns.clickhouseUrl}/__stats`);
  return (await response.json()) as { replay: ReplayStats; discard: DiscardStats };
}

/** Lets the GC observer's queued entries arrive. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

async function measuredRun(run: number, profiled: boolean): Promise<ReplayRunFigures> {
  const pipeId = await newPipe(run);
  const before = await standInStats();
  await settle();
  batches.length = 0;
  const gcBefore = gcMillis;
  const standInsBefore = cpuSecondsOfPid(config.standInsPid);
  const machineBefore = machineBusySeconds();
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  let outcome: CdcRunOutcome;
  let profile: ProfileSummary | undefined;
  if (profiled) {
    const captured = await captureProfile(() => invoke(pipeId, 'schedule'));
    outcome = captured.result as CdcRunOutcome;
    profile = summarizeProfile('cdc-replay', captured.profile, config.profileTop);
  } else outcome = (await invoke(pipeId, 'schedule')) as CdcRunOutcome;
  const wallSeconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const standInsAfter = cpuSecondsOfPid(config.standInsPid);
  const machineAfter = machineBusySeconds();
  await settle();
  const after = await standInStats();
  if (outcome.status !== 'ran') throw new Error(`the CDC run was skipped: ${outcome.reason}`);
  if (outcome.events !== config.events)
    throw new Error(`the CDC run applied ${outcome.events} events, the recording holds ${config.events}`);
  const diff = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined ? undefined : b - a;
  return {
    run,
    profiled,
    events: outcome.events,
    batches: batches.filter((batch) => batch.events > 0).map((batch) => batch.events),
    eventBytes: outcome.bytes,
    rows: batches.reduce((sum, batch) => sum + batch.rows, 0),
    endedBecause: outcome.endedBecause,
    wallSeconds,
    cpuUser: cpu.user / 1e6,
    cpuSystem: cpu.system / 1e6,
    gcPauseSeconds: (gcMillis - gcBefore) / 1000,
    standInsCpu: diff(standInsBefore, standInsAfter),
    machineBusy: diff(machineBefore, machineAfter),
    discard: {
      requests: after.discard.requests - before.discard.requests,
      inserts: after.discard.inserts - before.discard.inserts,
      bodyBytes: after.discard.bodyBytes - before.discard.bodyBytes,
      rows: after.discard.rows - before.discard.rows,
    },
    replay: {
      streams: after.replay.streams - before.replay.streams,
      replies: after.replay.replies - before.replay.replies,
      eventsSent: after.replay.eventsSent - before.replay.eventsSent,
      eventBytesSent: after.replay.eventBytesSent - before.replay.eventBytesSent,
    },
    ...(profile ? { profile } : {}),
  };
}

try {
  for (let run = 1; run <= config.runs; run += 1)
    await send({ type: 'run', figures: await measuredRun(run, false) });
  if (config.profile) await send({ type: 'run', figures: await measuredRun(config.runs + 1, true) });
  await send({ type: 'done' });
} catch (error) {
  await send({
    type: 'error',
    message: error instanceof Error ? (error.stack ?? error.message) : String(error),
  });
}
process.exit(0);

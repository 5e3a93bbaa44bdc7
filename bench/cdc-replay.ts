/**
 * CDC, the product alone (issue 15): the change stream of the drain backlog, recorded once from
 * the simulator (replay-recording.ts), is served from memory by a wire-protocol replay server as
 * fast as the product asks (replay-mongo.ts); the inserts go to an endpoint that discards them
 * (discard-clickhouse.ts); the pipe store is dynalite. Those three run in one child process
 * (replay-child.ts), the product in another (replay-product.ts) that runs nothing else, so the
 * CPU time of the product's process is the product's own. Prints events, wall time, events/s,
 * product CPU, µs of product CPU per event, events/s per core of product CPU, and a profile.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CdcBacklog } from './cdc-drain.js';
import { firstMessage, forkTs, stopChild } from './processes.js';
import type { ProfileEntry } from './profile.js';
import type { ReplayStandIns } from './replay-child.js';
import type { ReplayProductConfig, ReplayProductMessage, ReplayRunFigures } from './replay-product.js';
import { type RecordingHeader, readRecordingHeader, recordChangeStream } from './replay-recording.js';
import { loadAverage, MB, perSecond, seconds } from './report.js';
import { cpuBetween, type World } from './world.js';

const STAND_INS_ENTRY = fileURLToPath(new URL('./replay-child.ts', import.meta.url));
const PRODUCT_ENTRY = fileURLToPath(new URL('./replay-product.ts', import.meta.url));
const PROFILE_TOP = 10;

export interface ReplayOptions {
  /** Measured runs (a profiled run comes after them). */
  runs: number;
  /** Keep the recording here, and reuse it when it exists. */
  file: string | undefined;
}

export interface ReplayFigures {
  recording: RecordingHeader;
  runs: ReplayRunFigures[];
  /** The measured run with the median CPU per event (the slower middle one of an even count). */
  median: ReplayRunFigures;
  profiled: ReplayRunFigures | undefined;
}

export const productCpu = (run: ReplayRunFigures) => run.cpuUser + run.cpuSystem;
export const microsPerEvent = (run: ReplayRunFigures) => (1e6 * productCpu(run)) / run.events;
export const eventsPerCoreSecond = (run: ReplayRunFigures) => run.events / productCpu(run);

/** Needs the drain backlog unless `options.file` holds a recording already. */
export async function replayBenchmark(
  world: World,
  backlog: CdcBacklog | undefined,
  options: ReplayOptions,
): Promise<ReplayFigures> {
  const { file, header, temporary } = await recording(world, backlog, options.file);
  try {
    const runs = await runProduct(file, header, options.runs);
    const measured = runs.filter((run) => !run.profiled);
    const byCpu = [...measured].sort((a, b) => microsPerEvent(a) - microsPerEvent(b));
    // With an even count, the slower of the two middle runs.
    const median = byCpu[Math.ceil((byCpu.length - 1) / 2)] as ReplayRunFigures;
    const profiled = runs.find((run) => run.profiled);
    if (profiled?.profile) printProfile(profiled);
    const range = `${microsPerEvent(byCpu[0] as ReplayRunFigures).toFixed(1)}–${microsPerEvent(byCpu.at(-1) as ReplayRunFigures).toFixed(1)}`;
    console.log(
      `product alone (median of ${measured.length} runs by CPU): ${perSecond(median.events, productCpu(median))} events/s per core ` +
        `of product CPU, ${microsPerEvent(median).toFixed(1)} µs of product CPU per event (runs: ${range} µs); ` +
        `${perSecond(median.events, median.wallSeconds)} events/s wall; load average now ${loadAverage()}`,
    );
    return { recording: header, runs, median, profiled };
  } finally {
    if (temporary) rmSync(temporary, { recursive: true, force: true });
  }
}

async function recording(
  world: World,
  backlog: CdcBacklog | undefined,
  kept: string | undefined,
): Promise<{ file: string; header: RecordingHeader; temporary: string | undefined }> {
  if (kept && existsSync(kept)) {
    const header = readRecordingHeader(kept);
    console.log(`recording: ${kept} (made ${header.recordedAt}), ${describe(header)}`);
    return { file: kept, header, temporary: undefined };
  }
  if (!backlog)
    throw new Error('the replay needs the drain backlog to record, or --replay-file with a recording');
  const temporary = kept ? undefined : mkdtempSync(join(tmpdir(), 'bench-replay-'));
  const file = kept ?? join(temporary as string, 'events.replay');
  const start = await world.store.getStartPoint(backlog.drainPipe.pipeId);
  if (!start) throw new Error('the drain pipe has no start point');
  const before = world.cpu();
  const started = performance.now();
  const header = await recordChangeStream(
    world.mongoUri,
    { db: backlog.drainPipe.db, coll: backlog.drainPipe.coll },
    { token: start.token, clusterTime: start.clusterTime },
    file,
  );
  const cpu = cpuBetween(before, world.cpu());
  if (header.events !== backlog.events)
    throw new Error(`recorded ${header.events} events, the backlog holds ${backlog.events}`);
  console.log(
    `recording (setup, once): ${describe(header)}, read from the simulator in ` +
      `${seconds((performance.now() - started) / 1000)} s (simulator CPU ${cpu.simulator?.toFixed(2) ?? 'n/a'} s) into ${file}`,
  );
  return { file, header, temporary };
}

function describe(header: RecordingHeader): string {
  const types = Object.entries(header.operationTypes)
    .map(([type, count]) => `${count} ${type}`)
    .join(', ');
  return (
    `${header.events} events (${types}), ${(header.eventBytes / MB).toFixed(1)} MB of event BSON ` +
    `(${Math.round(header.eventBytes / header.events)} B per event), ${header.replies} simulator replies`
  );
}

async function runProduct(file: string, header: RecordingHeader, runs: number): Promise<ReplayRunFigures[]> {
  const standInsChild = forkTs(STAND_INS_ENTRY, [file]);
  try {
    const standIns = await firstMessage<ReplayStandIns>(standInsChild, 'the replay stand-ins');
    const config: ReplayProductConfig = {
      standIns,
      standInsPid: standInsChild.pid ?? -1,
      db: header.db,
      coll: header.coll,
      startPoint: header.startPoint,
      events: header.events,
      runs,
      profile: true,
      // (idle) and (program) take two places; they are left out of the printed top.
      profileTop: PROFILE_TOP + 2,
    };
    console.log(
      `stand-ins in one child process (pid ${standInsChild.pid}): replay server ${standIns.mongoUri}, ` +
        `discarding ClickHouse endpoint ${standIns.clickhouseUrl}, dynalite; the product in another ` +
        `(the CDC handler, cdcRun until caught up, clients kept between runs as in a warm Lambda)`,
    );
    const product = forkTs(PRODUCT_ENTRY, [], { ...process.env, BENCH_REPLAY: JSON.stringify(config) });
    try {
      return await collect(product, header);
    } finally {
      await stopChild(product);
    }
  } finally {
    await stopChild(standInsChild);
  }
}

function collect(product: ReturnType<typeof forkTs>, header: RecordingHeader): Promise<ReplayRunFigures[]> {
  const runs: ReplayRunFigures[] = [];
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) =>
      reject(new Error(`the product process exited (code ${code}) before its runs were done`));
    product.once('exit', onExit);
    product.on('message', (raw) => {
      const message = raw as ReplayProductMessage;
      if (message.type === 'run') {
        try {
          check(message.figures, header);
        } catch (error) {
          product.off('exit', onExit);
          reject(error);
          return;
        }
        runs.push(message.figures);
        printRun(message.figures);
      } else {
        product.off('exit', onExit);
        if (message.type === 'done') resolve(runs);
        else reject(new Error(`the product process failed: ${message.message}`));
      }
    });
  });
}

/** Every recorded event was applied and every row the product reported reached the endpoint. */
function check(run: ReplayRunFigures, header: RecordingHeader): void {
  if (run.events !== header.events)
    throw new Error(`run ${run.run}: ${run.events} events, recorded ${header.events}`);
  if (run.discard.rows !== run.rows)
    throw new Error(
      `run ${run.run}: the product reported ${run.rows} rows, the endpoint received ${run.discard.rows}`,
    );
  if (run.endedBecause !== 'caught-up')
    throw new Error(`run ${run.run} ended ${run.endedBecause}, not caught up`);
}

function printRun(run: ReplayRunFigures): void {
  const cpu = productCpu(run);
  const others =
    run.machineBusy === undefined
      ? 'n/a'
      : `${(Math.max(0, run.machineBusy - cpu - (run.standInsCpu ?? 0)) / run.wallSeconds).toFixed(2)} cores`;
  console.log(
    `run ${run.run}${run.profiled ? ' (profiled)' : ''}: ${run.events} events in ${seconds(run.wallSeconds)} s wall ` +
      `(${perSecond(run.events, run.wallSeconds)} events/s); product CPU ${cpu.toFixed(2)} s ` +
      `(user ${run.cpuUser.toFixed(2)}, system ${run.cpuSystem.toFixed(2)}; GC pauses ${run.gcPauseSeconds.toFixed(2)} s; ` +
      `${(cpu / run.wallSeconds).toFixed(2)} of a core) = ${microsPerEvent(run).toFixed(1)} µs per event = ` +
      `${perSecond(run.events, cpu)} events/s per core`,
  );
  console.log(
    `  ${run.batches.length} batches (${run.batches.join(', ')} events), ${(run.eventBytes / MB).toFixed(1)} MB of event BSON ` +
      `in ${run.replay.replies} replies over ${run.replay.streams} streams; ${run.rows} rows in ${run.discard.inserts} inserts, ` +
      `${(run.discard.bodyBytes / MB).toFixed(1)} MB of JSONEachRow; stand-ins CPU ` +
      `${run.standInsCpu?.toFixed(2) ?? 'n/a'} s (not counted); everything else on the machine: ${others}`,
  );
}

function printProfile(run: ReplayRunFigures): void {
  const profile = run.profile;
  if (!profile) return;
  const busy = profile.sampledMicros - profile.idleMicros;
  const line = (entry: ProfileEntry) =>
    `    ${((100 * entry.micros) / busy).toFixed(1).padStart(5)}%  ${(entry.micros / run.events).toFixed(2).padStart(6)} µs/event  ${entry.name}`;
  console.log(
    `profile of the product's main thread during run ${run.run} (V8 sampling profiler, 0.5 ms): ` +
      `${(profile.sampledMicros / 1e6).toFixed(2)} s sampled, ${(busy / 1e6).toFixed(2)} s busy ` +
      `(idle ${((100 * profile.idleMicros) / profile.sampledMicros).toFixed(1)}% of the wall time); ` +
      `shares below are of the busy time; written to ${profile.file}`,
  );
  const top = (entries: ProfileEntry[]) =>
    entries.filter((entry) => entry.name !== '(idle)').slice(0, PROFILE_TOP);
  console.log(`  top ${PROFILE_TOP} by function (self time; µs/event is that time over the run's events):`);
  for (const entry of top(profile.byFunction)) console.log(line(entry));
  console.log('  by file or package (self time):');
  for (const entry of top(profile.byFile)) console.log(line(entry));
}

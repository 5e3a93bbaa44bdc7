/**
 * Sustained load on the product's real CDC scheduling path (`--only sustained`): the schedule of
 * local/cdc/schedule.ts invokes the real handler, a writer process inserts ~1 KB documents at a
 * fixed rate, and the benchmark only counts rows in ClickHouse and reads `_peerdb_synced_at`.
 *
 * 1. drain: a backlog written first (untimed), then one run (runSoon) drains it: events/s;
 * 2. steady: `rate` inserts/s for `minutes` intervals at syncIntervalSeconds 60: per interval
 *    written, replicated, backlog, lag; then how long until the backlog is 0;
 * 3. ramp: higher rates, each for `stepMinutes` intervals on a fresh pipe, up to the first that
 *    is not sustained, then a bisection: the highest sustained rate against phase 1's drain rate;
 * 4. continuous: syncIntervalSeconds 2 at `rate` inserts/s: lag.
 * See docs/performance.md ("Sustained load") for the definitions.
 */
import { loadOrders } from './documents.js';
import { cpuLine, percentile, section } from './report.js';
import { countRows, type LagStats } from './sustained-load.js';
import {
  CONTINUOUS_INTERVAL_S,
  CONTINUOUS_P99_TARGET_MS,
  type Context,
  cleanUp,
  describeRun,
  failuresLine,
  fmt,
  LAG_MARGIN_TARGET_S,
  LoadPhase,
  ms,
  SCHEDULED_INTERVAL_S,
  sleep,
} from './sustained-phase.js';
import { rampPhase } from './sustained-ramp.js';
import { runningPipe, ScheduledCdc, SUSTAINED_DB, withCappedSimulator } from './sustained-runtime.js';
import { cpuBetween, type World } from './world.js';

export interface SustainedOptions {
  /** Phase 1: inserts written before the one draining run. */
  backlog: number;
  /** Phases 2 and 4: inserts per second. */
  rate: number;
  /** Phase 2: how many intervals the writer writes. */
  minutes: number;
  /**
   * Phase 3: intervals per step, first rate (0: half the drain rate, rounded down to a multiple of the
   * step, at least 2000), linear step, bisections after the first failure, most linear steps.
   */
  stepMinutes: number;
  rampFrom: number;
  rampStep: number;
  rampBisect: number;
  rampMaxSteps: number;
  /** Phase 4: how many intervals the writer writes. */
  continuousMinutes: number;
  /** The capped oplog of the section's simulator. */
  oplogMiB: number;
  /** One schedule minute (60 000 as in AWS; shorter only to try the section out). */
  minuteMs: number;
}

export interface SustainedFigures {
  drain: DrainFigures;
  steady: { rate: number; lag: LagStats; drainOutSeconds: number | null; targetLagMs: number };
  ramp: {
    highest: StepFigures | null;
    ratio: number | null;
    /** A step failed: the highest sustained rate is the ceiling (within the bisection). */
    ceilingFound: boolean;
    steps: StepFigures[];
  };
  continuous: { rate: number; lag: LagStats };
}

export interface StepFigures {
  target: number;
  /** Inserts acknowledged per second over the writer's run. */
  achieved: number;
  /** The writer fell more than 3% short of the target (the source did not take the writes). */
  writerShort: boolean;
  sustained: boolean;
  /** The most any tick found beyond the inserts of the interval before it. */
  carryOver: number;
  /** Rows per second reaching ClickHouse from the first scheduled tick to the writer's stop. */
  drainedWhileWriting: number | null;
  /** Lag of every row (sustained steps only, once the backlog is 0). */
  lag: LagStats | null;
}

export interface DrainFigures {
  events: number;
  seconds: number;
  rate: number;
  /** The largest batch of the run (events): the 32 MiB read bound. */
  largestBatch: number;
}

export async function sustainedBenchmark(
  shared: World,
  options: SustainedOptions,
): Promise<SustainedFigures> {
  const world = await withCappedSimulator(shared, options.oplogMiB * 2 ** 20);
  const cdc = new ScheduledCdc(world, options.minuteMs);
  cdc.start();
  const context: Context = { world, cdc, options, intervalMs: options.minuteMs };
  try {
    console.log(
      `path: a Runtime as local/start.ts builds it (pipe store, LocalCdcSchedule as scheduler and cdcTrigger, ` +
        `connectWith to the simulator and ClickHouse); the schedule invokes cdcBatchTask with a Lambda's 15 minutes ` +
        `(cdcTimeBudgetSeconds 840). Pipes: cdc_only, one collection, Running. Simulator: its own process, oplog capped ` +
        `at ${options.oplogMiB} MiB.`,
    );
    if (options.minuteMs !== 60_000)
      console.log(
        `NOTE: --minute-ms ${options.minuteMs}: a schedule minute is shortened, figures are not the deployment's`,
      );
    section(`5.1 drain rate: one run over a backlog of ${options.backlog} inserts`);
    const drain = await drainPhase(context);
    section(
      `5.2 steady load: ${options.rate} inserts/s for ${options.minutes} intervals, syncIntervalSeconds ${SCHEDULED_INTERVAL_S}`,
    );
    const steady = await steadyPhase(context);
    section(
      `5.3 ramp: ${options.stepMinutes} intervals per rate, syncIntervalSeconds ${SCHEDULED_INTERVAL_S}`,
    );
    const ramp = await rampPhase(context, drain);
    section(
      `5.4 continuous mode: syncIntervalSeconds ${CONTINUOUS_INTERVAL_S}, ${options.rate} inserts/s for ` +
        `${options.continuousMinutes} intervals`,
    );
    const continuous = await continuousPhase(context);
    return { drain, steady, ramp, continuous };
  } finally {
    await cdc.stop();
    await world.stop();
  }
}

// ---------------------------------------------------------------- phase 1

async function drainPhase(context: Context): Promise<DrainFigures> {
  const { world, cdc, options } = context;
  const pipe = await runningPipe(world, 'sustained_drain', { syncIntervalSeconds: SCHEDULED_INTERVAL_S });
  const writeStarted = performance.now();
  await loadOrders(world.mongo.db(SUSTAINED_DB).collection(pipe.coll), options.backlog);
  console.log(
    `backlog: ${options.backlog} inserts of ~1 KB written in ${((performance.now() - writeStarted) / 1000).toFixed(1)} s ` +
      '(setup, not timed); the schedule is not enabled, one runSoon starts the run',
  );
  const before = world.cpu();
  await cdc.runSoon(pipe.pipeId);
  const deadline = Date.now() + 20 * 60_000;
  let replicated = 0;
  for (;;) {
    await sleep(250);
    if (cdc.inProgress(pipe.pipeId) === 0) {
      replicated = await countRows(world, pipe.target);
      if (replicated >= options.backlog) break;
      if (cdc.errors.some((error) => error.pipeId === pipe.pipeId)) break;
    }
    if (Date.now() > deadline) throw new Error('the drain did not end within 20 minutes');
  }
  const cpu = cpuBetween(before, world.cpu());
  const runs = cdc.runsOf(pipe.pipeId);
  const ran = runs.filter((run) => run.outcome?.status === 'ran');
  const first = runs[0];
  const last = runs.at(-1);
  if (!first || !last || last.endedAt === null || ran.length === 0)
    throw new Error('no CDC run drained the backlog');
  const events = ran.reduce((sum, run) => sum + (run.outcome?.status === 'ran' ? run.outcome.events : 0), 0);
  if (events !== options.backlog || replicated !== options.backlog)
    throw new Error(
      `the drain applied ${events} events and left ${replicated} rows for ${options.backlog} inserts`,
    );
  const seconds = (last.endedAt - first.startedAt) / 1000;
  const runSeconds =
    ran.reduce((sum, run) => sum + (run.outcome?.status === 'ran' ? run.outcome.durationMs : 0), 0) / 1000;
  const rate = events / seconds;
  console.log(
    `drained ${events} events in ${seconds.toFixed(2)} s (invocation to handler return): ` +
      `**${Math.round(rate).toLocaleString('en-US')} events/s** (the back-to-back drain rate); ` +
      `the run's own time (lease to end) ${runSeconds.toFixed(2)} s`,
  );
  for (const run of runs) console.log(`  ${describeRun(run, first.startedAt)}`);
  const batches = cdc.batches.filter((batch) => batch.pipeId === pipe.pipeId && batch.events > 0);
  console.log(
    `  batches (pullBatchSize 100000, 32 MiB read bound): ${batches.map((batch) => fmt(batch.events)).join(', ')}`,
  );
  console.log(`  ${cpuLine(cpu, seconds)}`);
  await cleanUp(context, pipe);
  return { events, seconds, rate, largestBatch: Math.max(0, ...batches.map((batch) => batch.events)) };
}

async function steadyPhase(context: Context): Promise<SustainedFigures['steady']> {
  const { options, intervalMs } = context;
  const seconds = (options.minutes * intervalMs) / 1000;
  const phase = await LoadPhase.begin(
    context,
    'sustained_steady',
    SCHEDULED_INTERVAL_S,
    options.rate,
    seconds,
  );
  await phase.write(options.minutes);
  const drained = await phase.drained(3 * intervalMs);
  await phase.finish();
  console.log(`  ${phase.writerLine()}`);
  await phase.intervalTable();
  const lag = await phase.lag();
  const drainOutSeconds = phase.drainedAt === null ? null : (phase.drainedAt - phase.stoppedAt) / 1000;
  const nextTick = phase.ticks.find((tick) => tick.trigger === 'schedule' && tick.at > phase.stoppedAt);
  console.log(
    `  after the writer stopped: ${
      drained
        ? `backlog 0 after ${(drainOutSeconds ?? 0).toFixed(1)} s`
        : `backlog still ${fmt(phase.acks.acked - (phase.sampler.samples.at(-1)?.replicated ?? 0))} after ${(3 * intervalMs) / 1000} s`
    }` +
      (nextTick
        ? ` (the next scheduled tick came ${((nextTick.at - phase.stoppedAt) / 1000).toFixed(1)} s after the stop)`
        : ''),
  );
  console.log(
    `  lag of all ${fmt(lag.count)} of ${fmt(phase.acks.acked)} rows: p50 ${ms(lag.p50)}, p99 ${ms(lag.p99)}, max ${ms(lag.max)}`,
  );
  const targetLagMs = (intervalMs / 1000 + LAG_MARGIN_TARGET_S) * 1000;
  console.log(
    `  targets (reported, not asserted): lag max ${ms(lag.max)} ≤ interval + ${LAG_MARGIN_TARGET_S} s = ` +
      `${ms(targetLagMs)}: ${lag.max <= targetLagMs ? 'met' : 'NOT met'}; backlog 0 within one interval of the ` +
      `stop: ${drainOutSeconds !== null && drainOutSeconds <= intervalMs / 1000 ? 'met' : 'NOT met'}`,
  );
  phase.printRuns();
  failuresLine(phase);
  console.log(`  ${cpuLine(phase.cpu, phase.wall)}; simulator RSS ${phase.simulatorRss()}`);
  await cleanUp(context, phase.pipe);
  return { rate: phase.achievedRate, lag, drainOutSeconds, targetLagMs };
}

// ---------------------------------------------------------------- phase 3

// ---------------------------------------------------------------- phase 4

async function continuousPhase(context: Context): Promise<SustainedFigures['continuous']> {
  const { options, intervalMs } = context;
  const seconds = (options.continuousMinutes * intervalMs) / 1000;
  const phase = await LoadPhase.begin(
    context,
    'sustained_continuous',
    CONTINUOUS_INTERVAL_S,
    options.rate,
    seconds,
  );
  await phase.write(options.continuousMinutes);
  const drained = await phase.drained(60_000);
  await phase.finish();
  console.log(`  ${phase.writerLine()}`);
  await phase.intervalTable();
  const lag = await phase.lag();
  console.log(
    `  after the writer stopped: ${drained ? `backlog 0 after ${(((phase.drainedAt ?? 0) - phase.stoppedAt) / 1000).toFixed(1)} s` : 'backlog not 0 within 60 s'}`,
  );
  console.log(
    `  lag of all ${fmt(lag.count)} of ${fmt(phase.acks.acked)} rows: p50 ${ms(lag.p50)}, **p99 ${ms(lag.p99)}**, ` +
      `max ${ms(lag.max)}; target p99 ≤ ${ms(CONTINUOUS_P99_TARGET_MS)} (reported, not asserted): ` +
      `${lag.p99 <= CONTINUOUS_P99_TARGET_MS ? 'met' : 'NOT met'}`,
  );
  const batches = context.cdc.batches.filter(
    (batch) => batch.pipeId === phase.pipe.pipeId && batch.events > 0,
  );
  const sizes = batches.map((batch) => batch.events).sort((a, b) => a - b);
  console.log(
    `  flushes that applied events: ${batches.length}, median ${fmt(percentile(sizes, 50))} events ` +
      `(the run flushes every ${CONTINUOUS_INTERVAL_S} s; the schedule's ticks find the lease held and do nothing)`,
  );
  phase.printRuns();
  failuresLine(phase);
  console.log(`  ${cpuLine(phase.cpu, phase.wall)}; simulator RSS ${phase.simulatorRss()}`);
  await cleanUp(context, phase.pipe);
  return { rate: phase.achievedRate, lag };
}

// ---------------------------------------------------------------- helpers

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
import { readFileSync } from 'node:fs';
import { loadOrders } from './documents.js';
import type { BenchPipe } from './pipes.js';
import { cpuLine, percentile, section } from './report.js';
import {
  type AckLog,
  type BacklogSample,
  BacklogSampler,
  countRows,
  type LagStats,
  LoadWriter,
  lagOf,
  syncedAtById,
} from './sustained-load.js';
import {
  dropPipeData,
  type RunRecord,
  runningPipe,
  ScheduledCdc,
  SUSTAINED_DB,
  withCappedSimulator,
} from './sustained-runtime.js';
import { type CpuSample, cpuBetween, settleMerges, type World } from './world.js';

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

/** syncIntervalSeconds of the scheduled phases (the deployment's), and of the continuous phase. */
const SCHEDULED_INTERVAL_S = 60;
const CONTINUOUS_INTERVAL_S = 2;
/** A tick's backlog may exceed the interval's writes by this many seconds of writes, or one batch (whichever is more). */
const TOLERANCE_S = 5;
/** Issue 13's target: at 1,000 inserts/s the lag never exceeds the interval + 15 s. */
const LAG_MARGIN_TARGET_S = 15;
const CONTINUOUS_P99_TARGET_MS = 5_000;

interface Context {
  world: World;
  cdc: ScheduledCdc;
  options: SustainedOptions;
  /** One scheduled interval in ms (a schedule minute). */
  intervalMs: number;
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

// ---------------------------------------------------------------- the load phases

interface Tick {
  trigger: string;
  at: number;
  sample: BacklogSample | null;
}

/** One pipe, one writer, the backlog sampled every second, every invocation of the pipe noted. */
class LoadPhase {
  readonly ticks: Tick[] = [];
  readonly boundaries: BacklogSample[] = [];
  startedAt = 0;
  /** The writer's last acknowledgement (epoch ms). */
  stoppedAt = 0;
  drainedAt: number | null = null;
  cpu: CpuSample & { extra: number | undefined; extraName: string } = {
    bench: 0,
    simulator: undefined,
    clickhouse: undefined,
    machine: undefined,
    extra: undefined,
    extraName: 'writer',
  };
  wall = 0;
  private cpuBefore: CpuSample | null = null;
  private synced: Float64Array | null = null;

  private constructor(
    private readonly context: Context,
    readonly pipe: BenchPipe,
    readonly writer: LoadWriter,
    readonly sampler: BacklogSampler,
    readonly rate: number,
    readonly seconds: number,
  ) {}

  get acks(): AckLog {
    return this.writer.acks;
  }

  /** Pipe and writer ready, schedule enabled (SetSchedule: a run at once, then every interval), writer going. */
  static async begin(
    context: Context,
    name: string,
    syncIntervalSeconds: number,
    rate: number,
    seconds: number,
  ): Promise<LoadPhase> {
    const { world, cdc } = context;
    const pipe = await runningPipe(world, name, { syncIntervalSeconds });
    const writer = await LoadWriter.start(world, { db: SUSTAINED_DB, coll: pipe.coll, rate, seconds });
    const phase = new LoadPhase(
      context,
      pipe,
      writer,
      new BacklogSampler(world, pipe.target, writer.acks),
      rate,
      seconds,
    );
    cdc.onInvoke = (pipeId, trigger, at) => {
      if (pipeId !== pipe.pipeId) return;
      const tick: Tick = { trigger, at, sample: null };
      phase.ticks.push(tick);
      phase.sampler.sample().then(
        (sample) => {
          tick.sample = sample;
        },
        () => undefined,
      );
    };
    phase.cpuBefore = world.cpu();
    await cdc.enable(pipe.pipeId);
    phase.startedAt = writer.go();
    phase.sampler.start();
    return phase;
  }

  /**
   * A sample at each of the first `intervals` interval boundaries (with a progress line), then
   * waits for the writer to be done.
   */
  async write(intervals: number): Promise<void> {
    const { intervalMs } = this.context;
    const deadline = this.startedAt + this.seconds * 1000 + 5 * 60_000;
    for (let k = 1; k <= intervals; k += 1) {
      const boundary = this.startedAt + k * intervalMs;
      while (Date.now() < boundary) await sleep(Math.min(250, Math.max(1, boundary - Date.now())));
      const sample = await this.sampler.sample();
      this.boundaries.push(sample);
      console.log(
        `  ${secondsSince(this.startedAt, sample.at)} s: written ${fmt(sample.acked)}, in ClickHouse ` +
          `${fmt(sample.replicated)}, backlog ${fmt(sample.acked - sample.replicated)}`,
      );
    }
    let timer: NodeJS.Timeout | undefined;
    const summary = await Promise.race([
      this.writer.done,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error('the writer did not finish')),
          Math.max(0, deadline - Date.now()),
        );
      }),
    ]).finally(() => clearTimeout(timer));
    this.stoppedAt = this.startedAt + summary.wallSeconds * 1000;
    if (summary.failed > 0) console.log(`  the writer saw ${summary.failed} inserts fail`);
  }

  /** Waits (at most `limitMs`) until every acknowledged insert is in ClickHouse; true when it is. */
  async drained(limitMs: number): Promise<boolean> {
    const total = this.acks.acked;
    const deadline = Date.now() + limitMs;
    while (Date.now() < deadline) {
      const sample = await this.sampler.sample();
      if (sample.replicated >= total) {
        this.drainedAt = sample.at;
        return true;
      }
      await sleep(500);
    }
    return false;
  }

  /** Stops sampling and the writer; the CPU of the phase. */
  async finish(): Promise<void> {
    const { world, cdc } = this.context;
    await this.sampler.stop();
    const end = this.drainedAt ?? Date.now();
    this.wall = (end - this.startedAt) / 1000;
    if (this.cpuBefore)
      this.cpu = {
        ...cpuBetween(this.cpuBefore, world.cpu()),
        extra: this.writer.summary?.cpuSeconds,
        extraName: 'writer',
      };
    cdc.onInvoke = null;
    await this.writer.stop();
  }

  async lag(include?: (at: number) => boolean): Promise<LagStats> {
    this.synced ??= await syncedAtById(
      this.context.world,
      this.pipe.target,
      this.writer.summary?.issued ?? 0,
    );
    return lagOf(this.acks, this.synced, include);
  }

  get achievedRate(): number {
    const summary = this.writer.summary;
    return summary && summary.wallSeconds > 0 ? summary.acked / summary.wallSeconds : 0;
  }

  writerLine(): string {
    const summary = this.writer.summary;
    if (!summary) return 'writer: no summary';
    return (
      `writer: ${fmt(summary.acked)} inserts acknowledged in ${summary.wallSeconds.toFixed(1)} s = ` +
      `${fmt(Math.round(this.achievedRate))}/s (target ${fmt(this.rate)}/s); most ever due but unsent ` +
      `${fmt(summary.maxBehind)}`
    );
  }

  runs(): RunRecord[] {
    return this.context.cdc.runsOf(this.pipe.pipeId);
  }

  failures(): string[] {
    return this.context.cdc.errors
      .filter((error) => error.pipeId === this.pipe.pipeId)
      .map((error) => error.message);
  }

  /** Per interval of writing: written, replicated, backlog at its end, lag of its rows, runs started in it. */
  async intervalTable(): Promise<void> {
    const { intervalMs } = this.context;
    console.log(
      '  | interval | written | replicated | backlog at end | lag p50 | lag p99 | lag max | runs started (events, seconds) |',
    );
    console.log('  |---|---|---|---|---|---|---|---|');
    let previous: BacklogSample = { at: this.startedAt, acked: 0, replicated: 0 };
    const count = this.boundaries.length;
    for (let k = 0; k < count; k += 1) {
      const end = this.boundaries[k] as BacklogSample;
      const from = this.startedAt + k * intervalMs;
      const to = k === count - 1 ? Number.POSITIVE_INFINITY : this.startedAt + (k + 1) * intervalMs;
      const lag = await this.lag((at) => at > from && at <= to);
      const runs = this.runs()
        .filter((run) => (k === 0 || run.startedAt > from) && run.startedAt <= Math.min(to, end.at))
        .map((run) => runCell(run))
        .join('; ');
      console.log(
        `  | ${k + 1} | ${fmt(this.acks.writtenBetween(from, to))} | ${fmt(end.replicated - previous.replicated)} | ` +
          `${fmt(end.acked - end.replicated)} | ${ms(lag.p50)} | ${ms(lag.p99)} | ${ms(lag.max)} | ${runs || '–'} |`,
      );
      previous = end;
    }
  }

  printRuns(): void {
    for (const run of this.runs()) console.log(`  ${describeRun(run, this.startedAt)}`);
  }

  simulatorRss(): string {
    try {
      const status = readFileSync(`/proc/${this.context.world.simulator.pid}/status`, 'utf8');
      const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
      return Number.isFinite(kb) ? `${(kb / 1024).toFixed(0)} MiB` : 'n/a';
    } catch {
      return 'n/a';
    }
  }
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

async function rampPhase(context: Context, drain: DrainFigures): Promise<SustainedFigures['ramp']> {
  const { options, intervalMs } = context;
  const first =
    options.rampFrom > 0
      ? options.rampFrom
      : Math.max(2_000, Math.floor((0.5 * drain.rate) / options.rampStep) * options.rampStep);
  const carried = `${TOLERANCE_S} s of writes or one CDC batch (${fmt(drain.largestBatch)} events, the largest of 5.1), whichever is larger`;
  console.log(
    '  sustained: at every scheduled tick while the step writes, the backlog (inserts acknowledged − rows in ' +
      'ClickHouse) is at most the inserts acknowledged during the interval before that tick plus a tolerance of ' +
      `${carried}: no more than one batch is carried from an interval into the next, so the backlog does not grow ` +
      'from interval to interval (each run catches up, or keeps shrinking what the last one left). Above the drain ' +
      'rate the carried backlog grows by (rate − drain rate) × interval per interval, and the step fails once that ' +
      `exceeds the tolerance. Each step runs on a fresh pipe and collection for ${options.stepMinutes} intervals; ` +
      `the first at ${fmt(first)}/s${options.rampFrom > 0 ? '' : ' (half the drain rate, rounded down)'}, then ` +
      `+${fmt(options.rampStep)}/s up to the first step not sustained, then ${options.rampBisect} bisection steps.`,
  );
  const steps: StepFigures[] = [];
  let low: number | null = null;
  let high: number | null = null;
  const step = async (target: number) => {
    const figures = await rampStep(context, steps.length + 1, target, drain.largestBatch);
    steps.push(figures);
    return figures.sustained;
  };
  for (let target = first; steps.length < options.rampMaxSteps; target += options.rampStep) {
    if (await step(target)) low = target;
    else {
      high = target;
      break;
    }
  }
  for (let k = 0; k < options.rampBisect && high !== null; k += 1) {
    const floor = low ?? options.rate;
    const middle = Math.round((floor + high) / 2 / 50) * 50;
    if (middle <= floor || middle >= high) break;
    if (await step(middle)) low = middle;
    else high = middle;
  }
  const highest = steps
    .filter((figures) => figures.sustained)
    .reduce<StepFigures | null>(
      (best, figures) => (best === null || figures.achieved > best.achieved ? figures : best),
      null,
    );
  const ratio = highest ? highest.achieved / drain.rate : null;
  console.log(
    '\n  | step | target | achieved | largest carry-over | sustained | drained while writing | lag p50 | lag p99 | lag max |',
  );
  console.log('  |---|---|---|---|---|---|---|---|---|');
  for (const [k, figures] of steps.entries()) {
    const lag = figures.lag;
    console.log(
      `  | ${k + 1} | ${fmt(figures.target)}/s | ${fmt(figures.achieved)}/s${figures.writerShort ? ' (short)' : ''} | ` +
        `${fmt(figures.carryOver)} | ${figures.sustained ? 'yes' : 'no'} | ` +
        `${figures.drainedWhileWriting === null ? '–' : `${fmt(figures.drainedWhileWriting)}/s`} | ` +
        `${lag ? ms(lag.p50) : '–'} | ${lag ? ms(lag.p99) : '–'} | ${lag ? ms(lag.max) : '–'} |`,
    );
  }
  console.log(
    "  (carry-over: the most a tick found beyond the interval's own inserts; drained while writing: rows that " +
      "reached ClickHouse from the step's first scheduled tick to the writer's stop, per second; (short): the " +
      'writer fell more than 3% short of its target, the simulator could not take the writes faster)',
  );
  console.log(
    highest
      ? `  highest sustained rate: **${fmt(highest.achieved)} inserts/s** (step target ${fmt(highest.target)}/s)` +
          `${high === null ? ', no step failed' : `; lowest target not sustained: ${fmt(high)}/s`}; ` +
          `ratio to the drain rate (${fmt(drain.rate)} events/s): **${(ratio ?? 0).toFixed(2)}** ` +
          `(target ≥ 0.8: ${ratioVerdict(ratio, high !== null)}); resolution: a rate about ` +
          `${fmt(Math.max(TOLERANCE_S * highest.target, drain.largestBatch) / (((options.stepMinutes - 1) * intervalMs) / 1000))}/s ` +
          'above the drain rate still passes a step'
      : '  no step was sustained',
  );
  return { highest, ratio, ceilingFound: high !== null, steps };
}

/** Below 0.8 only counts once a step failed: otherwise the ramp stopped before finding the ceiling. */
export function ratioVerdict(ratio: number | null, ceilingFound: boolean): string {
  if ((ratio ?? 0) >= 0.8) return 'met';
  return ceilingFound ? 'NOT met' : 'not decided: no step failed, raise --ramp-max-steps';
}

async function rampStep(
  context: Context,
  index: number,
  target: number,
  largestBatch: number,
): Promise<StepFigures> {
  const { options, intervalMs } = context;
  // A few seconds past the last interval, so that the step's last tick falls while it writes.
  const seconds = (options.stepMinutes * intervalMs) / 1000 + 5;
  console.log(`\n  step ${index}: ${fmt(target)} inserts/s for ${options.stepMinutes} intervals`);
  const phase = await LoadPhase.begin(
    context,
    `sustained_ramp_${index}`,
    SCHEDULED_INTERVAL_S,
    target,
    seconds,
  );
  await phase.write(0);
  const tolerance = Math.max(TOLERANCE_S * target, largestBatch);
  let previous = phase.startedAt;
  let ticks = 0;
  let carryOver = 0;
  let firstTick: number | null = null;
  for (const tick of phase.ticks) {
    if (tick.trigger !== 'schedule' || tick.at > phase.stoppedAt) continue;
    const written = phase.acks.writtenBetween(previous, tick.at);
    previous = tick.at;
    if (!tick.sample) continue;
    firstTick ??= tick.at;
    ticks += 1;
    const backlog = tick.sample.acked - tick.sample.replicated;
    carryOver = Math.max(carryOver, backlog - written);
    console.log(
      `  tick ${secondsSince(phase.startedAt, tick.at)} s: backlog ${fmt(backlog)} ` +
        `${backlog <= written + tolerance ? '≤' : '>'} the interval's inserts ${fmt(written)} + ${fmt(tolerance)}`,
    );
  }
  const failures = phase.failures();
  const sustained = ticks >= 2 && failures.length === 0 && carryOver <= tolerance;
  const reasons = [
    ...(ticks < 2 ? [`only ${ticks} scheduled ticks while writing`] : []),
    ...(failures.length > 0 ? ['the pipe failed'] : []),
    ...(carryOver > tolerance ? [`a tick found ${fmt(carryOver)} more than its interval's inserts`] : []),
  ];
  const verdict = sustained ? 'sustained' : `not sustained (${reasons.join('; ')})`;
  let drainedWhileWriting: number | null = null;
  if (firstTick !== null) {
    const from = phase.sampler.at(firstTick);
    const to = phase.sampler.samples.filter((sample) => sample.at <= phase.stoppedAt).at(-1);
    if (from && to && to.at > from.at)
      drainedWhileWriting = (to.replicated - from.replicated) / ((to.at - from.at) / 1000);
  }
  let drainLine = 'not waited for (not sustained)';
  if (sustained) {
    const drained = await phase.drained(2 * intervalMs + 60_000);
    drainLine = drained
      ? `backlog 0 ${(((phase.drainedAt ?? 0) - phase.stoppedAt) / 1000).toFixed(1)} s after the writer stopped`
      : 'backlog not 0 within two intervals after the writer stopped';
  }
  await phase.finish();
  const lag = sustained ? await phase.lag() : null;
  console.log(`  ${phase.writerLine()}`);
  phase.printRuns();
  console.log(
    `  verdict: ${verdict}; ${drainLine}` +
      (drainedWhileWriting === null
        ? ''
        : `; rows reaching ClickHouse from the first tick to the writer's stop: ${fmt(drainedWhileWriting)}/s`),
  );
  if (lag)
    console.log(
      `  lag of ${fmt(lag.count)} of ${fmt(phase.acks.acked)} rows: p50 ${ms(lag.p50)}, p99 ${ms(lag.p99)}, max ${ms(lag.max)}`,
    );
  failuresLine(phase);
  console.log(`  ${cpuLine(phase.cpu, phase.wall)}; simulator RSS ${phase.simulatorRss()}`);
  await cleanUp(context, phase.pipe);
  return {
    target,
    achieved: phase.achievedRate,
    writerShort: phase.achievedRate < 0.97 * target,
    sustained,
    carryOver,
    drainedWhileWriting,
    lag,
  };
}

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

/** SetSchedule remove (lease revoked, runs end at their next write), then the pipe's data dropped. */
async function cleanUp(context: Context, pipe: BenchPipe): Promise<void> {
  const settled = await context.cdc.remove(pipe.pipeId);
  if (!settled)
    console.log(`  (a run of ${pipe.target} had not ended 2 minutes after its lease was revoked)`);
  await dropPipeData(context.world, pipe);
  await settleMerges(context.world);
}

function failuresLine(phase: LoadPhase): void {
  const failures = phase.failures();
  if (failures.length > 0) console.log(`  CDC errors: ${failures.join(' | ')}`);
}

function describeRun(run: RunRecord, origin: number): string {
  const head = `${run.trigger} at ${secondsSince(origin, run.startedAt)} s:`;
  if (run.error !== null) return `${head} error ${run.error}`;
  const outcome = run.outcome;
  if (!outcome) return `${head} still running`;
  if (outcome.status === 'skipped') return `${head} skipped (${outcome.reason})`;
  const seconds = outcome.durationMs / 1000;
  return (
    `${head} ${fmt(outcome.events)} events, ${outcome.batches} batches, ${seconds.toFixed(1)} s` +
    `${outcome.events > 0 && seconds > 0 ? ` (${fmt(Math.round(outcome.events / seconds))}/s)` : ''}, ` +
    `ended: ${outcome.endedBecause}${outcome.handOver ? ', handed over' : ''}`
  );
}

function runCell(run: RunRecord): string {
  const outcome = run.outcome;
  if (run.error !== null) return 'error';
  if (!outcome) return 'running';
  if (outcome.status === 'skipped') return 'skipped';
  return `${fmt(outcome.events)}, ${(outcome.durationMs / 1000).toFixed(1)} s`;
}

function fmt(value: number): string {
  return Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : 'n/a';
}

function ms(value: number): string {
  return Number.isFinite(value) ? `${(value / 1000).toFixed(2)} s` : 'n/a';
}

/** `+12.3` / `-0.1`: seconds from `origin` to `at`. */
function secondsSince(origin: number, at: number): string {
  const value = (at - origin) / 1000;
  return `${value < 0 ? '-' : '+'}${Math.abs(value).toFixed(1)}`;
}

function sleep(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}

/**
 * The shared pieces of the sustained section (bench/sustained.ts): its constants and context,
 * one load phase (a pipe, a writer, the backlog sampled every second, every invocation noted)
 * and the formatting of runs and figures.
 */
import { readFileSync } from 'node:fs';
import type { BenchPipe } from './pipes.js';
import type { SustainedOptions } from './sustained.js';
import {
  type AckLog,
  type BacklogSample,
  BacklogSampler,
  type LagStats,
  LoadWriter,
  lagOf,
  syncedAtById,
} from './sustained-load.js';
import {
  dropPipeData,
  type RunRecord,
  runningPipe,
  type ScheduledCdc,
  SUSTAINED_DB,
} from './sustained-runtime.js';
import { type CpuSample, cpuBetween, settleMerges, type World } from './world.js';

/** syncIntervalSeconds of the scheduled phases (the deployment's), and of the continuous phase. */
export const SCHEDULED_INTERVAL_S = 60;
export const CONTINUOUS_INTERVAL_S = 2;
/** A tick's backlog may exceed the interval's writes by this many seconds of writes, or one batch (whichever is more). */
export const TOLERANCE_S = 5;
/** Issue 13's target: at 1,000 inserts/s the lag never exceeds the interval + 15 s. */
export const LAG_MARGIN_TARGET_S = 15;
export const CONTINUOUS_P99_TARGET_MS = 5_000;

export interface Context {
  world: World;
  cdc: ScheduledCdc;
  options: SustainedOptions;
  /** One scheduled interval in ms (a schedule minute). */
  intervalMs: number;
}

export interface Tick {
  trigger: string;
  at: number;
  sample: BacklogSample | null;
}

/** One pipe, one writer, the backlog sampled every second, every invocation of the pipe noted. */
export class LoadPhase {
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

export function describeRun(run: RunRecord, origin: number): string {
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

export function runCell(run: RunRecord): string {
  const outcome = run.outcome;
  if (run.error !== null) return 'error';
  if (!outcome) return 'running';
  if (outcome.status === 'skipped') return 'skipped';
  return `${fmt(outcome.events)}, ${(outcome.durationMs / 1000).toFixed(1)} s`;
}

export function fmt(value: number): string {
  return Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : 'n/a';
}

export function ms(value: number): string {
  return Number.isFinite(value) ? `${(value / 1000).toFixed(2)} s` : 'n/a';
}

/** `+12.3` / `-0.1`: seconds from `origin` to `at`. */
export function secondsSince(origin: number, at: number): string {
  const value = (at - origin) / 1000;
  return `${value < 0 ? '-' : '+'}${Math.abs(value).toFixed(1)}`;
}

export function sleep(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}

/** SetSchedule remove (lease revoked, runs end at their next write), then the pipe's data dropped. */
export async function cleanUp(context: Context, pipe: BenchPipe): Promise<void> {
  const settled = await context.cdc.remove(pipe.pipeId);
  if (!settled)
    console.log(`  (a run of ${pipe.target} had not ended 2 minutes after its lease was revoked)`);
  await dropPipeData(context.world, pipe);
  await settleMerges(context.world);
}

export function failuresLine(phase: LoadPhase): void {
  const failures = phase.failures();
  if (failures.length > 0) console.log(`  CDC errors: ${failures.join(' | ')}`);
}

/**
 * The measuring side of the sustained section: the writer child (sustained-writer.ts) and the
 * acknowledgement times it reports, the backlog sampled in ClickHouse (rows acknowledged by the
 * writer minus rows in the table; inserts only, so a plain count()), and the lag of each row
 * (its `_peerdb_synced_at`, ClickHouse's now64() at insert, minus its acknowledgement time).
 */
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { forkTs, stopChild } from './processes.js';
import { percentile } from './report.js';
import type {
  SustainedWriterConfig,
  SustainedWriterMessage,
  SustainedWriterSummary,
} from './sustained-writer.js';
import { DESTINATION_DATABASE, selectRows, type World } from './world.js';

const WRITER_ENTRY = fileURLToPath(new URL('./sustained-writer.ts', import.meta.url));

/** Acknowledged insert groups: `_id`s first..first+count-1 acknowledged at `at` (epoch ms). */
export class AckLog {
  private readonly groups: number[] = [];
  acked = 0;

  add(flat: readonly number[]): void {
    for (let k = 0; k + 2 < flat.length; k += 3) {
      this.groups.push(flat[k] as number, flat[k + 1] as number, flat[k + 2] as number);
      this.acked += flat[k + 1] as number;
    }
  }

  /** Documents acknowledged in (from, to]. */
  writtenBetween(from: number, to: number): number {
    let count = 0;
    this.forEach((_, n, at) => {
      if (at > from && at <= to) count += n;
    });
    return count;
  }

  forEach(visit: (first: number, count: number, at: number) => void): void {
    for (let k = 0; k + 2 < this.groups.length; k += 3)
      visit(this.groups[k] as number, this.groups[k + 1] as number, this.groups[k + 2] as number);
  }
}

/** The writer child: forked and connected by start(), writing from go(). */
export class LoadWriter {
  readonly acks = new AckLog();
  readonly done: Promise<SustainedWriterSummary>;
  startedAt = 0;
  summary: SustainedWriterSummary | null = null;

  private constructor(
    private readonly child: ChildProcess,
    ready: () => void,
  ) {
    this.done = new Promise<SustainedWriterSummary>((resolve, reject) => {
      child.on('message', (raw) => {
        const message = raw as SustainedWriterMessage;
        if (message.kind === 'ready') ready();
        else if (message.kind === 'acks') this.acks.add(message.groups);
        else if (message.kind === 'done') {
          this.summary = message.summary;
          resolve(message.summary);
        }
      });
      child.once('exit', (code, signal) =>
        reject(new Error(`the writer exited before it was done (code ${code}, signal ${signal})`)),
      );
    });
    this.done.catch(() => undefined);
  }

  static async start(world: World, config: Omit<SustainedWriterConfig, 'uri'>): Promise<LoadWriter> {
    const full: SustainedWriterConfig = { uri: world.mongoUri, ...config };
    const child = forkTs(WRITER_ENTRY, [], { ...process.env, BENCH_SUSTAINED_WRITER: JSON.stringify(full) });
    let ready: () => void = () => undefined;
    const isReady = new Promise<void>((resolve) => {
      ready = resolve;
    });
    const writer = new LoadWriter(child, ready);
    await Promise.race([isReady, writer.done.then(() => undefined)]);
    return writer;
  }

  /** Starts writing; returns the start time (epoch ms). */
  go(): number {
    this.startedAt = Date.now();
    this.child.send('go');
    return this.startedAt;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  stop(): Promise<void> {
    return stopChild(this.child);
  }
}

export interface BacklogSample {
  /** Epoch ms when the count was asked for, the writes acknowledged by then, the rows counted. */
  at: number;
  acked: number;
  replicated: number;
}

export async function countRows(world: World, table: string): Promise<number> {
  const [row] = await selectRows<{ n: string }>(
    world,
    `SELECT toString(count()) AS n FROM ${DESTINATION_DATABASE}.\`${table}\``,
  );
  return Number(row?.n ?? 0);
}

/** Samples the backlog every `everyMs` until stopped; sample() also takes one on demand. */
export class BacklogSampler {
  private readonly taken: BacklogSample[] = [];
  private stopped = false;
  private loop: Promise<void> = Promise.resolve();

  constructor(
    private readonly world: World,
    private readonly table: string,
    private readonly acks: AckLog,
  ) {}

  async sample(): Promise<BacklogSample> {
    const at = Date.now();
    const acked = this.acks.acked;
    const replicated = await countRows(this.world, this.table);
    const taken = { at, acked, replicated };
    this.taken.push(taken);
    return taken;
  }

  start(everyMs = 1_000): void {
    const started = Date.now();
    this.loop = (async () => {
      for (let k = 1; !this.stopped; k += 1) {
        await this.sample();
        const wait = started + k * everyMs - Date.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }

  /** Every sample so far, oldest first. */
  get samples(): BacklogSample[] {
    return [...this.taken].sort((a, b) => a.at - b.at);
  }

  /** The first sample taken at or after `time` (the last one when none was). */
  at(time: number): BacklogSample | undefined {
    const sorted = this.samples;
    return sorted.find((sample) => sample.at >= time) ?? sorted.at(-1);
  }
}

/** `_peerdb_synced_at` (epoch ms) per `_id` 0..size-1 of a table of the writer's rows; NaN where absent. */
export async function syncedAtById(world: World, table: string, size: number): Promise<Float64Array> {
  const synced = new Float64Array(size).fill(Number.NaN);
  const result = await world.query.query({
    query:
      'SELECT `_id`, toUnixTimestamp64Milli(`_peerdb_synced_at`) ' +
      `FROM ${DESTINATION_DATABASE}.\`${table}\``,
    format: 'TabSeparated',
  });
  const text = await result.text();
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const tab = text.indexOf('\t', start);
    if (tab > start && tab < end) {
      const id = Number(text.slice(start, tab));
      const at = Number(text.slice(tab + 1, end));
      if (Number.isInteger(id) && id >= 0 && id < size) {
        const seen = synced[id] as number;
        if (Number.isNaN(seen) || at < seen) synced[id] = at;
      }
    }
    start = end + 1;
  }
  return synced;
}

export interface LagStats {
  /** Rows measured (acknowledged and found in ClickHouse). */
  count: number;
  p50: number;
  p99: number;
  max: number;
}

/** Lag percentiles (ms) of the rows whose acknowledgement time passes `include`. */
export function lagOf(
  acks: AckLog,
  synced: Float64Array,
  include: (at: number) => boolean = () => true,
): LagStats {
  const lags: number[] = [];
  acks.forEach((first, count, at) => {
    if (!include(at)) return;
    for (let id = first; id < first + count; id += 1) {
      const syncedAt = synced[id];
      if (syncedAt !== undefined && !Number.isNaN(syncedAt)) lags.push(syncedAt - at);
    }
  });
  lags.sort((a, b) => a - b);
  return {
    count: lags.length,
    p50: percentile(lags, 50),
    p99: percentile(lags, 99),
    max: lags.at(-1) ?? Number.NaN,
  };
}

import type { ApiClient, Json } from './client.js';
import { resolvePipeId } from './commands.js';
import { count, duration, percent, progressBar, type Style, sparkline } from './format.js';
import type { CliIo } from './io.js';

export const WATCH_INTERVAL_MS = 2_000;
/** Samples kept for the sparklines: the last minute at the 2 s refresh. */
const SAMPLES = 30;

/** Recent CDC figures: the pipe's recorded history when `watch` starts, then what it reads. */
export class Samples {
  readonly lagMs: number[] = [];
  readonly eventsPerSecond: number[] = [];

  /** The samples of `GET /pipes/{id}/cdc-history` (one a minute of a run), oldest first. */
  seed(history: Json): void {
    for (const sample of history?.samples ?? []) {
      push(this.lagMs, sample.lagMs);
      push(this.eventsPerSecond, sample.eventsPerSecond);
    }
  }

  add(pipe: Json): void {
    push(this.lagMs, pipe.cdc?.lagMs ?? null);
    push(this.eventsPerSecond, pipe.cdc?.lastRun?.eventsPerSecond ?? null);
  }
}

function push(values: number[], value: number | null): void {
  if (value === null || value === undefined) return;
  values.push(value);
  if (values.length > SAMPLES) values.shift();
}

function tableLines(pipe: Json, style: Style): string[] {
  const tables: Json[] = pipe.tables ?? [];
  if (tables.length === 0) return ['  (no tables)'];
  const width = Math.max(...tables.map((t) => `${t.tableKey} → ${t.targetTable}`.length));
  return tables.map((t) => {
    const { documentsCopied, documentsEstimated, partitionsDone, partitionsTotal } = t.progress;
    const name = `${t.tableKey} → ${t.targetTable}`.padEnd(width);
    const stop = t.stopReason ? style.red(`  ${t.stopReason}: ${t.stopMessage ?? ''}`) : '';
    return (
      `  ${name}  ${t.state.padEnd(11)} ${progressBar(documentsCopied, documentsEstimated)} ` +
      `${percent(documentsCopied, documentsEstimated)}  ${count(documentsCopied)} of ${count(documentsEstimated)} docs` +
      `  ${partitionsDone}/${partitionsTotal} partitions${stop}`
    );
  });
}

function cdcLines(pipe: Json, samples: Samples): string[] {
  const cdc = pipe.cdc;
  if (!cdc) return ['  (no CDC status)'];
  const lag = cdc.lagMs === null || cdc.lagMs === undefined ? 'not measured yet' : duration(cdc.lagMs);
  const run = cdc.lastRun;
  const rate = run ? `${run.eventsPerSecond.toFixed(1)}` : 'not reported yet';
  return [
    `  ${cdc.mode}, ${cdc.running ? 'running now' : 'idle'}; last commit ${cdc.lastCommittedAt ?? 'never'}`,
    `  lag       ${lag.padEnd(16)} ${sparkline(samples.lagMs)}`,
    `  events/s  ${rate.padEnd(16)} ${sparkline(samples.eventsPerSecond)}`,
    ...(run
      ? [
          `  last run  ${count(run.events)} events in ${run.batches} batches, ended ${run.endedBecause ?? '(running)'}`,
        ]
      : []),
  ];
}

function sourceLines(pipe: Json, style: Style): string[] {
  const health = pipe.source?.health;
  if (!health) return ['  not checked yet (the first CDC run reads it)'];
  const members = health.members.map((member: Json) => {
    const state = ['PRIMARY', 'SECONDARY', 'ARBITER'].includes(member.state)
      ? style.green(member.state)
      : style.yellow(member.state);
    return `  ${member.name}  ${state}`;
  });
  const set = health.setName ? ` ${health.setName}` : '';
  const note = health.note ? [`  ${style.dim(health.note)}`] : [];
  return [
    `  ${health.kind}${set}, members from ${health.membersFrom}, at ${health.checkedAt}`,
    ...members,
    ...shardLines(health.shards ?? [], style),
    ...note,
  ];
}

/** Through a mongos: each shard's members as the mongos sees them, a line per shard. */
function shardLines(shards: Json[], style: Style): string[] {
  return shards.map((shard: Json) => {
    const members = shard.members.map((member: Json) => {
      const state = member.state === 'NOT_OK' ? style.yellow(member.state) : style.green(member.state);
      return `${member.name} ${state}`;
    });
    const primary = shard.members.some((member: Json) => member.state === 'PRIMARY');
    return `  ${shard.shard}: ${members.join(', ')}${primary ? '' : ` ${style.yellow('(no primary)')}`}`;
  });
}

/** One frame of `pipes watch`: state, tables with progress bars, CDC with sparklines, members, last error. */
export function renderFrame(pipe: Json, samples: Samples, style: Style, at: Date): string {
  const error = pipe.lastError
    ? style.red(`${pipe.lastError.name}: ${pipe.lastError.message} (${pipe.lastError.at})`)
    : 'none';
  return [
    `${style.bold(pipe.name)}  ${pipe.id}  ${style.bold(pipe.state)}  version ${pipe.version}  ${style.dim(at.toISOString())}`,
    '',
    style.bold('tables'),
    ...tableLines(pipe, style),
    '',
    style.bold('cdc'),
    ...cdcLines(pipe, samples),
    '',
    style.bold('source'),
    ...sourceLines(pipe, style),
    '',
    `${style.bold('last error')}  ${error}`,
    '',
  ].join('\n');
}

export interface WatchOptions {
  once: boolean;
  /** Stop after this many seconds; null: until interrupted. */
  forSeconds: number | null;
  json: boolean;
  style: Style;
  intervalMs?: number;
}

/** Refreshes every 2 s until `--for` elapses (or once); `--output json` prints one view per line. */
export async function watch(client: ApiClient, io: CliIo, idOrName: string, options: WatchOptions) {
  const id = await resolvePipeId(client, idOrName);
  const samples = new Samples();
  samples.seed(await client.call('GET', `/pipes/${encodeURIComponent(id)}/cdc-history`));
  const started = io.now().getTime();
  const interval = options.intervalMs ?? WATCH_INTERVAL_MS;
  for (let frames = 0; ; frames += 1) {
    const pipe = await client.call('GET', `/pipes/${encodeURIComponent(id)}`);
    samples.add(pipe);
    if (options.json) {
      io.stdout(`${JSON.stringify({ at: io.now().toISOString(), pipe, samples })}\n`);
    } else {
      // A terminal is cleared between frames; elsewhere frames follow each other, a blank line apart.
      const clear = options.once ? '' : options.style.clear || (frames > 0 ? '\n' : '');
      io.stdout(clear + renderFrame(pipe, samples, options.style, io.now()));
    }
    if (options.once) return;
    const elapsed = io.now().getTime() - started;
    if (options.forSeconds !== null && elapsed + interval > options.forSeconds * 1_000) return;
    await io.sleep(interval);
  }
}

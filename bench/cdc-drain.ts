/**
 * CDC drain rate: a backlog of mixed events written after the pipe's start point was recorded,
 * then cdcBatch run back to back (each with the Lambda's budget: 50 s, 5 s margin, 1 s wait once
 * caught up) until a batch finds nothing. Also prepares the pipes the peak-RSS runs read the
 * same backlog with (their start points are recorded around it).
 */
import { cdcBatch } from '../functions/engines/cdc-run.js';
import { systemClock } from '../functions/ports/clock.js';
import { type BacklogCounts, MixedWriter } from './cdc-backlog.js';
import { type BenchPipe, createBenchPipe } from './pipes.js';
import { cpuLine, MB, mbPerSecond, perSecond, seconds } from './report.js';
import { type CpuSample, cpuBetween, type World } from './world.js';

export const CDC_DB = 'bench';
export const CDC_COLLECTION = 'events';
/** The CDC Lambda's defaults: cdcTimeBudgetSeconds 50, a 5 s safety margin. */
export const LAMBDA_BUDGET_MS = 50_000;
export const LAMBDA_MARGIN_MS = 5_000;

export interface CdcBacklog {
  events: number;
  counts: BacklogCounts;
  writeSeconds: number;
  drainPipe: BenchPipe;
  /** Pipes whose first batch the RSS runs take: a tenth of the backlog and all of it. */
  rss: { small: BenchPipe; big: BenchPipe; bigDefaults: BenchPipe };
}

export interface DrainFigures {
  events: number;
  seconds: number;
  batches: number;
  bytes: number;
  cpu: CpuSample;
  perBatch: { events: number; ms: number }[];
}

export async function writeBacklog(world: World, events: number, rssBatch: number): Promise<CdcBacklog> {
  const collection = world.mongo.db(CDC_DB).collection(CDC_COLLECTION);
  const writer = new MixedWriter(collection);
  await writer.seed(Math.ceil(events / 4));
  const table = (target: string) => ({
    db: CDC_DB,
    coll: CDC_COLLECTION,
    target,
    state: 'Replicating' as const,
  });
  const drainPipe = await createBenchPipe(world, table('events_drain'));
  const big = await createBenchPipe(world, table('events_rss_big'), { pullBatchSize: rssBatch });
  const bigDefaults = await createBenchPipe(world, table('events_rss_defaults'));
  const started = performance.now();
  const tenth = Math.round(events / 10);
  await writer.write(events - tenth);
  const small = await createBenchPipe(world, table('events_rss_small'), { pullBatchSize: rssBatch });
  await writer.write(tenth);
  const writeSeconds = (performance.now() - started) / 1000;
  console.log(
    `backlog: ${writer.total} events (${writer.counts.insert} inserts, ${writer.counts.update} updates, ` +
      `${writer.counts.replace} replaces, ${writer.counts.delete} deletes) on ${Math.ceil(events / 4)} seeded ` +
      `documents, written in ${seconds(writeSeconds)} s (${perSecond(writer.total, writeSeconds)} writes/s; setup)`,
  );
  return {
    events: writer.total,
    counts: writer.counts,
    writeSeconds,
    drainPipe,
    rss: { small, big, bigDefaults },
  };
}

export async function drainBenchmark(world: World, backlog: CdcBacklog): Promise<DrainFigures> {
  const pipe = backlog.drainPipe;
  const perBatch: { events: number; ms: number }[] = [];
  let bytes = 0;
  let applied = 0;
  let lastBusy = 0;
  const before = world.cpu();
  let cpuAtLastBusy = before;
  const started = performance.now();
  for (let batch = 1; ; batch += 1) {
    if (batch > 1_000) throw new Error('CDC did not catch up within 1000 batches');
    const batchStarted = performance.now();
    const result = await cdcBatch(
      { store: world.store, source: pipe.changeSource, destination: world.destination, clock: systemClock },
      {
        pipeId: pipe.pipeId,
        holder: 'bench-drain',
        budget: { deadline: Date.now() + LAMBDA_BUDGET_MS, safetyMarginMs: LAMBDA_MARGIN_MS },
      },
    );
    if (result.status !== 'applied') throw new Error(`CDC batch skipped: ${result.reason}`);
    if (result.events === 0 && result.heldBackEvents === 0) break;
    perBatch.push({ events: result.events, ms: performance.now() - batchStarted });
    applied += result.events;
    bytes += result.bytes;
    lastBusy = performance.now();
    cpuAtLastBusy = world.cpu();
  }
  if (applied !== backlog.events)
    throw new Error(`CDC applied ${applied} events, the backlog holds ${backlog.events}`);
  const figures: DrainFigures = {
    events: applied,
    seconds: (lastBusy - started) / 1000,
    batches: perBatch.length,
    bytes,
    cpu: cpuBetween(before, cpuAtLastBusy),
    perBatch,
  };
  console.log(
    `drained ${figures.events} events in ${seconds(figures.seconds)} s: ${perSecond(figures.events, figures.seconds)} events/s, ` +
      `${mbPerSecond(figures.bytes, figures.seconds)} MB/s of event BSON (${(figures.bytes / MB).toFixed(1)} MB), ` +
      `${figures.batches} batches (pullBatchSize 100000, maxBytes 32 MiB)`,
  );
  console.log(
    `  batches: ${perBatch.map((b) => `${b.events} ev / ${seconds(b.ms / 1000)} s`).join(', ')}; ` +
      'each caught-up read ends after one empty getMore (≤ 1 s wait), included above; the final idle batch is not',
  );
  console.log(`  ${cpuLine(figures.cpu, figures.seconds)}`);
  return figures;
}

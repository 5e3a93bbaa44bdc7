/**
 * CDC lag under a steady write load: a writer process writes at a fixed rate while cdcBatch
 * runs back to back here. Each batch reads for at most `windowMs` (its budget's deadline minus
 * the margin; it returns earlier once caught up), then inserts and commits. Lag per write =
 * `_peerdb_synced_at` of its row (ClickHouse's clock at insert) − the time the writer saw the
 * write acknowledged. One machine, one clock.
 */
import { fileURLToPath } from 'node:url';
import { cdcBatch } from '../functions/engines/cdc-run.js';
import { systemClock } from '../functions/ports/clock.js';
import { CDC_DB } from './cdc-drain.js';
import { orderDocument } from './documents.js';
import type { LagWriterConfig, LagWriterReport } from './lag-writer.js';
import { createBenchPipe } from './pipes.js';
import { cpuSecondsOfPid, firstMessage, forkTs, stopChild } from './processes.js';
import { cpuLine, percentile, seconds } from './report.js';
import { type CpuSample, cpuBetween, DESTINATION_DATABASE, selectRows, type World } from './world.js';

const WRITER_ENTRY = fileURLToPath(new URL('./lag-writer.ts', import.meta.url));
const LAG_COLLECTION = 'lag';
const MARGIN_MS = 5_000;

export interface LagFigures {
  targetRate: number;
  achievedRate: number;
  writes: number;
  measured: number;
  failed: number;
  p50: number;
  p99: number;
  max: number;
  batches: number;
  batchMedianMs: number;
  batchMedianEvents: number;
  cpu: CpuSample & { extra: number | undefined; extraName: string };
  wall: number;
}

export async function lagBenchmark(
  world: World,
  rate: number,
  loadSeconds: number,
  windowMs: number,
): Promise<LagFigures> {
  const collection = world.mongo.db(CDC_DB).collection(LAG_COLLECTION);
  const total = Math.round(rate * loadSeconds);
  const seeds = Math.ceil(total / 2);
  for (let start = 0; start < seeds; start += 5_000) {
    await collection.insertMany(
      Array.from({ length: Math.min(5_000, seeds - start) }, (_, k) =>
        orderDocument(start + k, `lag-seed-${start + k}`),
      ),
    );
  }
  const pipe = await createBenchPipe(world, {
    db: CDC_DB,
    coll: LAG_COLLECTION,
    target: 'lag',
    state: 'Replicating',
  });

  const config: LagWriterConfig = {
    uri: world.mongoUri,
    db: CDC_DB,
    coll: LAG_COLLECTION,
    rate,
    seconds: loadSeconds,
  };
  const writer = forkTs(WRITER_ENTRY, [], { ...process.env, BENCH_LAG_WRITER: JSON.stringify(config) });
  try {
    await firstMessage(writer, 'the lag writer');
    const reported = firstMessage<LagWriterReport>(writer, 'the lag writer');
    let writerDone = false;
    void reported.then(
      () => {
        writerDone = true;
      },
      () => {
        writerDone = true;
      },
    );
    const before = world.cpu();
    const writerCpuBefore = cpuSecondsOfPid(writer.pid);
    let writerCpu: number | undefined;
    const started = performance.now();
    writer.send('go');

    const batches: { events: number; ms: number }[] = [];
    for (;;) {
      if (batches.length > 10_000) throw new Error('the lag run did not end');
      const batchStarted = performance.now();
      const result = await cdcBatch(
        { store: world.store, source: pipe.changeSource, destination: world.destination, clock: systemClock },
        {
          pipeId: pipe.pipeId,
          holder: 'bench-lag',
          budget: { deadline: Date.now() + windowMs + MARGIN_MS, safetyMarginMs: MARGIN_MS },
        },
      );
      if (result.status !== 'applied') throw new Error(`CDC batch skipped: ${result.reason}`);
      if (!writerDone) {
        const now = cpuSecondsOfPid(writer.pid);
        if (now !== undefined) writerCpu = now;
      }
      const idle = result.events === 0 && result.heldBackEvents === 0;
      if (!idle) batches.push({ events: result.events, ms: performance.now() - batchStarted });
      if (writerDone && idle) break;
    }
    const wall = (performance.now() - started) / 1000;
    const cpu = cpuBetween(before, world.cpu());
    const report = await reported;

    const rows = await selectRows<{ _id: string; at: string }>(
      world,
      'SELECT `_id`, toString(toUnixTimestamp64Milli(min(`_peerdb_synced_at`))) AS at ' +
        `FROM ${DESTINATION_DATABASE}.${pipe.target} GROUP BY \`_id\``,
    );
    const syncedAt = new Map(rows.map((row) => [row._id, Number(row.at)]));
    const lags: number[] = [];
    for (const [id, ackAt] of report.acks) {
      const at = syncedAt.get(id);
      if (at !== undefined) lags.push(at - ackAt);
    }
    lags.sort((a, b) => a - b);
    const byDuration = batches.map((batch) => batch.ms).sort((a, b) => a - b);
    const byEvents = batches.map((batch) => batch.events).sort((a, b) => a - b);
    const figures: LagFigures = {
      targetRate: rate,
      achievedRate: report.acks.length / report.wallSeconds,
      writes: report.acks.length,
      measured: lags.length,
      failed: report.failed,
      p50: percentile(lags, 50),
      p99: percentile(lags, 99),
      max: lags.at(-1) ?? Number.NaN,
      batches: batches.length,
      batchMedianMs: percentile(byDuration, 50),
      batchMedianEvents: percentile(byEvents, 50),
      cpu: {
        ...cpu,
        extra:
          writerCpu !== undefined && writerCpuBefore !== undefined ? writerCpu - writerCpuBefore : undefined,
        extraName: 'writer',
      },
      wall,
    };
    printLag(figures, loadSeconds, windowMs);
    return figures;
  } finally {
    await stopChild(writer);
  }
}

function printLag(f: LagFigures, loadSeconds: number, windowMs: number): void {
  console.log(
    `steady load: ${f.writes} writes (half inserts, half updates) at ${f.achievedRate.toFixed(0)}/s ` +
      `(target ${f.targetRate}/s for ${loadSeconds} s), ${f.failed} failed`,
  );
  console.log(
    `loop: cdcBatch back to back, each reading ≤ ${windowMs} ms (budget deadline − margin) or until ` +
      `caught up, then insert + commit; ${f.batches} batches, median ${f.batchMedianEvents} events in ` +
      `${seconds(f.batchMedianMs / 1000)} s`,
  );
  console.log(
    `lag (row's _peerdb_synced_at − write acknowledged), ${f.measured} of ${f.writes} writes: ` +
      `p50 ${f.p50} ms, p99 ${f.p99} ms, max ${f.max} ms`,
  );
  console.log(`  ${cpuLine(f.cpu, f.wall)}`);
}

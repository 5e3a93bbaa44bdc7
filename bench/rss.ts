/**
 * Peak RSS of one snapshot chunk and of one CDC batch, each in a fresh process (bench/rss-child.ts),
 * at two sizes 10× apart, next to an idle process that loaded the same modules and opened the
 * same connections. The batch bounds are set so both sizes fill whole batches; one more run at
 * the product's default bounds shows what a default batch costs.
 */
import { fileURLToPath } from 'node:url';
import { MongoSnapshotSource } from '../functions/adapters/mongodb/snapshot-source.js';
import type { PipeSettingsInput } from '../functions/core/settings.js';
import { planTableSnapshot } from '../functions/engines/snapshot-plan.js';
import type { CdcBacklog } from './cdc-drain.js';
import { loadOrders } from './documents.js';
import { createBenchPipe } from './pipes.js';
import { firstMessage, forkTs, stopChild } from './processes.js';
import { seconds } from './report.js';
import type { RssChildConfig, RssChildReport } from './rss-child.js';
import { SNAPSHOT_COLLECTION, SNAPSHOT_DB } from './snapshot.js';
import type { World } from './world.js';

const CHILD_ENTRY = fileURLToPath(new URL('./rss-child.ts', import.meta.url));
/** A V8 heap cap for the second pair of chunk runs: a call that fits in it holds little live data. */
const CAPPED_HEAP_MIB = 128;
export const SMALL_COLLECTION = 'orders_small';

export interface RssRun {
  label: string;
  mode: RssChildConfig['mode'];
  size: string;
  report: RssChildReport;
}

export async function loadSmallCollection(world: World, docs: number): Promise<void> {
  await loadOrders(world.mongo.db(SNAPSHOT_DB).collection(SMALL_COLLECTION), docs);
}

type RunConfig = Omit<RssChildConfig, 'mongoUri' | 'dynamoEndpoint' | 'dynamoTable' | 'clickhouseUrl'>;

export async function runChild(
  world: World,
  config: RunConfig,
  nodeOptions: string[] = [],
): Promise<RssChildReport> {
  const full: RssChildConfig = {
    ...config,
    mongoUri: world.mongoUri,
    dynamoEndpoint: world.dynamo.endpoint,
    dynamoTable: world.dynamo.tableName,
    clickhouseUrl: world.clickhouse.url,
  };
  const child = forkTs(CHILD_ENTRY, [], { ...process.env, BENCH_RSS: JSON.stringify(full) }, nodeOptions);
  try {
    return await firstMessage<RssChildReport>(child, `the ${config.mode} RSS process`);
  } finally {
    await stopChild(child);
  }
}

/** A pipe over one collection with a single planned partition, ready for one chunk. */
export async function chunkPipe(
  world: World,
  coll: string,
  target: string,
  settings: Partial<PipeSettingsInput>,
) {
  const pipe = await createBenchPipe(
    world,
    { db: SNAPSHOT_DB, coll, target },
    { snapshotNumRowsPerPartition: 100_000_000, ...settings },
  );
  const planned = await planTableSnapshot(
    { store: world.store, source: new MongoSnapshotSource(world.mongo) },
    { pipeId: pipe.pipeId, tableKey: pipe.tableKey },
  );
  if (planned.partitions.length !== 1)
    throw new Error(`expected one partition, got ${planned.partitions.length}`);
  return pipe;
}

export async function rssBenchmark(
  world: World,
  sizes: { docs: number; smallDocs: number; rssBatch: number },
  backlog: CdcBacklog | undefined,
): Promise<RssRun[]> {
  const runs: RssRun[] = [];
  const run = async (label: string, size: string, config: RunConfig, nodeOptions: string[] = []) => {
    try {
      const report = await runChild(world, config, nodeOptions);
      runs.push({ label, mode: config.mode, size, report });
    } catch (error) {
      console.log(`${label}, ${size}: failed (${error instanceof Error ? error.message : String(error)})`);
    }
  };
  const bounded = { snapshotBatchMaxRows: sizes.rssBatch };
  const small = await chunkPipe(world, SMALL_COLLECTION, 'orders_rss_small', bounded);
  const big = await chunkPipe(world, SNAPSHOT_COLLECTION, 'orders_rss_big', bounded);
  const bigDefaults = await chunkPipe(world, SNAPSHOT_COLLECTION, 'orders_rss_defaults', {});
  const smallCapped = await chunkPipe(world, SMALL_COLLECTION, 'orders_rss_small_capped', bounded);
  const bigCapped = await chunkPipe(world, SNAPSHOT_COLLECTION, 'orders_rss_big_capped', bounded);
  const defaultsCapped = await chunkPipe(world, SNAPSHOT_COLLECTION, 'orders_rss_defaults_capped', {});

  await run('idle process (baseline)', '-', { mode: 'idle', pipeId: small.pipeId, tableKey: small.tableKey });
  const batchNote = `batch ≤ ${sizes.rssBatch} rows`;
  await run(`snapshot chunk, ${batchNote}`, `${sizes.smallDocs} docs`, {
    mode: 'chunk',
    pipeId: small.pipeId,
    tableKey: small.tableKey,
  });
  await run(`snapshot chunk, ${batchNote}`, `${sizes.docs} docs`, {
    mode: 'chunk',
    pipeId: big.pipeId,
    tableKey: big.tableKey,
  });
  await run('snapshot chunk, default bounds', `${sizes.docs} docs`, {
    mode: 'chunk',
    pipeId: bigDefaults.pipeId,
    tableKey: bigDefaults.tableKey,
  });
  // The same bounded chunks with the V8 heap capped: if both sizes complete, what the
  // uncapped runs add with the collection is garbage V8 had not yet collected, not live data.
  const cap = [`--max-old-space-size=${CAPPED_HEAP_MIB}`];
  const capNote = `${batchNote}, heap cap`;
  await run(
    `snapshot chunk, ${capNote}`,
    `${sizes.smallDocs} docs`,
    { mode: 'chunk', ...idOf(smallCapped) },
    cap,
  );
  await run(`snapshot chunk, ${capNote}`, `${sizes.docs} docs`, { mode: 'chunk', ...idOf(bigCapped) }, cap);
  // The default bounds under the same cap: what a heap cap in the functions' NODE_OPTIONS would
  // buy against issue 15's memory goal, and its CPU (printed beside the uncapped run's).
  await run(
    'snapshot chunk, default bounds, heap cap',
    `${sizes.docs} docs`,
    { mode: 'chunk', ...idOf(defaultsCapped) },
    cap,
  );
  if (backlog) {
    const cdcNote = `pullBatchSize ${sizes.rssBatch}`;
    const tenth = Math.round(backlog.events / 10);
    for (const [label, size, pipe] of [
      [`CDC batch, ${cdcNote}`, `${tenth} events`, backlog.rss.small],
      [`CDC batch, ${cdcNote}`, `${backlog.events} events`, backlog.rss.big],
      ['CDC batch, default bounds', `${backlog.events} events`, backlog.rss.bigDefaults],
    ] as const) {
      await run(label, `backlog ${size}`, { mode: 'cdc', pipeId: pipe.pipeId, tableKey: pipe.tableKey });
    }
  }
  printRss(runs);
  return runs;
}

function idOf(pipe: { pipeId: string; tableKey: string }) {
  return { pipeId: pipe.pipeId, tableKey: pipe.tableKey };
}

function printRss(runs: RssRun[]): void {
  const idle = runs.find((run) => run.mode === 'idle')?.report.maxRssKb ?? 0;
  console.log(
    `${'run'.padEnd(46)} ${'size'.padEnd(22)} ${'did'.padEnd(22)} ${'peak RSS'.padStart(9)} ${'over idle'.padStart(10)} ` +
      `${'at call'.padStart(8)} ${'in call'.padStart(8)} ${'call adds'.padStart(9)} ` +
      `${'heap'.padStart(8)} ${'buffers'.padStart(8)}  time, CPU`,
  );
  for (const run of runs) {
    const mib = (kb: number) => `${(kb / 1024).toFixed(0)} MiB`;
    const did =
      run.mode === 'idle'
        ? '-'
        : `${run.report.units} ${run.mode === 'chunk' ? 'rows' : 'events'}, ${run.report.batches} batch${run.report.batches === 1 ? '' : 'es'}`;
    const { rssBeforeBytes, peakRssBytes } = run.report;
    console.log(
      `${run.label.padEnd(46)} ${run.size.padEnd(22)} ${did.padEnd(22)} ${mib(run.report.maxRssKb).padStart(9)} ` +
        `${(run.mode === 'idle' ? '' : `+${mib(run.report.maxRssKb - idle)}`).padStart(10)} ` +
        `${mib(rssBeforeBytes / 1024).padStart(8)} ${mib(peakRssBytes / 1024).padStart(8)} ` +
        `${(run.mode === 'idle' ? '' : `+${mib((peakRssBytes - rssBeforeBytes) / 1024)}`).padStart(9)} ` +
        `${mib(run.report.peakHeapUsedBytes / 1024).padStart(8)} ${mib(run.report.peakArrayBuffersBytes / 1024).padStart(8)}  ` +
        `${seconds(run.report.ms / 1000)} s, CPU ${seconds(run.report.cpuMicros / 1e6)} s`,
    );
  }
  console.log(
    'peak RSS: process.resourceUsage().maxRSS over the whole process (its start-up included); at call / in call: ' +
      'RSS when the call starts and its largest value during the call, sampled every 50 ms; call adds = in call − at call. ' +
      'heap / buffers: the largest V8 heap in use and Buffer memory, sampled the same way; time and CPU: the ' +
      "call's wall time and the process's CPU (user + system) during it; " +
      `heap cap: node --max-old-space-size=${CAPPED_HEAP_MIB}. Default bounds: snapshot 50000 rows and 32 MiB ` +
      'per batch; CDC pullBatchSize 100000 events and maxBytes 32 MiB',
  );
}

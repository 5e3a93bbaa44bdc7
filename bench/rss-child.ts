/**
 * One engine call in a fresh process, for its peak RSS: connects to the stand-ins the parent
 * runs, then runs one snapshotChunk (a whole partition) or one cdcBatch, or nothing (`idle`, the
 * baseline: the same modules loaded and the same connections open). Sends back
 * process.resourceUsage().maxRSS, the RSS sampled during the call, and what the call did.
 * maxRSS covers the process's whole life, so a start-up peak (tsx compiling the TypeScript) can
 * hide the call; the sampled peak against the RSS at the call's start shows what the call adds.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { MongoClient } from 'mongodb';
import { ClickHouseDestination } from '../functions/adapters/clickhouse/destination.js';
import { DynamoPipeStore } from '../functions/adapters/dynamodb/store.js';
import { MongoChangeSource } from '../functions/adapters/mongodb/change-source.js';
import { MongoSnapshotSource } from '../functions/adapters/mongodb/snapshot-source.js';
import { cdcBatch } from '../functions/engines/cdc-run.js';
import { snapshotChunk } from '../functions/engines/snapshot-chunk.js';
import { systemClock } from '../functions/ports/clock.js';
import { silentLog } from '../test/support/log.js';

export interface RssChildConfig {
  mode: 'idle' | 'chunk' | 'cdc';
  mongoUri: string;
  dynamoEndpoint: string;
  dynamoTable: string;
  clickhouseUrl: string;
  pipeId: string;
  tableKey: string;
}

export interface RssChildReport {
  /** process.resourceUsage().maxRSS: kilobytes. */
  maxRssKb: number;
  /** RSS once connected, before the call. */
  rssBeforeBytes: number;
  /** Largest RSS seen during the call, sampled every 50 ms (and at its end). */
  peakRssBytes: number;
  /** Largest V8 heap in use and Buffer (ArrayBuffer) memory seen, sampled every 50 ms. */
  peakHeapUsedBytes: number;
  peakArrayBuffersBytes: number;
  /** Rows copied (chunk) or events applied (cdc). */
  units: number;
  batches: number;
  ms: number;
  /** This process's CPU (user + system) during the call, microseconds. */
  cpuMicros: number;
}

// The parent gone (or done with us): stop at once.
process.once('disconnect', () => process.exit(0));
if (!process.connected) process.exit(0);
const config = JSON.parse(process.env.BENCH_RSS ?? '{}') as RssChildConfig;
const [db = '', coll = ''] = config.tableKey.split(/\.(.*)/s);
const mongo = new MongoClient(config.mongoUri);
const dynamo = new DynamoDBClient({
  endpoint: config.dynamoEndpoint,
  region: 'us-east-1',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  maxAttempts: 1,
});
const store = new DynamoPipeStore({ client: dynamo, tableName: config.dynamoTable });
const destination = ClickHouseDestination.connect({ url: config.clickhouseUrl });
try {
  await mongo.connect();
  await mongo.db('admin').command({ ping: 1 });
  await store.getPipe(config.pipeId);
  await destination.tableExists({ database: 'system', table: 'one' });
  const rssBeforeBytes = process.memoryUsage().rss;
  let peakHeapUsedBytes = 0;
  let peakArrayBuffersBytes = 0;
  let peakRssBytes = rssBeforeBytes;
  const sample = () => {
    const usage = process.memoryUsage();
    peakRssBytes = Math.max(peakRssBytes, usage.rss);
    peakHeapUsedBytes = Math.max(peakHeapUsedBytes, usage.heapUsed);
    peakArrayBuffersBytes = Math.max(peakArrayBuffersBytes, usage.arrayBuffers);
  };
  const sampler = setInterval(sample, 50);
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  let units = 0;
  let batches = 0;
  if (config.mode === 'chunk') {
    const result = await snapshotChunk(
      { store, source: new MongoSnapshotSource(mongo), destination, clock: systemClock },
      {
        pipeId: config.pipeId,
        table: config.tableKey,
        partitionIndex: 0,
        budget: { deadline: Date.now() + 3_600_000, safetyMarginMs: 5_000 },
      },
    );
    if (!result.done) throw new Error('the chunk stopped before the end of its partition');
    units = result.rowsCopied;
    batches = result.batches;
  } else if (config.mode === 'cdc') {
    const source = new MongoChangeSource(mongo, { namespaces: [{ db, coll }], log: silentLog });
    const result = await cdcBatch(
      { store, source, destination, clock: systemClock },
      {
        pipeId: config.pipeId,
        holder: 'bench-rss',
        budget: { deadline: Date.now() + 50_000, safetyMarginMs: 5_000 },
      },
    );
    if (result.status !== 'applied') throw new Error(`CDC batch skipped: ${result.reason}`);
    units = result.events;
    batches = 1;
  }
  clearInterval(sampler);
  sample();
  const cpu = process.cpuUsage(cpuBefore);
  const report: RssChildReport = {
    maxRssKb: process.resourceUsage().maxRSS,
    peakHeapUsedBytes,
    peakArrayBuffersBytes,
    rssBeforeBytes,
    peakRssBytes,
    units,
    batches,
    ms: performance.now() - started,
    cpuMicros: cpu.user + cpu.system,
  };
  process.send?.(report);
} finally {
  await mongo.close();
  await destination.close();
  dynamo.destroy();
}
process.disconnect();

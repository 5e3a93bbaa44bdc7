/**
 * Counts what the cost model (docs/cost.md) multiplies by prices: DynamoDB requests, batches and
 * durations of the snapshot engine and of the CDC function (the real handler, as Lambda runs it)
 * on ~1 KB documents: a drain, idle scheduled runs, and continuous flushes idle and busy. Runs
 * against the stand-ins; DynamoDB requests are counted at the SDK client.
 * Usage: `tsx bench/cost-counts.ts [--docs 20000] [--events 20000] [--idle-runs 5]`.
 */
import { parseArgs } from 'node:util';
import { BSON } from 'mongodb';
import { DynamoPipeStore } from '../functions/adapters/dynamodb/store.js';
import { cdcBatchTask } from '../functions/handlers/cdc-batch.js';
import { connectWith, type Runtime } from '../functions/handlers/runtime.js';
import { systemClock } from '../functions/ports/clock.js';
import { LocalCdcSchedule } from '../local/cdc/schedule.js';
import { markReplicating, partsOf, setUpPipe, snapshotAll, startWorld } from '../test/e2e/harness.js';
import { silentLog } from '../test/support/log.js';
import { loadOrders, orderDocument } from './documents.js';

const { values } = parseArgs({
  options: {
    docs: { type: 'string', default: '20000' },
    events: { type: 'string', default: '20000' },
    'idle-runs': { type: 'string', default: '5' },
  },
});
const docCount = positive('docs');
const eventCount = positive('events');
const idleRuns = positive('idle-runs');

function positive(name: 'docs' | 'events' | 'idle-runs'): number {
  const value = Number(values[name]);
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`--${name} must be a positive integer`);
  return value;
}

/** The deployed CDC function's timeout: each invocation gets what Lambda gives it. */
const FUNCTION_TIMEOUT_MS = 15 * 60_000;

const world = await startWorld();
try {
  const requests = new Map<string, number>();
  const client = world.dynamo.newClient();
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const name = String(context.commandName ?? 'unknown');
      requests.set(name, (requests.get(name) ?? 0) + 1);
      return next(args);
    },
    { step: 'initialize', name: 'countRequests' },
  );
  const store = new DynamoPipeStore({ client, tableName: world.dynamo.tableName });
  const counted = { ...world, store };
  const take = (): Record<string, number> => {
    const snapshot = Object.fromEntries(requests);
    requests.clear();
    return snapshot;
  };
  const total = (counts: Record<string, number>) => Object.values(counts).reduce((sum, n) => sum + n, 0);

  const collection = world.mongo.db('cost').collection('orders');
  await loadOrders(collection, docCount);
  const table = { db: 'cost', coll: 'orders', target: 'cost_orders' };
  const pipe = await setUpPipe(counted, [table]);
  const parts = partsOf(counted, pipe);
  take();

  let started = performance.now();
  const snapshot = await snapshotAll(pipe, parts);
  const snapshotMs = performance.now() - started;
  const snapshotRequests = take();
  let bytes = 0;
  for await (const document of collection.find({})) bytes += BSON.calculateObjectSize(document);
  await markReplicating(store, pipe);
  take();

  const runtime: Runtime = {
    store,
    scheduler: new LocalCdcSchedule(),
    clock: systemClock,
    connect: connectWith({
      mongoUri: world.rs.uri,
      clickhouse: { url: world.clickhouseUrl },
      log: silentLog,
    }),
  };
  /** One invocation of the CDC function with `timeMs` of Lambda time left. */
  const invoke = (pipeId: string, timeMs: number) => {
    const deadline = Date.now() + timeMs;
    return cdcBatchTask.invoke(
      runtime,
      { pipeId },
      { getRemainingTimeInMillis: () => deadline - Date.now() },
    );
  };
  const running = async (pipeId: string) => {
    for (const event of ['provisioned', 'destinationReadyCdcOnly'] as const)
      await store.applyEvent(pipeId, event, { reason: 'cost counts', actor: 'bench' });
  };
  await running(pipe.pipeId);
  take();

  for (let n = 0; n < eventCount; n += 1) {
    const roll = n % 10;
    if (roll < 4) await collection.insertOne(orderDocument(docCount + n));
    else if (roll < 9)
      await collection.updateOne(
        { orderNo: n % docCount },
        { $set: { status: `s${n}` }, $inc: { total: 1 } },
      );
    else await collection.deleteOne({ orderNo: n % docCount });
  }
  started = performance.now();
  const drain = await invoke(pipe.pipeId, FUNCTION_TIMEOUT_MS);
  if (drain.status !== 'ran') throw new Error(`CDC run skipped: ${drain.reason}`);
  const cdcMs = performance.now() - started;
  const cdcRequests = take();

  const idleDurations: number[] = [];
  for (let run = 0; run < idleRuns; run += 1) {
    started = performance.now();
    await invoke(pipe.pipeId, FUNCTION_TIMEOUT_MS);
    idleDurations.push(performance.now() - started);
  }
  const idleRequests = take();

  // Continuous: a second pipe on the same collection, flushing every 2 s, for 30 s of reading.
  const continuous = await setUpPipe(counted, [{ ...table, target: 'cost_orders_continuous' }], {
    syncIntervalSeconds: 2,
  });
  await markReplicating(store, continuous);
  await running(continuous.pipeId);
  await invoke(continuous.pipeId, 45_000);
  take();
  const idleFlushes = await invoke(continuous.pipeId, 45_000);
  const idleFlushRequests = take();
  let writing = true;
  const writer = (async () => {
    for (let n = 0; writing && n < 100_000; n += 1) {
      await collection.insertOne(orderDocument(docCount + eventCount + n));
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  const busyFlushes = await invoke(continuous.pipeId, 45_000);
  writing = false;
  await writer;
  const busyFlushRequests = take();

  const mb = (n: number) => (n / 1e6).toFixed(1);
  console.log(
    `snapshot: ${snapshot.rows} documents, ${mb(bytes)} MB (BSON), ${snapshot.chunks} chunks, ${snapshot.partitions} partitions, ${(snapshotMs / 1000).toFixed(1)} s`,
  );
  console.log(`  DynamoDB requests: ${total(snapshotRequests)} ${JSON.stringify(snapshotRequests)}`);
  if (drain.status === 'ran')
    console.log(
      `cdc drain (one run of the function): ${drain.events} events, ${mb(drain.bytes)} MB (change events), ${drain.batches} batches, ${(cdcMs / 1000).toFixed(1)} s, ended ${drain.endedBecause}`,
    );
  console.log(
    `  DynamoDB requests: ${total(cdcRequests)} ${JSON.stringify(cdcRequests)} (per batch ${(total(cdcRequests) / (drain.status === 'ran' ? drain.batches : 1)).toFixed(1)})`,
  );
  console.log(
    `idle scheduled run (caught up at once): ${idleDurations.map((ms) => ms.toFixed(0)).join(', ')} ms`,
  );
  console.log(
    `  DynamoDB requests: ${total(idleRequests)} ${JSON.stringify(idleRequests)} (per run ${(total(idleRequests) / idleRuns).toFixed(1)})`,
  );
  for (const [label, run, counts] of [
    ['continuous run, idle, 2 s flushes', idleFlushes, idleFlushRequests],
    ['continuous run, 50 inserts/s, 2 s flushes', busyFlushes, busyFlushRequests],
  ] as const) {
    if (run.status !== 'ran') throw new Error(`${label}: skipped (${run.reason})`);
    console.log(
      `${label}: ${run.batches} flushes, ${run.events} events, ${(run.durationMs / 1000).toFixed(1)} s`,
    );
    console.log(
      `  DynamoDB requests: ${total(counts)} ${JSON.stringify(counts)} (per flush ${(total(counts) / run.batches).toFixed(2)})`,
    );
  }
} finally {
  await world.stop();
}

/**
 * Counts what the cost model (docs/cost.md) multiplies by prices: DynamoDB requests, batches and
 * durations of the snapshot and CDC engines on ~1 KB documents, and of an idle CDC run. Runs the
 * real engines against the stand-ins; DynamoDB requests are counted at the SDK client.
 * Usage: `tsx bench/cost-counts.ts [--docs 20000] [--events 20000] [--idle-runs 5]`.
 */
import { parseArgs } from 'node:util';
import { BSON } from 'mongodb';
import { DynamoPipeStore } from '../functions/adapters/dynamodb/store.js';
import { cdcBatch } from '../functions/engines/cdc-run.js';
import { systemClock } from '../functions/ports/clock.js';
import { markReplicating, partsOf, setUpPipe, snapshotAll, startWorld } from '../test/e2e/harness.js';
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
  let batches = 0;
  let events = 0;
  let cdcBytes = 0;
  for (let run = 0; run < 1_000; run += 1) {
    const result = await cdcBatch(
      { store, source: pipe.changeSource, destination: world.destination, clock: systemClock },
      {
        pipeId: pipe.pipeId,
        holder: `cost-${run}`,
        budget: { deadline: Date.now() + 60_000 },
        maxWaitMs: 200,
      },
    );
    if (result.status !== 'applied') throw new Error(`CDC run skipped: ${result.reason}`);
    if (result.events === 0 && result.heldBackEvents === 0) break;
    batches += 1;
    events += result.events;
    cdcBytes += result.bytes;
  }
  const cdcMs = performance.now() - started;
  const cdcRequests = take();

  const idleDurations: number[] = [];
  for (let run = 0; run < idleRuns; run += 1) {
    started = performance.now();
    await cdcBatch(
      { store, source: pipe.changeSource, destination: world.destination, clock: systemClock },
      { pipeId: pipe.pipeId, holder: `idle-${run}`, budget: { deadline: Date.now() + 60_000 } },
    );
    idleDurations.push(performance.now() - started);
  }
  const idleRequests = take();

  const mb = (n: number) => (n / 1e6).toFixed(1);
  console.log(
    `snapshot: ${snapshot.rows} documents, ${mb(bytes)} MB (BSON), ${snapshot.chunks} chunks, ${snapshot.partitions} partitions, ${(snapshotMs / 1000).toFixed(1)} s`,
  );
  console.log(`  DynamoDB requests: ${total(snapshotRequests)} ${JSON.stringify(snapshotRequests)}`);
  console.log(
    `cdc: ${events} events, ${mb(cdcBytes)} MB (change events), ${batches} batches, ${(cdcMs / 1000).toFixed(1)} s`,
  );
  console.log(
    `  DynamoDB requests: ${total(cdcRequests)} ${JSON.stringify(cdcRequests)} (per run ${(total(cdcRequests) / (batches + 1)).toFixed(1)}, counting the last run that found nothing)`,
  );
  console.log(`idle cdc run (default 1 s wait): ${idleDurations.map((ms) => ms.toFixed(0)).join(', ')} ms`);
  console.log(
    `  DynamoDB requests: ${total(idleRequests)} ${JSON.stringify(idleRequests)} (per run ${(total(idleRequests) / idleRuns).toFixed(1)})`,
  );
} finally {
  await world.stop();
}

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cdcBatch } from '../../functions/engines/cdc-run.js';
import { systemClock } from '../../functions/ports/clock.js';
import {
  cdcBatches,
  cdcUntilCaughtUp,
  compareTable,
  hurried,
  markReplicating,
  partsOf,
  setUpPipe,
  snapshotAll,
  startWorld,
  type World,
} from './harness.js';
import { type LoadCollection, seedCollections, WriteLoad } from './write-load.js';

const COLLECTIONS: LoadCollection[] = [
  { db: 'shop', coll: 'orders', target: 'orders', idKind: 'objectId' },
  { db: 'shop', coll: 'counters', target: 'counters', idKind: 'int' },
  { db: 'shop', coll: 'users', target: 'users', idKind: 'string' },
  { db: 'shop', coll: 'events', target: 'events', idKind: 'compound' },
];
const PER_COLLECTION = 1_000;

describe('snapshot + CDC end to end (simulator → engines → embedded ClickHouse)', () => {
  let world: World;
  /** Stopped in afterAll too, so a failing test never leaves writes running against a closed client. */
  let load: WriteLoad | undefined;

  beforeAll(async () => {
    world = await startWorld();
  });
  afterAll(async () => {
    await load?.stop();
    await world?.stop();
  });

  it('replicates a snapshot taken under a concurrent write load, then CDC, into FINAL rows equal to MongoDB', async () => {
    const started = Date.now();
    const ids = await seedCollections(world.mongo, COLLECTIONS, PER_COLLECTION);
    const pipe = await setUpPipe(world, COLLECTIONS, {
      snapshotBatchMaxRows: 250,
      snapshotNumRowsPerPartition: 1_000,
      pullBatchSize: 100,
    });
    const parts = partsOf(world, pipe);
    load = new WriteLoad(world.mongo, COLLECTIONS, ids);
    load.start();
    const snapshot = await snapshotAll(pipe, parts, hurried());
    await markReplicating(world.store, pipe);
    // CDC runs while the writes go on (batches of 100 events: cut by the bound, mid-transaction at times).
    const during = await cdcBatches(pipe, parts, 6);
    const counts = await load.stop();
    const after = await cdcUntilCaughtUp(pipe, parts);
    const cdc = { events: during.events + after.events, batches: during.batches + after.batches };
    const comparisons = await Promise.all(COLLECTIONS.map((collection) => compareTable(world, collection)));
    const seconds = (Date.now() - started) / 1000;
    const documents = comparisons.reduce((sum, c) => sum + c.mongoCount, 0);
    console.info(
      `[e2e snapshot-cdc] documents=${documents} snapshotRows=${snapshot.rows} partitions=${snapshot.partitions} ` +
        `chunks=${snapshot.chunks} writes=${JSON.stringify(counts)} cdcEvents=${cdc.events} cdcBatches=${cdc.batches} heldBack=${during.heldBack + after.heldBack} seconds=${seconds.toFixed(1)}`,
    );
    expect(counts.transactions).toBeGreaterThan(0);
    expect(cdc.events).toBeGreaterThan(0);
    for (const comparison of comparisons) {
      expect(comparison).toMatchObject({ missing: [], extra: [], different: [], duplicated: [] });
      expect(comparison.clickhouseCount).toBe(comparison.mongoCount);
      expect(comparison.mongoCount).toBeGreaterThan(PER_COLLECTION / 2);
    }
  }, 240_000);

  it('lets one of two simultaneous CDC runs hold the lease; the other exits without failing', async () => {
    const table = { db: 'shop', coll: 'race', target: 'race' };
    await world.mongo
      .db(table.db)
      .collection(table.coll)
      .insertMany([{ n: 1 }, { n: 2 }]);
    const pipe = await setUpPipe(world, [table]);
    const parts = partsOf(world, pipe);
    await snapshotAll(pipe, parts);
    await markReplicating(world.store, pipe);
    await world.mongo.db(table.db).collection(table.coll).insertOne({ n: 3 });
    const run = (holder: string) =>
      cdcBatch(
        { store: world.store, source: pipe.changeSource, destination: world.destination, clock: systemClock },
        { pipeId: pipe.pipeId, holder, budget: { deadline: Date.now() + 30_000 }, maxWaitMs: 200 },
      );
    const results = await Promise.all([run('run-a'), run('run-b')]);
    expect(results.map((result) => result.status).sort()).toEqual(['applied', 'skipped']);
    const comparison = await compareTable(world, table);
    expect(comparison).toMatchObject({
      missing: [],
      extra: [],
      different: [],
      duplicated: [],
      clickhouseCount: 3,
    });
  });
});

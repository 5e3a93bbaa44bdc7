import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
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
    });
    const parts = partsOf(world, pipe);
    load = new WriteLoad(world.mongo, COLLECTIONS, ids);
    load.start();
    const snapshot = await snapshotAll(pipe, parts, hurried());
    const counts = await load.stop();
    await markReplicating(world.store, pipe);
    const cdc = await cdcUntilCaughtUp(pipe, parts);
    const comparisons = await Promise.all(COLLECTIONS.map((collection) => compareTable(world, collection)));
    const seconds = (Date.now() - started) / 1000;
    const documents = comparisons.reduce((sum, c) => sum + c.mongoCount, 0);
    console.info(
      `[e2e snapshot-cdc] documents=${documents} snapshotRows=${snapshot.rows} partitions=${snapshot.partitions} ` +
        `chunks=${snapshot.chunks} writes=${JSON.stringify(counts)} cdcEvents=${cdc.events} cdcBatches=${cdc.batches} seconds=${seconds.toFixed(1)}`,
    );
    expect(counts.transactions).toBeGreaterThan(0);
    expect(cdc.events).toBeGreaterThan(0);
    for (const comparison of comparisons) {
      expect(comparison).toMatchObject({ missing: [], extra: [], different: [], duplicated: [] });
      expect(comparison.clickhouseCount).toBe(comparison.mongoCount);
      expect(comparison.mongoCount).toBeGreaterThan(PER_COLLECTION / 2);
    }
  }, 240_000);
});

import type { ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClickHouseClient } from '../../functions/adapters/clickhouse/client.js';
import { finishResync, prepareResyncTables } from '../../functions/engines/resync.js';
import {
  compareTable,
  DATABASE,
  markReplicating,
  partsOf,
  setUpPipe,
  snapshotAll,
  startWorld,
  type World,
} from './harness.js';

describe('resync swap', () => {
  let world: World;
  let reader: ClickHouseClient;

  beforeAll(async () => {
    world = await startWorld();
    reader = createClickHouseClient({ url: world.clickhouseUrl });
  });
  afterAll(async () => {
    await reader?.close();
    await world?.stop();
  });

  it('never shows readers a missing or empty table while <table>_resync is swapped in', async () => {
    const table = { db: 'swap', coll: 'items', target: 'swap_items' };
    const tableKey = 'swap.items';
    const items = world.mongo.db(table.db).collection(table.coll);
    await items.insertMany(
      Array.from({ length: 1_500 }, (_, n) => ({ _id: n as never, n, label: `row ${n}` })),
    );
    const pipe = await setUpPipe(world, [table]);
    const parts = partsOf(world, pipe);
    await snapshotAll(pipe, parts);
    await markReplicating(world.store, pipe);

    const observed = { reads: 0, empty: 0, errors: [] as string[] };
    let swapping = true;
    const readLoop = (async () => {
      for (let read = 0; read < 100_000 && swapping; read += 1) {
        try {
          const result = await reader.query({
            query: `SELECT count() AS live FROM ${DATABASE}.${table.target} FINAL WHERE _peerdb_is_deleted = 0`,
            format: 'JSONEachRow',
          });
          const [row] = (await result.json()) as { live: string | number }[];
          observed.reads += 1;
          if (Number(row?.live) === 0) observed.empty += 1;
        } catch (error) {
          observed.errors.push((error as Error).message);
        }
      }
    })();
    const rounds = 3;
    try {
      for (let round = 0; round < rounds; round += 1) {
        await items.updateMany({}, { $set: { round } });
        const input = { pipeId: pipe.pipeId, tableKeys: [tableKey], startCdc: false };
        await prepareResyncTables({ store: world.store, destination: world.destination }, input);
        await snapshotAll(pipe, parts);
        const swapped = await finishResync({ store: world.store, destination: world.destination }, input);
        expect(swapped.swapped).toEqual([table.target]);
      }
    } finally {
      swapping = false;
      await readLoop;
    }
    console.info(
      `[e2e resync-swap] rounds=${rounds} reads=${observed.reads} empty=${observed.empty} errors=${observed.errors.length}`,
    );
    expect(observed.errors).toEqual([]);
    expect(observed.empty).toBe(0);
    expect(observed.reads).toBeGreaterThan(rounds);
    expect((await world.store.getTableMapping(pipe.pipeId, tableKey))?.state).toBe('Replicating');
    // The swapped-in table holds the last resync's load: every document with its latest round.
    const comparison = await compareTable(world, table);
    expect(comparison).toMatchObject({
      missing: [],
      extra: [],
      different: [],
      duplicated: [],
      clickhouseCount: 1_500,
    });
  }, 120_000);
});

import type { ClickHouseClient } from '@clickhouse/client';
import { createClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSettings } from '../../functions/core/settings.js';
import {
  blockPipeFinds,
  compareWithSource,
  DATABASE,
  type MachineWorld,
  newPipe,
  run,
  seed,
  startMachineWorld,
} from '../statemachines/support.js';

/**
 * CDC never stops for a snapshot (issue 13), through the real machines, handlers and the local
 * CDC schedule (as npm start runs them): a table added under load, a resync under load.
 */

const APP_NAME = 'pipe-under-test';
const FLUSH_SECONDS = 2;
/** Each `find` of the pipe's client (one per snapshot partition) waits this long. */
const FIND_BLOCK_MS = 2_500;

interface Probe {
  _id: number;
  ackAt: number;
}

/** Inserts one document every `everyMs` into `db.coll` from the test's own client, noting when each was acknowledged. */
function startProbes(world: MachineWorld, db: string, coll: string, firstId: number, everyMs: number) {
  const probes: Probe[] = [];
  let stopped = false;
  const loop = (async () => {
    for (let n = 0; n < 10_000 && !stopped; n += 1) {
      const _id = firstId + n;
      await world.mongo
        .db(db)
        .collection<{ _id: number; name: string }>(coll)
        .insertOne({ _id, name: `probe ${_id}` });
      probes.push({ _id, ackAt: Date.now() });
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  })();
  return {
    probes,
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

const blockFinds = (world: MachineWorld, on: boolean) =>
  blockPipeFinds(world, APP_NAME, on ? FIND_BLOCK_MS : null);

/** When each probe's row landed in ClickHouse (`_peerdb_synced_at`), as epoch ms; absent = not there. */
async function landedAt(
  reader: ClickHouseClient,
  table: string,
  ids: number[],
): Promise<Map<number, number>> {
  if (ids.length === 0) return new Map();
  const result = await reader.query({
    query: `SELECT _id, toUnixTimestamp64Milli(min(_peerdb_synced_at)) AS at FROM ${DATABASE}.${table}
            WHERE _id IN ({ids:Array(String)}) GROUP BY _id`,
    query_params: { ids: ids.map(String) },
    format: 'JSONEachRow',
  });
  const rows = await result.json<{ _id: string; at: string | number }>();
  return new Map(rows.map((row) => [Number(row._id), Number(row.at)]));
}

/** Waits (bounded) until the table equals the collection; returns the last comparison. */
async function converged(world: MachineWorld, db: string, coll: string) {
  let comparison = await compareWithSource(world, db, coll);
  for (let attempt = 0; attempt < 60; attempt += 1) {
    if (comparison.missing.length + comparison.extra.length + comparison.different.length === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 500));
    comparison = await compareWithSource(world, db, coll);
  }
  return comparison;
}

describe('continuous CDC beside snapshots, through the machines and the local schedule', () => {
  let world: MachineWorld;
  let reader: ClickHouseClient;

  beforeAll(async () => {
    world = await startMachineWorld({ cdc: { minuteMs: 5_000 }, appName: APP_NAME });
    reader = createClient({ url: world.clickhouse.url });
  }, 120_000);

  afterAll(async () => {
    await blockFinds(world, false).catch(() => undefined);
    await reader?.close();
    await world?.stop();
  });

  it('a table added under load: the other table keeps flowing during its ≥ 20 s snapshot, both converge', async () => {
    await seed(world, 'cc', 'a', 200);
    await seed(world, 'cc', 'b', 8_000);
    const pipeId = await newPipe(world, [{ db: 'cc', coll: 'a' }], {
      syncIntervalSeconds: FLUSH_SECONDS,
      snapshotNumRowsPerPartition: 1_000,
      initialLoadParallelism: 1,
    });
    expect(await run(world, 'create', pipeId)).toMatchObject({ status: 'SUCCEEDED' });

    // The API's part of "add tables": the new mapping joins the settings, then the machine runs.
    const pipe = await world.store.getPipe(pipeId);
    const settings = parseSettings(pipe.settings);
    const withB = parseSettings({
      ...settings,
      tableMappings: [
        ...settings.tableMappings,
        { sourceDatabaseName: 'cc', sourceCollection: 'b', targetTable: 'cc_b' },
      ],
    });
    await world.store.updateSettings(pipeId, withB, { state: pipe.state, version: pipe.version });

    const writer = startProbes(world, 'cc', 'a', 100_000, 100);
    await blockFinds(world, true);
    const started = Date.now();
    let result: Awaited<ReturnType<typeof run>>;
    try {
      result = await run(world, 'addTables', pipeId, { expectedState: 'Running', tables: ['cc.b'] });
    } finally {
      await blockFinds(world, false);
    }
    const tookMs = Date.now() - started;
    await writer.stop();
    expect(result).toMatchObject({ status: 'SUCCEEDED' });
    expect(tookMs).toBeGreaterThanOrEqual(20_000);
    expect((await world.store.getPipe(pipeId)).state).toBe('Running');

    const b = await converged(world, 'cc', 'b');
    const a = await converged(world, 'cc', 'a');
    for (const comparison of [a, b])
      expect(comparison).toMatchObject({ missing: [], extra: [], different: [] });
    expect(b.count).toBe(8_000);

    // Every write to A made while B loaded landed well before B's snapshot ended: a CDC stopped
    // for the snapshot gives lags of most of tookMs (20-60 s); a working one gives one or two
    // flush intervals (2-4 s, more on a loaded machine), so the bound leaves room for a slow CI.
    const during = writer.probes.filter((probe) => probe.ackAt < started + tookMs);
    const landed = await landedAt(
      reader,
      'cc_a',
      during.map((probe) => probe._id),
    );
    const lags = during.map((probe) => (landed.get(probe._id) ?? Number.POSITIVE_INFINITY) - probe.ackAt);
    console.info(
      `[e2e continuous] B loaded in ${tookMs} ms; ${during.length} writes to A meanwhile, lag max ${Math.max(...lags)} ms, ` +
        `median ${lags.sort((x, y) => x - y)[Math.floor(lags.length / 2)]} ms`,
    );
    expect(during.length).toBeGreaterThan(100);
    expect(Math.max(...lags)).toBeLessThan(Math.min(10_000, tookMs / 3));
  }, 180_000);

  it('a resync under load: the live table keeps receiving changes until the swap, nothing is lost', async () => {
    await seed(world, 'cc', 'r', 3_000);
    const pipeId = await newPipe(world, [{ db: 'cc', coll: 'r' }], {
      syncIntervalSeconds: FLUSH_SECONDS,
      snapshotNumRowsPerPartition: 1_000,
      initialLoadParallelism: 1,
    });
    expect(await run(world, 'create', pipeId)).toMatchObject({ status: 'SUCCEEDED' });

    const writer = startProbes(world, 'cc', 'r', 200_000, 100);
    const updates = (async () => {
      for (let n = 0; n < 300; n += 1)
        await world.mongo
          .db('cc')
          .collection<{ _id: number; round?: number }>('r')
          .updateOne({ _id: n }, { $set: { round: n } });
    })();
    await blockFinds(world, true);
    const started = Date.now();
    const resync = run(world, 'resync', pipeId, { expectedState: 'Running', tables: ['cc.r'] });
    // While the table is in Resync, probes written after the resync began reach the live table.
    let seenInLiveBeforeSwap = 0;
    for (let poll = 0; poll < 200; poll += 1) {
      const table = await world.store.getTableMapping(pipeId, 'cc.r');
      if (table?.state !== 'Resync') {
        if (poll > 0 && seenInLiveBeforeSwap > 0) break;
      } else {
        const recent = writer.probes.filter((probe) => probe.ackAt > started);
        const landed = await landedAt(
          reader,
          'cc_r',
          recent.map((probe) => probe._id),
        );
        const stillResync = (await world.store.getTableMapping(pipeId, 'cc.r'))?.state === 'Resync';
        if (stillResync) seenInLiveBeforeSwap = landed.size;
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    let outcome: Awaited<ReturnType<typeof run>>;
    try {
      outcome = await resync;
    } finally {
      await blockFinds(world, false);
    }
    await updates;
    await writer.stop();
    expect(outcome).toMatchObject({ status: 'SUCCEEDED' });
    console.info(
      `[e2e continuous] resync took ${Date.now() - started} ms; ${seenInLiveBeforeSwap} new writes seen live before the swap`,
    );
    expect(seenInLiveBeforeSwap).toBeGreaterThan(10);
    expect(await world.destination.tableExists({ database: DATABASE, table: 'cc_r_resync' })).toBe(false);
    const comparison = await converged(world, 'cc', 'r');
    expect(comparison).toMatchObject({ missing: [], extra: [], different: [] });
    expect(comparison.count).toBe(3_000 + writer.probes.length);
  }, 180_000);
});

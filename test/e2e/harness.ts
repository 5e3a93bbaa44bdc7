import type { MongoClient } from 'mongodb';
import type { ClickHouseDestination } from '../../functions/adapters/clickhouse/destination.js';
import type { DynamoPipeStore } from '../../functions/adapters/dynamodb/store.js';
import { MongoChangeSource } from '../../functions/adapters/mongodb/change-source.js';
import { MongoSnapshotSource } from '../../functions/adapters/mongodb/snapshot-source.js';
import type { PipeSettingsInput } from '../../functions/core/settings.js';
import { cdcBatch } from '../../functions/engines/cdc-run.js';
import { snapshotChunk } from '../../functions/engines/snapshot-chunk.js';
import { planTableSnapshot } from '../../functions/engines/snapshot-plan.js';
import { type Clock, systemClock } from '../../functions/ports/clock.js';
import type { Destination } from '../../functions/ports/destination.js';
import type { PipeStore } from '../../functions/ports/pipe-store.js';
import type { ChangeSource, SnapshotSource } from '../../functions/ports/source.js';
import type { ReplicaSetHandle } from '../../simulator/index.js';
import { createPipeWithTables, ManualClock, newStore, type TableSpec } from '../engines/support.js';
import type { TestClickHouse } from '../support/clickhouse.js';
import { type Comparison, compareCollection } from '../support/compare.js';
import type { LocalDynamo } from '../support/dynalite.js';
import { silentLog } from '../support/log.js';
import { buildOnStandIns } from '../support/stand-ins.js';

export type { Comparison } from '../support/compare.js';

export const DATABASE = 'e2e';

/** Every real part of the data plane, on loopback: simulator, dynalite, embedded ClickHouse. */
export interface World {
  rs: ReplicaSetHandle;
  mongo: MongoClient;
  dynamo: LocalDynamo;
  store: DynamoPipeStore;
  clickhouse: TestClickHouse;
  clickhouseUrl: string;
  destination: ClickHouseDestination;
  snapshotSource: MongoSnapshotSource;
  stop(): Promise<void>;
}

export function startWorld(): Promise<World> {
  return buildOnStandIns(async (parts) => {
    await parts.destination.ensureDatabase(DATABASE);
    return worldOf(parts);
  });
}

/** The world made of its running stand-ins: the store and snapshot source over them. */
export function worldOf(
  parts: Pick<World, 'rs' | 'mongo' | 'dynamo' | 'clickhouse' | 'destination' | 'stop'>,
): World {
  const { rs, mongo, dynamo, clickhouse, destination, stop } = parts;
  return {
    rs,
    mongo,
    dynamo,
    store: newStore(dynamo),
    clickhouse,
    clickhouseUrl: clickhouse.url,
    destination,
    snapshotSource: new MongoSnapshotSource(mongo),
    stop,
  };
}

export interface PipeUnderTest {
  pipeId: string;
  tables: TableSpec[];
  changeSource: MongoChangeSource;
  useJsonNativeFormat: boolean;
}

/** A pipe in the store, its destination tables created and its CDC start point recorded. */
export async function setUpPipe(
  world: World,
  tables: TableSpec[],
  settings: Partial<PipeSettingsInput> = {},
): Promise<PipeUnderTest> {
  const pipeId = await createPipeWithTables(world.store, tables, settings, {
    kind: 'clickhouse',
    database: DATABASE,
  });
  const useJsonNativeFormat = settings.useJsonNativeFormat ?? true;
  for (const table of tables) {
    await world.destination.createTable(
      { database: DATABASE, table: table.target },
      { useJsonNativeFormat, deleteOnMerge: false },
    );
  }
  const changeSource = new MongoChangeSource(world.mongo, {
    namespaces: tables.map((table) => ({ db: table.db, coll: table.coll })),
    log: silentLog,
  });
  await world.store.recordStartPoint(pipeId, await changeSource.captureStartPoint());
  return { pipeId, tables, changeSource, useJsonNativeFormat };
}

export interface EngineParts {
  store: PipeStore;
  snapshotSource: SnapshotSource;
  changeSource: ChangeSource;
  destination: Destination;
}

export function partsOf(world: World, pipe: PipeUnderTest): EngineParts {
  return {
    store: world.store,
    snapshotSource: world.snapshotSource,
    changeSource: pipe.changeSource,
    destination: world.destination,
  };
}

export interface ChunkPacing {
  /** The clock the engine reads; a stepping clock makes budget stops deterministic. */
  clock: Clock;
  budgetMs: number;
  safetyMarginMs: number;
}

/** Wall time, a budget no snapshot here reaches: one chunk per partition. */
export const UNHURRIED: ChunkPacing = { clock: systemClock, budgetMs: 60_000, safetyMarginMs: 5_000 };

/** Every clock read moves one second: a 5 s budget with a 2 s margin stops each chunk after three batches. */
export function hurried(): ChunkPacing {
  return { clock: new ManualClock(Date.now(), 1_000), budgetMs: 5_000, safetyMarginMs: 2_000 };
}

/** Plans every table (once: the store keeps the first plan) and runs chunks until each partition is done. */
export async function snapshotAll(
  pipe: PipeUnderTest,
  parts: EngineParts,
  pacing: ChunkPacing = UNHURRIED,
): Promise<{ rows: number; chunks: number; partitions: number }> {
  let rows = 0;
  let chunks = 0;
  let partitions = 0;
  for (const table of pipe.tables) {
    const tableKey = `${table.db}.${table.coll}`;
    const planned = await planTableSnapshot(
      { store: parts.store, source: parts.snapshotSource },
      { pipeId: pipe.pipeId, tableKey },
    );
    partitions += planned.partitions.length;
    for (const partition of planned.partitions) {
      for (let call = 0; ; call += 1) {
        if (call >= 200)
          throw new Error(`partition ${tableKey}#${partition.index} not done after 200 chunks`);
        const result = await snapshotChunk(
          {
            store: parts.store,
            source: parts.snapshotSource,
            destination: parts.destination,
            clock: pacing.clock,
          },
          {
            pipeId: pipe.pipeId,
            table: tableKey,
            partitionIndex: partition.index,
            budget: { deadline: pacing.clock.now() + pacing.budgetMs, safetyMarginMs: pacing.safetyMarginMs },
          },
        );
        chunks += 1;
        rows += result.rowsCopied;
        if (result.done) break;
      }
    }
  }
  return { rows, chunks, partitions };
}

/** Marks every table Replicating, as the state machine does once the snapshot is done. */
export async function markReplicating(store: PipeStore, pipe: PipeUnderTest): Promise<void> {
  for (const table of pipe.tables) {
    await store.setTableState(pipe.pipeId, `${table.db}.${table.coll}`, { state: 'Replicating' });
  }
}

export interface CdcTotals {
  events: number;
  heldBack: number;
  batches: number;
}

async function oneCdcBatch(pipe: PipeUnderTest, parts: EngineParts, holder: string) {
  const result = await cdcBatch(
    { store: parts.store, source: parts.changeSource, destination: parts.destination, clock: systemClock },
    {
      pipeId: pipe.pipeId,
      holder,
      budget: { deadline: Date.now() + 30_000, safetyMarginMs: 5_000 },
      maxWaitMs: 200,
    },
  );
  if (result.status === 'skipped') throw new Error(`CDC batch skipped: ${result.reason}`);
  return result;
}

/** Runs `count` CDC batches, whatever they find (e.g. while a write load goes on). */
export async function cdcBatches(pipe: PipeUnderTest, parts: EngineParts, count: number): Promise<CdcTotals> {
  const totals: CdcTotals = { events: 0, heldBack: 0, batches: 0 };
  for (let batch = 0; batch < count; batch += 1) {
    const result = await oneCdcBatch(pipe, parts, 'e2e');
    totals.events += result.events;
    totals.heldBack += result.heldBackEvents;
    totals.batches += 1;
  }
  return totals;
}

/** Runs CDC batches until one applies nothing and holds nothing back. */
export async function cdcUntilCaughtUp(
  pipe: PipeUnderTest,
  parts: EngineParts,
  holder = 'e2e',
): Promise<CdcTotals> {
  const totals: CdcTotals = { events: 0, heldBack: 0, batches: 0 };
  for (let batch = 1; batch <= 500; batch += 1) {
    const result = await oneCdcBatch(pipe, parts, holder);
    totals.events += result.events;
    totals.heldBack += result.heldBackEvents;
    totals.batches = batch;
    if (result.events === 0 && result.heldBackEvents === 0) return totals;
  }
  throw new Error('CDC did not catch up within 500 batches');
}

/** MongoDB vs ClickHouse FINAL (live rows) of one table of the pipe. */
export function compareTable(world: World, table: TableSpec): Promise<Comparison> {
  return compareCollection(world.mongo, world.destination, table, {
    database: DATABASE,
    table: table.target,
  });
}

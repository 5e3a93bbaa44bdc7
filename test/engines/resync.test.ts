import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DynamoPipeStore } from '../../functions/adapters/dynamodb/store.js';
import { encodePartitionBounds } from '../../functions/core/partition-plan.js';
import { prepareResyncTable, swapResyncTable } from '../../functions/engines/resync.js';
import { snapshotChunk } from '../../functions/engines/snapshot-chunk.js';
import type { SnapshotBatch } from '../../functions/ports/source.js';
import { type LocalDynamo, startDynalite } from '../support/dynalite.js';
import {
  createPipeWithTables,
  instrumentStore,
  ManualClock,
  MemoryDestination,
  newStore,
} from './support.js';

describe('table resync pieces', () => {
  let dynamo: LocalDynamo;
  let store: DynamoPipeStore;

  beforeAll(async () => {
    dynamo = await startDynalite();
    store = newStore(dynamo);
  });
  afterAll(async () => {
    await dynamo?.stop();
  });

  it('prepares <table>_resync, loads it through snapshotChunk, and swaps it in; a crashed swap re-runs', async () => {
    const pipeId = await createPipeWithTables(store, [
      { db: 'shop', coll: 'items', target: 'items', state: 'Replicating' },
    ]);
    await store.savePartitionPlan(pipeId, 'shop.items', [
      { index: 0, bounds: encodePartitionBounds({ lower: null, upper: null }) },
    ]);
    const log: string[] = [];
    const destination = new MemoryDestination(log);
    await destination.insertRows({
      database: 'default',
      table: 'items',
      rows: [{ table: 'items', _id: 'old', doc: '{}', _peerdb_version: 0n, _peerdb_is_deleted: 0 }],
      deduplicationToken: 'x',
      useJsonNativeFormat: true,
    });

    const prepared = await prepareResyncTable({ store, destination }, { pipeId, tableKey: 'shop.items' });
    expect(prepared.resyncTable).toBe('items_resync');
    expect((await store.getTableMapping(pipeId, 'shop.items'))?.state).toBe('Resync');
    expect(await store.listPartitions(pipeId, 'shop.items')).toEqual([]);

    await store.savePartitionPlan(pipeId, 'shop.items', [
      { index: 0, bounds: encodePartitionBounds({ lower: null, upper: null }) },
    ]);
    const source = {
      async *readPartition(): AsyncIterable<SnapshotBatch> {
        yield { documents: [{ _id: 1 }, { _id: 2 }], bytes: 40, checkpoint: '2' };
      },
    };
    const loaded = await snapshotChunk(
      { store, source, destination, clock: new ManualClock() },
      { pipeId, table: 'shop.items', partitionIndex: 0, budget: { deadline: Date.UTC(2030, 0, 1) } },
    );
    expect(loaded).toMatchObject({ done: true, targetTable: 'items_resync', rowsCopied: 2 });
    expect([...destination.final('items').keys()]).toEqual(['old']);

    const crashing = instrumentStore(store, log);
    crashing.failNext('setTableState');
    await expect(
      swapResyncTable({ store: crashing, destination }, { pipeId, tableKey: 'shop.items' }),
    ).rejects.toThrow(/injected crash/);
    expect((await store.getTableMapping(pipeId, 'shop.items'))?.state).toBe('Resync');
    await swapResyncTable({ store: crashing, destination }, { pipeId, tableKey: 'shop.items' });
    expect((await store.getTableMapping(pipeId, 'shop.items'))?.state).toBe('Replicating');
    expect([...destination.final('items').keys()].sort()).toEqual(['1', '2']);
    expect(log.filter((entry) => entry.startsWith('swap'))).toEqual(['swap:items', 'swap:items']);
  });
});

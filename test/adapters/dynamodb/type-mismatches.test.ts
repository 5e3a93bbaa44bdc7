import { describe, expect, it } from 'vitest';
import type { DynamoPipeStore } from '../../../functions/adapters/dynamodb/store.js';
import { TableMappingNotFoundError } from '../../../functions/core/store-errors.js';
import { type LocalDynamo, useDynalite } from '../../support/dynalite.js';
import { fenceOf, ManualClock, newStore, pipeInput } from './fixtures.js';

let store: DynamoPipeStore;
const clock = new ManualClock();

useDynalite((started: LocalDynamo) => {
  store = newStore(started, clock);
});

const orders = { sourceDatabaseName: 'shop', sourceCollection: 'orders', targetTable: 'orders' };

describe('typed column mismatch counts', () => {
  it('sums the partitions’ cumulative counts (a replayed checkpoint does not add) with CDC’s added counts', async () => {
    const pipeId = (await store.createPipe(pipeInput())).pipe.id;
    await store.putTableMapping(pipeId, orders);
    expect((await store.getTableMapping(pipeId, 'shop.orders'))?.typeMismatches).toBeUndefined();
    await store.savePartitionPlan(pipeId, 'shop.orders', [
      { index: 0, bounds: {} },
      { index: 1, bounds: {} },
    ]);
    const checkpoint = async (
      index: number,
      at: { seq: number; checkpoint: string; rowsCopied: number },
      typeMismatches: Record<string, number>,
    ) =>
      store.checkpointPartition(
        pipeId,
        'shop.orders',
        index,
        { ...at, typeMismatches },
        await fenceOf(store, pipeId, 'shop.orders', index),
      );
    await checkpoint(0, { seq: 1, checkpoint: '"a"', rowsCopied: 10 }, { total: 2 });
    await checkpoint(0, { seq: 2, checkpoint: '"b"', rowsCopied: 20 }, { total: 3, city: 1 });
    await checkpoint(1, { seq: 1, checkpoint: '"c"', rowsCopied: 5 }, { total: 4 });
    const partitions = await store.listPartitions(pipeId, 'shop.orders');
    expect(partitions.map((partition) => partition.typeMismatches)).toEqual([
      { total: 3, city: 1 },
      { total: 4 },
    ]);
    await store.addTypeMismatches(pipeId, 'shop.orders', { total: 1, city: 0 });
    await store.addTypeMismatches(pipeId, 'shop.orders', { total: 1, placed: 5 });
    const table = await store.refreshTableProgress(pipeId, 'shop.orders');
    expect(table.typeMismatches).toEqual({ total: 9, city: 1, placed: 5 });
  });

  it('refuses counts for a table the pipe does not have', async () => {
    const pipeId = (await store.createPipe(pipeInput())).pipe.id;
    await expect(store.addTypeMismatches(pipeId, 'shop.nothing', { a: 1 })).rejects.toThrow(
      TableMappingNotFoundError,
    );
  });
});

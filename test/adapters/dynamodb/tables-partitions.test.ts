import { GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { describe, expect, it } from 'vitest';
import { partitionKey, planKey } from '../../../functions/adapters/dynamodb/keys.js';
import type { DynamoPipeStore } from '../../../functions/adapters/dynamodb/store.js';
import { PipeNotFoundError } from '../../../functions/core/errors.js';
import {
  CheckpointRegressionError,
  InvalidStoreInputError,
  PartitionNotFoundError,
  TableMappingNotFoundError,
} from '../../../functions/core/store-errors.js';
import { tableKeyOf } from '../../../functions/core/table-key.js';
import type { PartitionPlanEntry, PendingBatch } from '../../../functions/ports/pipe-store.js';
import { type LocalDynamo, useDynalite } from '../../support/dynalite.js';
import { fenceOf, ManualClock, newStore, pipeInput } from './fixtures.js';

let dynamo: LocalDynamo;
let store: DynamoPipeStore;
const clock = new ManualClock();

useDynalite((started) => {
  dynamo = started;
  store = newStore(started, clock);
});

async function newPipe(): Promise<string> {
  return (await store.createPipe(pipeInput())).pipe.id;
}

const orders = { sourceDatabaseName: 'shop', sourceCollection: 'orders', targetTable: 'shop_orders' };
const plan = (count: number): PartitionPlanEntry[] =>
  Array.from({ length: count }, (_, index) => ({ index, bounds: { min: `${index}`, max: `${index + 1}` } }));

describe('table mappings', () => {
  it('puts, reads, lists and updates a mapping', async () => {
    const pipeId = await newPipe();
    const created = await store.putTableMapping(pipeId, orders);
    expect(created).toEqual({
      ...orders,
      pipeId,
      tableKey: 'shop.orders',
      state: 'Pending',
      stopReason: null,
      stopMessage: null,
      progress: { documentsCopied: 0, documentsEstimated: 0, partitionsDone: 0, partitionsTotal: 0 },
      updatedAt: clock.now(),
    });
    await store.putTableMapping(
      pipeId,
      { ...orders, sourceCollection: 'users', targetTable: 'users' },
      'Snapshot',
    );
    const listed = await store.listTableMappings(pipeId);
    expect(listed.map((table) => [table.tableKey, table.state])).toEqual([
      ['shop.orders', 'Pending'],
      ['shop.users', 'Snapshot'],
    ]);

    await store.setTableEstimate(pipeId, 'shop.orders', 1234);
    const stopped = await store.setTableState(pipeId, 'shop.orders', {
      state: 'Stopped',
      stopReason: 'renamed',
      stopMessage: 'renamed to shop.orders_v2',
    });
    expect(stopped).toMatchObject({
      state: 'Stopped',
      stopReason: 'renamed',
      progress: { documentsEstimated: 1234 },
    });
    const replicating = await store.setTableState(pipeId, 'shop.orders', { state: 'Replicating' });
    expect(replicating).toMatchObject({ state: 'Replicating', stopReason: null, stopMessage: null });
    expect(await store.getTableMapping(pipeId, 'shop.orders')).toEqual(replicating);
    expect(await store.getTableMapping(pipeId, 'shop.absent')).toBeNull();
  });

  it('keeps progress when a mapping is put again', async () => {
    const pipeId = await newPipe();
    await store.putTableMapping(pipeId, orders);
    await store.setTableEstimate(pipeId, 'shop.orders', 50);
    const again = await store.putTableMapping(pipeId, { ...orders, targetTable: 'renamed_target' }, 'Resync');
    expect(again).toMatchObject({
      targetTable: 'renamed_target',
      state: 'Resync',
      progress: { documentsEstimated: 50 },
    });
  });

  it('refuses bad input and missing pipes or tables with named errors', async () => {
    const pipeId = await newPipe();
    await store.putTableMapping(pipeId, orders);
    await expect(store.setTableState(pipeId, 'shop.orders', { state: 'Stopped' })).rejects.toBeInstanceOf(
      InvalidStoreInputError,
    );
    await expect(
      store.setTableState(pipeId, 'shop.orders', { state: 'Replicating', stopReason: 'dropped' }),
    ).rejects.toBeInstanceOf(InvalidStoreInputError);
    await expect(store.setTableState(pipeId, 'shop.nothing', { state: 'Removed' })).rejects.toBeInstanceOf(
      TableMappingNotFoundError,
    );
    await expect(store.putTableMapping('missing-pipe', orders)).rejects.toBeInstanceOf(PipeNotFoundError);
    await expect(
      store.putTableMapping(pipeId, { ...orders, sourceDatabaseName: 'a.b' }),
    ).rejects.toBeInstanceOf(InvalidStoreInputError);
  });

  it('keeps tables whose names share a prefix or contain "#" apart', async () => {
    const pipeId = await newPipe();
    await store.savePartitionPlan(pipeId, 'shop.a', plan(1));
    await store.savePartitionPlan(pipeId, 'shop.a#b', plan(3));
    expect(await store.listPartitions(pipeId, 'shop.a')).toHaveLength(1);
    expect(await store.listPartitions(pipeId, 'shop.a#b')).toHaveLength(3);
    expect(tableKeyOf({ sourceDatabaseName: 'shop', sourceCollection: 'a.b' })).toBe('shop.a.b');
  });
});

describe('snapshot partitions', () => {
  it('saves a plan once and returns it, checkpoints intact, when asked again', async () => {
    const pipeId = await newPipe();
    const saved = await store.savePartitionPlan(pipeId, 'shop.orders', plan(3));
    expect(
      saved.map((partition) => [partition.index, partition.seq, partition.done, partition.checkpoint]),
    ).toEqual([
      [0, 0, false, null],
      [1, 0, false, null],
      [2, 0, false, null],
    ]);
    expect(saved[1]!.bounds).toEqual({ min: '1', max: '2' });
    await store.checkpointPartition(
      pipeId,
      'shop.orders',
      1,
      {
        seq: 1,
        checkpoint: '"id-500"',
        rowsCopied: 500,
      },
      await fenceOf(store, pipeId, 'shop.orders', 1),
    );
    const again = await store.savePartitionPlan(pipeId, 'shop.orders', plan(5));
    expect(again).toHaveLength(3);
    expect(again[1]).toMatchObject({ seq: 1, checkpoint: '"id-500"', rowsCopied: 500 });
  });

  it('refuses plans whose indexes are not 0..n-1', async () => {
    const pipeId = await newPipe();
    const gap = [
      { index: 0, bounds: null },
      { index: 2, bounds: null },
    ];
    await expect(store.savePartitionPlan(pipeId, 'shop.orders', gap)).rejects.toBeInstanceOf(
      InvalidStoreInputError,
    );
    await expect(store.savePartitionPlan(pipeId, 'shop.orders', [])).rejects.toBeInstanceOf(
      InvalidStoreInputError,
    );
  });

  it('never moves a checkpoint backwards, even under concurrent out-of-order writers', async () => {
    const pipeId = await newPipe();
    await store.savePartitionPlan(pipeId, 'shop.orders', plan(1));
    const seqs = [3, 9, 1, 10, 6, 2, 8, 4, 7, 5];
    const fence = await fenceOf(store, pipeId, 'shop.orders', 0);
    await Promise.allSettled(
      seqs.map((seq) =>
        store.checkpointPartition(
          pipeId,
          'shop.orders',
          0,
          { seq, checkpoint: `"id-${seq}"`, rowsCopied: seq * 100 },
          fence,
        ),
      ),
    );
    const [partition] = await store.listPartitions(pipeId, 'shop.orders');
    expect(partition).toMatchObject({ seq: 10, checkpoint: '"id-10"', rowsCopied: 1000 });

    const error = await store
      .checkpointPartition(
        pipeId,
        'shop.orders',
        0,
        { seq: 10, checkpoint: '"replayed"', rowsCopied: 1 },
        await fenceOf(store, pipeId, 'shop.orders', 0),
      )
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(CheckpointRegressionError);
    expect(error).toMatchObject({ storedSeq: 10, givenSeq: 10, done: false });
    expect((await store.listPartitions(pipeId, 'shop.orders'))[0]).toMatchObject({ checkpoint: '"id-10"' });
  });

  it('closes a partition for good once done, and tracks table progress from the partitions', async () => {
    const pipeId = await newPipe();
    await store.putTableMapping(pipeId, orders, 'Snapshot');
    await store.setTableEstimate(pipeId, 'shop.orders', 900);
    await store.savePartitionPlan(pipeId, 'shop.orders', plan(3));
    await store.checkpointPartition(
      pipeId,
      'shop.orders',
      0,
      {
        seq: 1,
        checkpoint: '"a"',
        rowsCopied: 300,
        done: true,
      },
      await fenceOf(store, pipeId, 'shop.orders', 0),
    );
    await store.checkpointPartition(
      pipeId,
      'shop.orders',
      1,
      { seq: 1, checkpoint: '"b"', rowsCopied: 120 },
      await fenceOf(store, pipeId, 'shop.orders', 1),
    );
    await store.checkpointPartition(
      pipeId,
      'shop.orders',
      2,
      { seq: 1, checkpoint: '"c"', rowsCopied: 250 },
      await fenceOf(store, pipeId, 'shop.orders', 2),
    );
    const marked = await store.markPartitionDone(
      pipeId,
      'shop.orders',
      2,
      await fenceOf(store, pipeId, 'shop.orders', 2),
    );
    expect(marked).toMatchObject({ done: true, rowsCopied: 250 });
    await expect(
      store.checkpointPartition(
        pipeId,
        'shop.orders',
        0,
        { seq: 2, checkpoint: '"late"', rowsCopied: 301 },
        await fenceOf(store, pipeId, 'shop.orders', 0),
      ),
    ).rejects.toMatchObject({ name: 'CheckpointRegressionError', done: true });

    const table = await store.refreshTableProgress(pipeId, 'shop.orders');
    expect(table.progress).toEqual({
      documentsCopied: 670,
      documentsEstimated: 900,
      partitionsDone: 2,
      partitionsTotal: 3,
    });
  });

  it('names missing partitions', async () => {
    const pipeId = await newPipe();
    await store.savePartitionPlan(pipeId, 'shop.orders', plan(1));
    await expect(
      store.checkpointPartition(
        pipeId,
        'shop.orders',
        7,
        { seq: 1, checkpoint: '"x"', rowsCopied: 1 },
        await fenceOf(store, pipeId, 'shop.orders', 7),
      ),
    ).rejects.toBeInstanceOf(PartitionNotFoundError);
    await expect(
      store.markPartitionDone(pipeId, 'shop.orders', 7, await fenceOf(store, pipeId, 'shop.orders', 7)),
    ).rejects.toBeInstanceOf(PartitionNotFoundError);
  });

  it('finishes a plan whose save crashed before the header, dropping partitions a larger attempt left', async () => {
    const client = dynamo.newClient();
    const crashing = newStore(dynamo, clock, client);
    const pipeId = await newPipe();
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'PutItemCommand') throw new Error('simulated crash');
        return next(args);
      },
      { step: 'initialize', name: 'crashBeforeHeader' },
    );
    await expect(crashing.savePartitionPlan(pipeId, 'shop.orders', plan(5))).rejects.toThrow(
      'simulated crash',
    );
    expect(await store.listPartitions(pipeId, 'shop.orders')).toHaveLength(5);

    const saved = await store.savePartitionPlan(pipeId, 'shop.orders', plan(2));
    expect(saved.map((partition) => partition.index)).toEqual([0, 1]);
    expect(await store.savePartitionPlan(pipeId, 'shop.orders', plan(4))).toHaveLength(2);
  });

  it('forgets a plan so a table resync can plan again', async () => {
    const pipeId = await newPipe();
    await store.savePartitionPlan(pipeId, 'shop.orders', plan(3));
    await store.deletePartitionPlan(pipeId, 'shop.orders');
    expect(await store.listPartitions(pipeId, 'shop.orders')).toEqual([]);
    expect(await store.savePartitionPlan(pipeId, 'shop.orders', plan(2))).toHaveLength(2);
  });
});

describe('pending batches', () => {
  const checkpointAt = async (pipeId: string, seq: number, checkpoint: string) =>
    store.checkpointPartition(
      pipeId,
      'shop.orders',
      0,
      { seq, checkpoint, rowsCopied: seq * 100 },
      await fenceOf(store, pipeId, 'shop.orders', 0),
    );
  const refusalOf = async (pipeId: string, index: number, pending: PendingBatch) =>
    store
      .recordPendingBatch(
        pipeId,
        'shop.orders',
        index,
        pending,
        await fenceOf(store, pipeId, 'shop.orders', index),
      )
      .catch((caught: unknown) => caught);

  async function planned(): Promise<string> {
    const pipeId = await newPipe();
    await store.savePartitionPlan(pipeId, 'shop.orders', plan(1));
    return pipeId;
  }

  it('records a batch after the checkpoint and shows it on the partition', async () => {
    const pipeId = await planned();
    await checkpointAt(pipeId, 1, '"id-100"');
    const pending = { seq: 2, start: '"id-100"', end: '"id-200"' };
    const recorded = await store.recordPendingBatch(
      pipeId,
      'shop.orders',
      0,
      pending,
      await fenceOf(store, pipeId, 'shop.orders', 0),
    );
    expect(recorded).toMatchObject({ seq: 1, checkpoint: '"id-100"', rowsCopied: 100, pending });
    const [partition] = await store.listPartitions(pipeId, 'shop.orders');
    expect(partition!.pending).toEqual(pending);
  });

  it('records a batch from the start of a fresh partition (start null)', async () => {
    const pipeId = await planned();
    const pending = { seq: 1, start: null, end: '"id-100"' };
    await store.recordPendingBatch(
      pipeId,
      'shop.orders',
      0,
      pending,
      await fenceOf(store, pipeId, 'shop.orders', 0),
    );
    const [partition] = await store.listPartitions(pipeId, 'shop.orders');
    expect(partition).toMatchObject({ seq: 0, checkpoint: null, pending });
  });

  it('shows no pending batch on a partition that never had one', async () => {
    const pipeId = await planned();
    await checkpointAt(pipeId, 1, '"id-100"');
    const [partition] = await store.listPartitions(pipeId, 'shop.orders');
    expect(partition).not.toHaveProperty('pending');
  });

  it('refuses a batch whose seq is not the one after the stored seq', async () => {
    const pipeId = await planned();
    await checkpointAt(pipeId, 1, '"id-100"');
    for (const seq of [1, 3]) {
      const error = await refusalOf(pipeId, 0, { seq, start: '"id-100"', end: '"id-200"' });
      expect(error).toBeInstanceOf(CheckpointRegressionError);
      expect(error).toMatchObject({ storedSeq: 1, givenSeq: seq, done: false });
      expect((error as Error).message).toContain('its next batch is seq 2');
    }
    expect((await store.listPartitions(pipeId, 'shop.orders'))[0]).not.toHaveProperty('pending');
  });

  it("refuses a batch whose start is not the partition's checkpoint", async () => {
    const pipeId = await planned();
    const fromTheStart = await refusalOf(pipeId, 0, { seq: 1, start: '"id-0"', end: '"id-100"' });
    expect(fromTheStart).toBeInstanceOf(CheckpointRegressionError);
    expect((fromTheStart as Error).message).toContain("checkpoint other than the batch's start");
    await checkpointAt(pipeId, 1, '"id-100"');
    const elsewhere = await refusalOf(pipeId, 0, { seq: 2, start: '"id-50"', end: '"id-200"' });
    expect(elsewhere).toBeInstanceOf(CheckpointRegressionError);
    const restarted = await refusalOf(pipeId, 0, { seq: 2, start: null, end: '"id-200"' });
    expect(restarted).toBeInstanceOf(CheckpointRegressionError);
    expect((await store.listPartitions(pipeId, 'shop.orders'))[0]).not.toHaveProperty('pending');
  });

  it('refuses a second batch while one is pending, keeping the first', async () => {
    const pipeId = await planned();
    const first = { seq: 1, start: null, end: '"id-100"' };
    await store.recordPendingBatch(
      pipeId,
      'shop.orders',
      0,
      first,
      await fenceOf(store, pipeId, 'shop.orders', 0),
    );
    const error = await refusalOf(pipeId, 0, { seq: 1, start: null, end: '"id-150"' });
    expect(error).toBeInstanceOf(CheckpointRegressionError);
    expect((error as Error).message).toContain('already holds pending batch seq 1');
    expect((await store.listPartitions(pipeId, 'shop.orders'))[0]!.pending).toEqual(first);
  });

  it('refuses a batch on a done partition and names a missing one', async () => {
    const pipeId = await planned();
    await store.markPartitionDone(pipeId, 'shop.orders', 0, await fenceOf(store, pipeId, 'shop.orders', 0));
    const error = await refusalOf(pipeId, 0, { seq: 1, start: null, end: '"id-100"' });
    expect(error).toBeInstanceOf(CheckpointRegressionError);
    expect(error).toMatchObject({ done: true });
    expect((error as Error).message).toContain('is already done');
    expect(await refusalOf(pipeId, 7, { seq: 1, start: null, end: '"id-100"' })).toBeInstanceOf(
      PartitionNotFoundError,
    );
  });

  it('refuses malformed batches before writing', async () => {
    const pipeId = await planned();
    const malformed = [
      { seq: 0, start: null, end: '"id-100"' },
      { seq: 1, start: null, end: '' },
      { seq: 1, start: '', end: '"id-100"' },
      { seq: 1, end: '"id-100"' },
    ] as PendingBatch[];
    for (const pending of malformed) {
      expect(await refusalOf(pipeId, 0, pending)).toBeInstanceOf(InvalidStoreInputError);
    }
  });

  it('clears the pending batch with the checkpoint it ends at', async () => {
    const pipeId = await planned();
    await store.recordPendingBatch(
      pipeId,
      'shop.orders',
      0,
      { seq: 1, start: null, end: '"id-100"' },
      await fenceOf(store, pipeId, 'shop.orders', 0),
    );
    const checkpointed = await checkpointAt(pipeId, 1, '"id-100"');
    expect(checkpointed).toMatchObject({ seq: 1, checkpoint: '"id-100"' });
    expect(checkpointed).not.toHaveProperty('pending');
    expect((await store.listPartitions(pipeId, 'shop.orders'))[0]).not.toHaveProperty('pending');
    const next = { seq: 2, start: '"id-100"', end: '"id-200"' };
    expect(
      (
        await store.recordPendingBatch(
          pipeId,
          'shop.orders',
          0,
          next,
          await fenceOf(store, pipeId, 'shop.orders', 0),
        )
      ).pending,
    ).toEqual(next);
  });

  it('clears the pending batch when the partition is marked done', async () => {
    const pipeId = await planned();
    await store.recordPendingBatch(
      pipeId,
      'shop.orders',
      0,
      { seq: 1, start: null, end: '"id-100"' },
      await fenceOf(store, pipeId, 'shop.orders', 0),
    );
    const marked = await store.markPartitionDone(
      pipeId,
      'shop.orders',
      0,
      await fenceOf(store, pipeId, 'shop.orders', 0),
    );
    expect(marked).toMatchObject({ done: true });
    expect(marked).not.toHaveProperty('pending');
    expect((await store.listPartitions(pipeId, 'shop.orders'))[0]).not.toHaveProperty('pending');
  });
});

describe('plan ids', () => {
  async function planned(): Promise<{ pipeId: string; planId: string }> {
    const pipeId = await newPipe();
    const [partition] = await store.savePartitionPlan(pipeId, 'shop.orders', plan(1));
    return { pipeId, planId: partition!.planId! };
  }
  const partitionOf = async (pipeId: string) => (await store.listPartitions(pipeId, 'shop.orders'))[0];
  const stale = { planId: 'an-earlier-plan' };
  const replanned = (caught: unknown) => {
    expect(caught).toBeInstanceOf(CheckpointRegressionError);
    expect((caught as Error).message).toContain('was planned again');
  };

  it('gives every partition and the header of a saved plan one id; a re-save keeps it, a new plan gets another', async () => {
    const pipeId = await newPipe();
    const saved = await store.savePartitionPlan(pipeId, 'shop.orders', plan(3));
    const planId = saved[0]!.planId;
    expect(planId).toMatch(/^[0-9a-f-]{36}$/);
    expect(saved.map((partition) => partition.planId)).toEqual([planId, planId, planId]);
    const header = await dynamo
      .newClient()
      .send(
        new GetItemCommand({ TableName: dynamo.tableName, Key: marshall(planKey(pipeId, 'shop.orders')) }),
      );
    expect(header.Item?.planId).toEqual({ S: planId });
    const again = await store.savePartitionPlan(pipeId, 'shop.orders', plan(3));
    expect(again.map((partition) => partition.planId)).toEqual([planId, planId, planId]);
    await store.deletePartitionPlan(pipeId, 'shop.orders');
    const replaced = await store.savePartitionPlan(pipeId, 'shop.orders', plan(3));
    expect(replaced[0]!.planId).toMatch(/^[0-9a-f-]{36}$/);
    expect(replaced[0]!.planId).not.toBe(planId);
  });

  it("refuses each write of another plan's writer and changes nothing", async () => {
    const { pipeId } = await planned();
    const before = await partitionOf(pipeId);
    replanned(
      await store
        .recordPendingBatch(pipeId, 'shop.orders', 0, { seq: 1, start: null, end: '"id-100"' }, stale)
        .catch((caught: unknown) => caught),
    );
    replanned(
      await store
        .checkpointPartition(
          pipeId,
          'shop.orders',
          0,
          { seq: 1, checkpoint: '"id-100"', rowsCopied: 100 },
          stale,
        )
        .catch((caught: unknown) => caught),
    );
    replanned(
      await store.markPartitionDone(pipeId, 'shop.orders', 0, stale).catch((caught: unknown) => caught),
    );
    expect(await partitionOf(pipeId)).toEqual(before);
  });

  it("accepts each write of the partition's own plan", async () => {
    const { pipeId, planId } = await planned();
    const fence = { planId };
    const pending = { seq: 1, start: null, end: '"id-100"' };
    expect((await store.recordPendingBatch(pipeId, 'shop.orders', 0, pending, fence)).pending).toEqual(
      pending,
    );
    const checkpoint = { seq: 1, checkpoint: '"id-100"', rowsCopied: 100 };
    expect(await store.checkpointPartition(pipeId, 'shop.orders', 0, checkpoint, fence)).toMatchObject({
      seq: 1,
      planId,
    });
    expect(await store.markPartitionDone(pipeId, 'shop.orders', 0, fence)).toMatchObject({
      done: true,
      planId,
    });
  });

  it('lets a writer that loaded a partition saved before plan ids write it, and no other plan', async () => {
    const { pipeId } = await planned();
    await dynamo.newClient().send(
      new UpdateItemCommand({
        TableName: dynamo.tableName,
        Key: marshall(partitionKey(pipeId, 'shop.orders', 0)),
        UpdateExpression: 'REMOVE planId',
      }),
    );
    const legacy = await partitionOf(pipeId);
    expect(legacy).not.toHaveProperty('planId');
    replanned(
      await store
        .recordPendingBatch(pipeId, 'shop.orders', 0, { seq: 1, start: null, end: '"id-100"' }, stale)
        .catch((caught: unknown) => caught),
    );
    const unplanned = { planId: null };
    await store.recordPendingBatch(
      pipeId,
      'shop.orders',
      0,
      { seq: 1, start: null, end: '"id-100"' },
      unplanned,
    );
    const checkpoint = { seq: 1, checkpoint: '"id-100"', rowsCopied: 100 };
    expect(await store.checkpointPartition(pipeId, 'shop.orders', 0, checkpoint, unplanned)).toMatchObject({
      seq: 1,
    });
    expect(await store.markPartitionDone(pipeId, 'shop.orders', 0, unplanned)).toMatchObject({ done: true });
  });

  it('refuses a writer that loaded a partition without a plan id once the table is planned again', async () => {
    const { pipeId } = await planned();
    await store.deletePartitionPlan(pipeId, 'shop.orders');
    await store.savePartitionPlan(pipeId, 'shop.orders', plan(1));
    replanned(
      await store
        .markPartitionDone(pipeId, 'shop.orders', 0, { planId: null })
        .catch((caught: unknown) => caught),
    );
    expect(await partitionOf(pipeId)).toMatchObject({ done: false, seq: 0 });
  });
});

import { describe, expect, it } from 'vitest';
import type { DynamoPipeStore } from '../../functions/adapters/dynamodb/store.js';
import { ChangeStreamHistoryLostError } from '../../functions/core/errors.js';
import { cdcBatch } from '../../functions/engines/cdc-run.js';
import { CDC_LEASE } from '../../functions/ports/pipe-store.js';
import type { ChangeBatch } from '../../functions/ports/source.js';
import { type LocalDynamo, useDynalite } from '../support/dynalite.js';
import {
  createPipeWithTables,
  event,
  FAR,
  instrumentStore,
  ManualClock,
  MemoryDestination,
  NS,
  newStore,
  ScriptedChangeSource,
} from './support.js';

describe('cdcBatch', () => {
  let dynamo: LocalDynamo;
  let store: DynamoPipeStore;

  useDynalite((started) => {
    dynamo = started;
    store = newStore(started);
  });

  async function replicatingPipe(pullBatchSize = 1_000): Promise<string> {
    const pipeId = await createPipeWithTables(store, [{ ...NS, target: 'items', state: 'Replicating' }], {
      pullBatchSize,
    });
    await store.recordStartPoint(pipeId, { token: 'tok-0', clusterTime: { seconds: 1, increment: 0 } });
    return pipeId;
  }

  const run = (deps: Parameters<typeof cdcBatch>[0], pipeId: string, holder = 'run-a') =>
    cdcBatch(deps, { pipeId, holder, budget: { deadline: FAR }, maxWaitMs: 0 });

  it('collapses by _id, inserts, then commits the resume point under the fence, and reports metrics', async () => {
    const pipeId = await replicatingPipe(5);
    const log: string[] = [];
    const destination = new MemoryDestination(log);
    const source = new ScriptedChangeSource(
      [
        event(1, 'insert', 1, [100, 1], { v: 1 }),
        event(2, 'insert', 2, [100, 2], { v: 1 }),
        event(3, 'update', 1, [101, 1], { v: 2 }),
        event(4, 'delete', 2, [102, 1]),
        event(5, 'insert', 3, [103, 1], { v: 1 }),
      ],
      log,
    );
    const clock = new ManualClock(110_000);
    const result = await run({ store: instrumentStore(store, log), source, destination, clock }, pipeId);
    expect(result).toMatchObject({
      status: 'applied',
      events: 4,
      heldBackEvents: 1,
      rowsPerTable: { 'default.items': 2 },
      resumedWith: 'start-point-token',
      lagMs: 110_000 - 102_000,
      committed: { token: 'tok-4', clusterTime: { seconds: 102, increment: 1 } },
    });
    const order = log.filter(
      (entry) =>
        ['readBatch', 'commitResumePoint', 'releaseLease'].includes(entry) || entry.startsWith('insert'),
    );
    expect(order).toEqual(['readBatch', 'insert:items:2', 'commitResumePoint', 'releaseLease']);
    expect([...destination.final('items').keys()]).toEqual(['1']);
    expect(JSON.parse(destination.final('items').get('1')?.doc ?? '{}')).toEqual({ _id: 1, v: 2 });

    const second = await run({ store, source, destination, clock }, pipeId);
    expect(second).toMatchObject({
      status: 'applied',
      events: 1,
      heldBackEvents: 0,
      committed: { token: 'tok-5' },
    });
    expect([...destination.final('items').keys()].sort()).toEqual(['1', '3']);
    expect((await store.getResumePoint(pipeId))?.token).toBe('tok-5');
  });

  it('keeps a transaction whole: the events sharing the last cluster time wait for the next run', async () => {
    const pipeId = await replicatingPipe(3);
    const destination = new MemoryDestination();
    const source = new ScriptedChangeSource([
      event(1, 'insert', 1, [200, 1], { v: 1 }),
      event(2, 'update', 1, [201, 1], { v: 2 }),
      event(3, 'insert', 2, [201, 1], { v: 1 }),
      event(4, 'delete', 1, [201, 1]),
    ]);
    const deps = { store, source, destination, clock: new ManualClock() };
    const first = await run(deps, pipeId);
    expect(first).toMatchObject({ events: 1, heldBackEvents: 2, committed: { token: 'tok-1' } });
    const second = await run(deps, pipeId);
    expect(second).toMatchObject({ events: 3, heldBackEvents: 0, committed: { token: 'tok-4' } });
    expect([...destination.final('items').keys()]).toEqual(['2']);
  });

  it('applies a batch that ended caught up whole: it cannot end inside a transaction', async () => {
    const pipeId = await replicatingPipe(10);
    const destination = new MemoryDestination();
    const source = new ScriptedChangeSource([
      event(1, 'insert', 1, [250, 1], { v: 1 }),
      event(2, 'insert', 2, [251, 1], { v: 1 }),
      event(3, 'update', 2, [251, 1], { v: 2 }),
    ]);
    const result = await run({ store, source, destination, clock: new ManualClock() }, pipeId);
    expect(result).toMatchObject({ events: 3, heldBackEvents: 0, committed: { token: 'tok-3' } });
    expect(JSON.parse(destination.final('items').get('2')?.doc ?? '{}')).toEqual({ _id: 2, v: 2 });
  });

  it('replays a batch whose commit was lost with the same tokens, so the rows are not duplicated', async () => {
    const pipeId = await replicatingPipe();
    const destination = new MemoryDestination();
    const crashing = instrumentStore(store, []);
    const source = new ScriptedChangeSource([
      event(1, 'insert', 1, [300, 1], { v: 1 }),
      event(2, 'insert', 2, [301, 1]),
    ]);
    const deps = { store: crashing, source, destination, clock: new ManualClock() };
    crashing.failNext('commitResumePoint');
    await expect(run(deps, pipeId)).rejects.toThrow(/injected crash before commitResumePoint/);
    expect(await store.getResumePoint(pipeId)).toBeNull();
    const replay = await run(deps, pipeId);
    expect(replay).toMatchObject({ status: 'applied', events: 2, heldBackEvents: 0 });
    expect(destination.inserts).toHaveLength(1);
    expect(source.requests[1]?.resumePoint).toBeNull();
  });

  it('advances an idle pipe to the post-batch resume token', async () => {
    const pipeId = await replicatingPipe();
    const destination = new MemoryDestination();
    const result = await run(
      { store, source: new ScriptedChangeSource([]), destination, clock: new ManualClock() },
      pipeId,
    );
    expect(result).toMatchObject({
      status: 'applied',
      events: 0,
      lagMs: 0,
      committed: { token: 'tok-0', lagMs: 0 },
    });
    expect(await store.getResumePoint(pipeId)).toMatchObject({
      token: 'tok-0',
      clusterTime: { seconds: 9_000 },
    });
    expect(destination.inserts).toHaveLength(0);
  });

  it('skips without failing while another run holds the lease', async () => {
    const pipeId = await replicatingPipe();
    await store.acquireLease(pipeId, CDC_LEASE, 'other-run', 60_000);
    const source = new ScriptedChangeSource([event(1, 'insert', 1, [400, 1])]);
    const result = await run(
      { store, source, destination: new MemoryDestination(), clock: new ManualClock() },
      pipeId,
    );
    expect(result.status).toBe('skipped');
    expect(result.status === 'skipped' && result.reason).toMatch(/another run holds the lease/);
    expect(source.requests).toHaveLength(0);
  });

  it('skips without taking the lease when the budget is already spent', async () => {
    const pipeId = await replicatingPipe();
    const source = new ScriptedChangeSource([event(1, 'insert', 1, [450, 1])]);
    const clock = new ManualClock(1_000_000);
    const result = await cdcBatch(
      { store, source, destination: new MemoryDestination(), clock },
      { pipeId, holder: 'late', budget: { deadline: 1_003_000, safetyMarginMs: 5_000 } },
    );
    expect(result).toEqual({ status: 'skipped', reason: 'the time budget is already spent' });
    expect(source.requests).toHaveLength(0);
    expect(await store.getLease(pipeId, CDC_LEASE)).toBeNull();
  });

  it('ends quietly once the lease was taken over: the commit is refused, resume point unchanged', async () => {
    const pipeId = await replicatingPipe();
    const storeClock = new ManualClock(Date.now());
    const slowStore = newStore(dynamo, storeClock);
    const source = new ScriptedChangeSource([
      event(1, 'insert', 1, [500, 1], { v: 1 }),
      event(2, 'insert', 2, [501, 1]),
    ]);
    source.onRead = async () => {
      storeClock.current += 2 * 60 * 60_000;
      await slowStore.acquireLease(pipeId, CDC_LEASE, 'run-b', 60_000);
    };
    const destination = new MemoryDestination();
    const result = await cdcBatch(
      { store: slowStore, source, destination, clock: new ManualClock() },
      {
        pipeId,
        holder: 'run-a',
        budget: { deadline: Date.now() + 60_000, safetyMarginMs: 1_000 },
        maxWaitMs: 0,
      },
    );
    expect(result).toEqual({ status: 'skipped', reason: 'the run ended before its batch (lease-lost)' });
    expect(await store.getResumePoint(pipeId)).toBeNull();
    expect((await store.getLease(pipeId, CDC_LEASE))?.holder).toBe('run-b');
  });

  it('lets history loss propagate by name and releases the lease', async () => {
    const pipeId = await replicatingPipe();
    const source = {
      readBatch: async (): Promise<ChangeBatch> => {
        throw new ChangeStreamHistoryLostError('oplog truncated');
      },
    };
    const deps = { store, source, destination: new MemoryDestination(), clock: new ManualClock() };
    const failure = run(deps, pipeId);
    await expect(failure).rejects.toBeInstanceOf(ChangeStreamHistoryLostError);
    await expect(failure).rejects.toThrow(/resync needed/);
    const lease = await store.getLease(pipeId, CDC_LEASE);
    expect(lease?.expiresAt).toBeLessThanOrEqual(Date.now());
  });

  it('stops a dropped table and records why, then commits past the drop', async () => {
    const pipeId = await replicatingPipe();
    const source = new ScriptedChangeSource([
      event(1, 'insert', 1, [600, 1]),
      event(2, 'insert', 2, [601, 1]),
    ]);
    source.stopAfter = {
      position: 1,
      table: { namespace: NS, operationType: 'drop', reason: 'collection shop.items was dropped' },
    };
    const result = await run(
      { store, source, destination: new MemoryDestination(), clock: new ManualClock() },
      pipeId,
    );
    expect(result).toMatchObject({
      status: 'applied',
      events: 1,
      tablesStopped: ['shop.items'],
      committed: { token: 'tok-1' },
    });
    expect(await store.getTableMapping(pipeId, 'shop.items')).toMatchObject({
      state: 'Stopped',
      stopReason: 'dropped',
      stopMessage: 'collection shop.items was dropped',
    });
  });
});

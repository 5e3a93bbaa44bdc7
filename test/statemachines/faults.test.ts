import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ChangeStreamHistoryLostError,
  DestinationFatalError,
  DestinationUnavailableError,
  FatalError,
} from '../../functions/core/errors.js';
import type { PipeSettingsInput } from '../../functions/core/settings.js';
import { StoreUnavailableError } from '../../functions/core/store-errors.js';
import { cdcBatchTask } from '../../functions/handlers/cdc-batch.js';
import { liveRows, type MachineWorld, newPipe, run, seed, startMachineWorld } from './support.js';

/**
 * Retry and Catch paths of every machine, with faults injected once into the adapters the real
 * handlers call: a transient error is retried and the execution succeeds; a fatal one leaves
 * the pipe Failed with the error as lastError.
 */
describe('Retry and Catch paths', () => {
  let world: MachineWorld;
  let collections = 0;

  beforeAll(async () => {
    world = await startMachineWorld();
  }, 120_000);

  afterAll(async () => {
    await world?.stop();
  });

  /** A fresh collection with `count` documents and a pipe over it, still in Provisioning. */
  async function freshPipe(count = 40, settings: Partial<PipeSettingsInput> = {}) {
    collections += 1;
    const coll = `c${collections}`;
    await seed(world, 'faults', coll, count);
    const pipeId = await newPipe(world, [{ db: 'faults', coll }], settings);
    return { pipeId, coll, tableKey: `faults.${coll}` };
  }

  async function runningPipe() {
    const pipe = await freshPipe();
    expect(await run(world, 'create', pipe.pipeId)).toMatchObject({ status: 'SUCCEEDED' });
    return pipe;
  }

  async function expectFailedWith(pipeId: string, name: string, message: string) {
    const pipe = await world.store.getPipe(pipeId);
    expect(pipe.state).toBe('Failed');
    expect(pipe.lastError).toMatchObject({ name });
    expect(pipe.lastError?.message).toContain(message);
  }

  function expectThrown(fault: string) {
    expect(world.faults.thrown).toContain(fault);
    world.faults.thrown.length = 0;
  }

  describe('create', () => {
    it('retries a transient ClickHouse error inside the snapshot child and ends Running', async () => {
      const { pipeId, coll } = await freshPipe();
      world.faults.failOnce(
        'destination',
        'insertStreamed',
        new DestinationUnavailableError('injected: timeout'),
      );
      expect(await run(world, 'create', pipeId)).toMatchObject({ status: 'SUCCEEDED' });
      expectThrown('destination.insertStreamed');
      expect((await world.store.getPipe(pipeId)).state).toBe('Running');
      expect(await liveRows(world, 'faults', coll)).toBe(40);
    });

    it('a fatal error in Setup fails the pipe with the reason', async () => {
      const { pipeId } = await freshPipe();
      world.faults.failOnce('destination', 'createTable', new DestinationFatalError('injected: no grant'));
      expect(await run(world, 'create', pipeId)).toMatchObject({ status: 'FAILED', error: 'PipeFailed' });
      expectThrown('destination.createTable');
      await expectFailedWith(pipeId, 'DestinationFatalError', 'injected: no grant');
    });

    it('a fatal error inside the snapshot child fails the pipe with the child error', async () => {
      const { pipeId } = await freshPipe();
      world.faults.failOnce('destination', 'insertStreamed', new DestinationFatalError('injected: bad row'));
      expect(await run(world, 'create', pipeId)).toMatchObject({ status: 'FAILED', error: 'PipeFailed' });
      await expectFailedWith(pipeId, 'DestinationFatalError', 'injected: bad row');
    });

    it('snapshot-only pipes end Completed with the schedule disabled', async () => {
      const { pipeId, coll } = await freshPipe(25, { replicationMode: 'snapshot' });
      expect(await run(world, 'create', pipeId)).toMatchObject({ status: 'SUCCEEDED' });
      expect((await world.store.getPipe(pipeId)).state).toBe('Completed');
      expect(world.scheduler.get(pipeId)).toMatchObject({ enabled: false });
      expect(await liveRows(world, 'faults', coll)).toBe(25);
    });

    it('cdc_only pipes go straight to Running without a snapshot', async () => {
      const { pipeId, coll } = await freshPipe(25, { replicationMode: 'cdc_only' });
      expect(await run(world, 'create', pipeId)).toMatchObject({ status: 'SUCCEEDED' });
      const states = (await world.store.listHistory(pipeId)).items.map((entry) => entry.to).reverse();
      expect(states).toEqual(['Provisioning', 'Setup', 'Running']);
      expect(await liveRows(world, 'faults', coll)).toBe(0);
    });
  });

  it('pause: retries the command write, then a fatal drain check fails the pipe', async () => {
    const { pipeId } = await runningPipe();
    world.faults.failOnce('store', 'applyEvent', new StoreUnavailableError('injected: throttled'));
    expect(await run(world, 'pause', pipeId, { expectedState: 'Running' })).toMatchObject({
      status: 'SUCCEEDED',
    });
    expectThrown('store.applyEvent');
    expect((await world.store.getPipe(pipeId)).state).toBe('Paused');

    const other = await runningPipe();
    world.faults.failOnce('store', 'getLease', new FatalError('injected: lease item unreadable'));
    expect(await run(world, 'pause', other.pipeId, { expectedState: 'Running' })).toMatchObject({
      status: 'FAILED',
    });
    await expectFailedWith(other.pipeId, 'FatalError', 'injected: lease item unreadable');
  });

  it('a Task retried after its write landed recognises its own move (command and machine events)', async () => {
    const { pipeId } = await runningPipe();
    world.faults.failOnceAfterCall('store', 'applyEvent', new StoreUnavailableError('injected: reply lost'));
    expect(await run(world, 'pause', pipeId, { expectedState: 'Running' })).toMatchObject({
      status: 'SUCCEEDED',
    });
    expectThrown('store.applyEvent');
    const history = (await world.store.listHistory(pipeId, { limit: 2 })).items.map((entry) => entry.to);
    expect(history).toEqual(['Paused', 'Pausing']);

    const other = await freshPipe();
    world.faults.failOnceAfterCall('store', 'applyEvent', new StoreUnavailableError('injected: reply lost'));
    expect(await run(world, 'create', other.pipeId)).toMatchObject({ status: 'SUCCEEDED' });
    expectThrown('store.applyEvent');
    expect((await world.store.getPipe(other.pipeId)).state).toBe('Running');
  });

  it('resume: retries, and a fatal error after the command fails the pipe', async () => {
    const { pipeId } = await runningPipe();
    await run(world, 'pause', pipeId, { expectedState: 'Running' });
    world.faults.failOnce('store', 'applyEvent', new StoreUnavailableError('injected: throttled'));
    expect(await run(world, 'resume', pipeId, { expectedState: 'Paused' })).toMatchObject({
      status: 'SUCCEEDED',
    });
    expectThrown('store.applyEvent');
    expect((await world.store.getPipe(pipeId)).state).toBe('Running');

    await run(world, 'pause', pipeId, { expectedState: 'Running' });
    world.faults.failOnce('store', 'getPipe', new FatalError('injected: pipe item unreadable'));
    expect(await run(world, 'resume', pipeId, { expectedState: 'Paused' })).toMatchObject({
      status: 'FAILED',
    });
    await expectFailedWith(pipeId, 'FatalError', 'injected: pipe item unreadable');
  });

  it('resync: retries a transient swap error; a fatal one fails the pipe; resync recovers it', async () => {
    const { pipeId, coll } = await runningPipe();
    world.faults.failOnce(
      'destination',
      'swapResyncTable',
      new DestinationUnavailableError('injected: busy'),
    );
    expect(await run(world, 'resync', pipeId, { expectedState: 'Running' })).toMatchObject({
      status: 'SUCCEEDED',
    });
    expectThrown('destination.swapResyncTable');
    expect((await world.store.getPipe(pipeId)).state).toBe('Running');

    world.faults.failOnce(
      'destination',
      'createResyncTable',
      new DestinationFatalError('injected: disk full'),
    );
    expect(await run(world, 'resync', pipeId, { expectedState: 'Running' })).toMatchObject({
      status: 'FAILED',
    });
    await expectFailedWith(pipeId, 'DestinationFatalError', 'injected: disk full');

    expect(await run(world, 'resync', pipeId, { expectedState: 'Failed' })).toMatchObject({
      status: 'SUCCEEDED',
    });
    const pipe = await world.store.getPipe(pipeId);
    expect(pipe.state).toBe('Running');
    expect(pipe.lastError).toBeNull();
    expect(await liveRows(world, 'faults', coll)).toBe(40);
  });

  it('addTables and removeTables: retried, and fatal errors fail the pipe', async () => {
    const { pipeId, tableKey } = await runningPipe();
    world.faults.failOnce('store', 'setTableState', new StoreUnavailableError('injected: throttled'));
    const removed = await run(world, 'removeTables', pipeId, {
      expectedState: 'Running',
      tables: [tableKey],
    });
    expect(removed).toMatchObject({ status: 'SUCCEEDED' });
    expectThrown('store.setTableState');
    world.faults.failOnce('destination', 'createTable', new DestinationUnavailableError('injected: busy'));
    const added = await run(world, 'addTables', pipeId, { expectedState: 'Running', tables: [tableKey] });
    expect(added).toMatchObject({ status: 'SUCCEEDED' });
    expectThrown('destination.createTable');
    expect((await world.store.getTableMapping(pipeId, tableKey))?.state).toBe('Replicating');

    world.faults.failOnce('store', 'setTableState', new FatalError('injected: table item unreadable'));
    expect(
      await run(world, 'removeTables', pipeId, { expectedState: 'Running', tables: [tableKey] }),
    ).toMatchObject({
      status: 'FAILED',
    });
    await expectFailedWith(pipeId, 'FatalError', 'injected: table item unreadable');

    const other = await runningPipe();
    await run(world, 'removeTables', other.pipeId, { expectedState: 'Running', tables: [other.tableKey] });
    world.faults.failOnce('destination', 'createTable', new DestinationFatalError('injected: no grant'));
    expect(
      await run(world, 'addTables', other.pipeId, { expectedState: 'Running', tables: [other.tableKey] }),
    ).toMatchObject({ status: 'FAILED' });
    await expectFailedWith(other.pipeId, 'DestinationFatalError', 'injected: no grant');
  });

  it('delete: retried, and a fatal error leaves the pipe Failed (still deletable)', async () => {
    const { pipeId } = await runningPipe();
    world.faults.failOnce('store', 'deletePipe', new FatalError('injected: access denied'));
    expect(await run(world, 'delete', pipeId)).toMatchObject({ status: 'FAILED' });
    await expectFailedWith(pipeId, 'FatalError', 'injected: access denied');

    world.faults.failOnce('store', 'deletePipe', new StoreUnavailableError('injected: throttled'));
    expect(await run(world, 'delete', pipeId)).toMatchObject({ status: 'SUCCEEDED' });
    expectThrown('store.deletePipe');
    await expect(world.store.getPipe(pipeId)).rejects.toMatchObject({ name: 'PipeNotFoundError' });
  });

  it('a lost change stream history fails the pipe, and with autoResyncOnHistoryLoss starts a resync', async () => {
    const plain = await runningPipe();
    await run(world, 'pause', plain.pipeId, { expectedState: 'Running' });
    world.faults.failOnce(
      'store',
      'getPipe',
      new ChangeStreamHistoryLostError('injected: oplog rolled over'),
    );
    expect(await run(world, 'resume', plain.pipeId, { expectedState: 'Paused' })).toMatchObject({
      status: 'FAILED',
    });
    await expectFailedWith(plain.pipeId, 'ChangeStreamHistoryLostError', 'resync needed');

    const auto = await freshPipe(30, { autoResyncOnHistoryLoss: true });
    expect(await run(world, 'create', auto.pipeId)).toMatchObject({ status: 'SUCCEEDED' });
    await run(world, 'pause', auto.pipeId, { expectedState: 'Running' });
    world.faults.failOnce(
      'store',
      'getPipe',
      new ChangeStreamHistoryLostError('injected: oplog rolled over'),
    );
    expect(await run(world, 'resume', auto.pipeId, { expectedState: 'Paused' })).toMatchObject({
      status: 'FAILED',
    });
    await world.machines.idle();
    const states = (await world.store.listHistory(auto.pipeId, { limit: 4 })).items.map((entry) => entry.to);
    expect(states).toEqual(['Running', 'Resync', 'Snapshot', 'Failed']);
    expect(await liveRows(world, 'faults', auto.coll)).toBe(30);
  });

  it('the scheduled CDC handler fails the pipe on a fatal error and rethrows transient ones', async () => {
    const { pipeId, coll } = await runningPipe();
    await seed(world, 'faults', coll, 5, 1_000);
    world.faults.failOnce('destination', 'insertEncoded', new DestinationUnavailableError('injected: busy'));
    await expect(cdcBatchTask.invoke(world.runtime, { pipeId })).rejects.toMatchObject({
      name: 'DestinationUnavailableError',
    });
    expect((await world.store.getPipe(pipeId)).state).toBe('Running');
    await expect(cdcBatchTask.invoke(world.runtime, { pipeId })).resolves.toMatchObject({
      status: 'ran',
    });
    expect(await liveRows(world, 'faults', coll)).toBe(45);

    await seed(world, 'faults', coll, 5, 2_000);
    world.faults.failOnce('destination', 'insertEncoded', new DestinationFatalError('injected: bad row'));
    await expect(cdcBatchTask.invoke(world.runtime, { pipeId })).rejects.toMatchObject({
      name: 'DestinationFatalError',
    });
    await expectFailedWith(pipeId, 'DestinationFatalError', 'injected: bad row');
    expect(world.scheduler.get(pipeId)).toMatchObject({ enabled: false });
  });

  it('start() runs in the background and starts one execution per request id', async () => {
    const { pipeId } = await freshPipe(20);
    const input = { pipeId, expectedState: null, requestedBy: 'test', requestId: `create-${pipeId}` };
    const first = await world.machines.start('create', input);
    const second = await world.machines.start('create', input);
    expect(second.executionId).toBe(first.executionId);
    await world.machines.idle();
    const states = (await world.store.listHistory(pipeId)).items.map((entry) => entry.to).reverse();
    expect(states).toEqual(['Provisioning', 'Setup', 'Snapshot', 'Running']);
  });
});

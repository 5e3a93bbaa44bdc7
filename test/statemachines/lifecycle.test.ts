import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cdcBatchTask } from '../../functions/handlers/cdc-batch.js';
import { CDC_LEASE } from '../../functions/ports/pipe-store.js';
import {
  compareWithSource,
  liveRows,
  type MachineWorld,
  newPipe,
  run,
  type SeedDocument,
  seed,
  startMachineWorld,
} from './support.js';

/** Every machine's success path, in the order a user would drive one pipe, with the real handlers. */
describe('lifecycle machines on the stand-ins', () => {
  let world: MachineWorld;
  let pipeId: string;

  beforeAll(async () => {
    world = await startMachineWorld();
    await seed(world, 'shop', 'orders', 2_500);
    await seed(world, 'shop', 'customers', 120);
    pipeId = await newPipe(
      world,
      [
        { db: 'shop', coll: 'orders' },
        { db: 'shop', coll: 'customers' },
      ],
      { snapshotNumRowsPerPartition: 1_000, initialLoadParallelism: 2, snapshotNumberOfParallelTables: 2 },
    );
  }, 120_000);

  afterAll(async () => {
    await world?.stop();
  });

  const state = async () => (await world.store.getPipe(pipeId)).state;
  const cdc = () => cdcBatchTask.invoke(world.runtime, { pipeId });

  it('create: Provisioning → Setup → Snapshot → Running, data in ClickHouse, schedule enabled', async () => {
    const result = await run(world, 'create', pipeId);
    expect(result).toMatchObject({ status: 'SUCCEEDED' });
    expect(await state()).toBe('Running');
    expect(await liveRows(world, 'shop', 'orders')).toBe(2_500);
    expect(await liveRows(world, 'shop', 'customers')).toBe(120);
    expect(world.scheduler.get(pipeId)).toMatchObject({ enabled: true });
    const history = (await world.store.listHistory(pipeId)).items.map((entry) => entry.to).reverse();
    expect(history).toEqual(['Provisioning', 'Setup', 'Snapshot', 'Running']);
    const tables = await world.store.listTableMappings(pipeId);
    expect(tables.map((table) => table.state)).toEqual(['Replicating', 'Replicating']);
  });

  it('the scheduled CDC handler carries new writes while Running', async () => {
    await seed(world, 'shop', 'orders', 10, 10_000);
    await expect(cdc()).resolves.toMatchObject({ status: 'ran', events: 10, endedBecause: 'caught-up' });
    expect(await liveRows(world, 'shop', 'orders')).toBe(2_510);
  });

  it('pause: Running → Pausing → Paused, schedule disabled, CDC skipped', async () => {
    expect(await run(world, 'pause', pipeId, { expectedState: 'Running' })).toMatchObject({
      status: 'SUCCEEDED',
    });
    expect(await state()).toBe('Paused');
    expect(world.scheduler.get(pipeId)).toMatchObject({ enabled: false });
    await seed(world, 'shop', 'orders', 5, 20_000);
    await expect(cdc()).resolves.toMatchObject({ status: 'skipped' });
  });

  it('pause waits for the CDC batch holding the lease before Paused', async () => {
    const other = await newPipe(world, [{ db: 'shop', coll: 'orders', table: 'pause_orders' }], {
      replicationMode: 'cdc_only',
    });
    expect(await run(world, 'create', other)).toMatchObject({ status: 'SUCCEEDED' });
    const lease = await world.store.acquireLease(other, CDC_LEASE, 'batch-in-flight', 600_000);
    const pausing = run(world, 'pause', other, { expectedState: 'Running' });
    let pausingSeen = 0;
    for (let attempt = 0; attempt < 2_000 && pausingSeen < 3; attempt += 1) {
      const history = (await world.store.listHistory(other, { limit: 1 })).items[0];
      if (history?.to === 'Pausing') pausingSeen += 1;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect((await world.store.getPipe(other)).state).toBe('Pausing');
    await world.store.releaseLease(other, CDC_LEASE, 'batch-in-flight', lease.fence);
    expect(await pausing).toMatchObject({ status: 'SUCCEEDED' });
    expect((await world.store.getPipe(other)).state).toBe('Paused');
  });

  it('a batch that never lets go of the lease fails the pause after the bounded poll', async () => {
    const other = await newPipe(world, [{ db: 'shop', coll: 'orders', table: 'stuck_orders' }], {
      replicationMode: 'cdc_only',
    });
    expect(await run(world, 'create', other)).toMatchObject({ status: 'SUCCEEDED' });
    await world.store.acquireLease(other, CDC_LEASE, 'stuck-batch', 600_000);
    expect(await run(world, 'pause', other, { expectedState: 'Running' })).toMatchObject({
      status: 'FAILED',
    });
    const pipe = await world.store.getPipe(other);
    expect(pipe.state).toBe('Failed');
    expect(pipe.lastError).toMatchObject({ name: 'DrainTimeout' });
  }, 60_000);

  it('a command the state does not allow ends the execution without failing the pipe', async () => {
    const result = await run(world, 'pause', pipeId, { expectedState: 'Running' });
    expect(result).toMatchObject({ status: 'FAILED', error: 'CommandRefused' });
    expect(await state()).toBe('Paused');
    expect((await world.store.getPipe(pipeId)).lastError).toBeNull();
  });

  it('resume: Paused → Running; writes made while paused arrive', async () => {
    expect(await run(world, 'resume', pipeId, { expectedState: 'Paused' })).toMatchObject({
      status: 'SUCCEEDED',
    });
    expect(await state()).toBe('Running');
    expect(world.scheduler.get(pipeId)).toMatchObject({ enabled: true });
    await cdc();
    expect(await liveRows(world, 'shop', 'orders')).toBe(2_515);
  });

  it('removeTables: Running → Modifying → Running, the table Removed and dropped when asked', async () => {
    const result = await run(world, 'removeTables', pipeId, {
      expectedState: 'Running',
      tables: ['shop.customers'],
      dropTables: true,
    });
    expect(result).toMatchObject({ status: 'SUCCEEDED' });
    expect(await state()).toBe('Running');
    expect((await world.store.getTableMapping(pipeId, 'shop.customers'))?.state).toBe('Removed');
    expect(await world.destination.tableExists({ database: 'sm', table: 'shop_customers' })).toBe(false);
  });

  it('addTables: Running → Snapshot (the new table only) → Running', async () => {
    const before = await world.store.getTableMapping(pipeId, 'shop.orders');
    const result = await run(world, 'addTables', pipeId, {
      expectedState: 'Running',
      tables: ['shop.customers'],
    });
    expect(result).toMatchObject({ status: 'SUCCEEDED' });
    expect(await state()).toBe('Running');
    expect(await liveRows(world, 'shop', 'customers')).toBe(120);
    const orders = await world.store.getTableMapping(pipeId, 'shop.orders');
    expect(orders?.progress).toEqual(before?.progress);
    expect(orders?.state).toBe('Replicating');
  });

  it('resync of one table: → Snapshot → Resync → Running with the data equal', async () => {
    await world.mongo
      .db('shop')
      .collection<SeedDocument>('customers')
      .deleteMany({ _id: { $lt: 20 } });
    const result = await run(world, 'resync', pipeId, {
      expectedState: 'Running',
      tables: ['shop.customers'],
    });
    expect(result).toMatchObject({ status: 'SUCCEEDED' });
    expect(await state()).toBe('Running');
    expect(await liveRows(world, 'shop', 'customers')).toBe(100);
    expect(await compareWithSource(world, 'shop', 'customers')).toMatchObject({
      missing: [],
      extra: [],
      different: [],
    });
    const history = (await world.store.listHistory(pipeId, { limit: 3 })).items.map((entry) => entry.to);
    expect(history).toEqual(['Running', 'Resync', 'Snapshot']);
  });

  it('resync of a Paused pipe: every table reloaded, CDC resumes from the new start point', async () => {
    expect(await run(world, 'pause', pipeId, { expectedState: 'Running' })).toMatchObject({
      status: 'SUCCEEDED',
    });
    const startBefore = await world.store.getStartPoint(pipeId);
    const result = await run(world, 'resync', pipeId, { expectedState: 'Paused' });
    expect(result).toMatchObject({ status: 'SUCCEEDED' });
    expect(world.scheduler.get(pipeId)).toMatchObject({ enabled: true });
    expect(await state()).toBe('Running');
    expect(await liveRows(world, 'shop', 'orders')).toBe(2_515);
    expect(await liveRows(world, 'shop', 'customers')).toBe(100);
    const start = await world.store.getStartPoint(pipeId);
    const resume = await world.store.getResumePoint(pipeId);
    expect(start?.recordedAt).toBeGreaterThan(startBefore?.recordedAt ?? 0);
    expect(resume?.clusterTime).toEqual(start?.clusterTime);
    await seed(world, 'shop', 'orders', 3, 30_000);
    await cdc();
    expect(await liveRows(world, 'shop', 'orders')).toBe(2_518);
    for (const coll of ['orders', 'customers']) {
      const comparison = await compareWithSource(world, 'shop', coll);
      expect(comparison, coll).toMatchObject({ missing: [], extra: [], different: [] });
    }
  });

  it('delete: schedule removed and the records gone; ClickHouse tables kept', async () => {
    expect(await run(world, 'delete', pipeId)).toMatchObject({ status: 'SUCCEEDED' });
    expect(world.scheduler.get(pipeId)).toBeUndefined();
    await expect(world.store.getPipe(pipeId)).rejects.toMatchObject({ name: 'PipeNotFoundError' });
    expect(await world.destination.tableExists({ database: 'sm', table: 'shop_orders' })).toBe(true);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSettings } from '../../functions/core/settings.js';
import { cdcBatchTask } from '../../functions/handlers/cdc-batch.js';
import type { Runtime } from '../../functions/handlers/runtime.js';
import type { CdcTriggerReason } from '../../functions/ports/lifecycle.js';
import type { CdcBatchMetrics } from '../../functions/ports/metrics.js';
import { CDC_LEASE } from '../../functions/ports/pipe-store.js';
import { type MachineWorld, newPipe, seed, startMachineWorld } from './support.js';

/** The CDC Lambda handler: when it runs, when it is a cheap no-op, and its hand-over. */
describe('the CDC handler', () => {
  let world: MachineWorld;
  let runtime: Runtime;
  const connects: string[] = [];
  const triggered: string[] = [];
  const batches: CdcBatchMetrics[] = [];

  beforeAll(async () => {
    world = await startMachineWorld();
    runtime = {
      ...world.runtime,
      connect: (pipe, settings) => {
        connects.push(pipe.id);
        return world.runtime.connect(pipe, settings);
      },
      cdcTrigger: {
        runSoon: async (pipeId: string, reason: CdcTriggerReason) => {
          triggered.push(`${pipeId}:${reason}`);
          return true;
        },
      },
      cdcMetrics: { batchApplied: (_pipeId, batch) => batches.push(batch), pipeFailed: () => undefined },
    };
    await seed(world, 'handler', 'items', 50);
  }, 120_000);
  afterAll(async () => {
    await world?.stop();
  });

  /** A pipe moved through the given events (the state machines' writes), start point recorded. */
  async function pipeIn(
    events: ('provisioned' | 'destinationReady' | 'destinationReadyCdcOnly' | 'pause')[],
    settings = {},
  ) {
    const pipeId = await newPipe(world, [{ db: 'handler', coll: 'items' }], settings);
    for (const event of events)
      await world.store.applyEvent(pipeId, event, { reason: 'test', actor: 'test' });
    await world.store.putTableMapping(
      pipeId,
      { sourceDatabaseName: 'handler', sourceCollection: 'items', targetTable: 'handler_items' },
      'Snapshot',
    );
    await world.destination.ensureDatabase('sm');
    await world.destination.createTable(
      { database: 'sm', table: 'handler_items' },
      { useJsonNativeFormat: true, deleteOnMerge: false },
    );
    const pipe = await world.store.getPipe(pipeId);
    const connections = await world.runtime.connect(pipe, parseSettings(pipe.settings));
    try {
      const source = connections.changeSource;
      if (!source) throw new Error('the pipe maps no table');
      await world.store.recordStartPoint(pipeId, await source.captureStartPoint());
    } finally {
      await connections.close();
    }
    return pipeId;
  }

  it('runs while the pipe loads its snapshot, not only when Running', async () => {
    const pipeId = await pipeIn(['provisioned', 'destinationReady']);
    expect((await world.store.getPipe(pipeId)).state).toBe('Snapshot');
    await seed(world, 'handler', 'items', 5, 1_000);
    const result = await cdcBatchTask.invoke(runtime, { pipeId });
    expect(result).toMatchObject({ status: 'ran', events: 5, endedBecause: 'caught-up', handOver: false });
    expect(batches.some((batch) => batch.events === 5 && batch.lagMs === 0)).toBe(true);
    expect(await world.store.getCdcRun(pipeId)).toMatchObject({
      events: 5,
      endedBecause: 'caught-up',
      source: {
        kind: 'replicaSet',
        membersFrom: 'replSetGetStatus',
        members: expect.arrayContaining([expect.objectContaining({ state: 'PRIMARY' })]),
      },
    });
  });

  it('is a cheap no-op while another run holds the lease: no connection opened', async () => {
    const pipeId = await pipeIn(['provisioned', 'destinationReadyCdcOnly']);
    await world.store.acquireLease(pipeId, CDC_LEASE, 'the-running-run', 60_000);
    connects.length = 0;
    const result = await cdcBatchTask.invoke(runtime, { pipeId, trigger: 'hand-over' });
    expect(result).toEqual({ status: 'skipped', reason: 'another run holds the lease (the-running-run)' });
    expect(connects).toEqual([]);
  });

  it('skips a paused pipe and a snapshot-only pipe', async () => {
    const paused = await pipeIn(['provisioned', 'destinationReadyCdcOnly', 'pause']);
    await expect(cdcBatchTask.invoke(runtime, { pipeId: paused })).resolves.toEqual({
      status: 'skipped',
      reason: 'pipe is Pausing',
    });
    const snapshotOnly = await pipeIn(['provisioned', 'destinationReady'], { replicationMode: 'snapshot' });
    await expect(cdcBatchTask.invoke(runtime, { pipeId: snapshotOnly })).resolves.toEqual({
      status: 'skipped',
      reason: 'a snapshot-only pipe has no CDC',
    });
  });

  it('continuous: stays on the stream until its budget ends, then starts the next run itself', async () => {
    const pipeId = await pipeIn(['provisioned', 'destinationReadyCdcOnly'], { syncIntervalSeconds: 1 });
    triggered.length = 0;
    // 8 s of run past the handler's 15 s safety margin: 1 s flushes make about 8 batches, and
    // 3 of them still fit on a machine several times slower.
    const deadline = Date.now() + 23_000;
    const result = await cdcBatchTask.invoke(
      runtime,
      { pipeId },
      { getRemainingTimeInMillis: () => deadline - Date.now() },
    );
    expect(result).toMatchObject({
      status: 'ran',
      mode: 'continuous',
      endedBecause: 'budget',
      handOver: true,
    });
    expect(result.status === 'ran' && result.batches).toBeGreaterThanOrEqual(3);
    expect(triggered).toEqual([`${pipeId}:hand-over`]);
  }, 45_000);
});

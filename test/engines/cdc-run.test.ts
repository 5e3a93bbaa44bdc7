import { describe, expect, it } from 'vitest';
import type { DynamoPipeStore } from '../../functions/adapters/dynamodb/store.js';
import { SourceUnavailableError } from '../../functions/core/errors.js';
import type { PipeSettingsInput } from '../../functions/core/settings.js';
import { type CdcRunDeps, cdcRun } from '../../functions/engines/cdc-run.js';
import { CDC_LEASE, type TableState } from '../../functions/ports/pipe-store.js';
import type { SourceHealth } from '../../functions/ports/source.js';
import { useDynalite } from '../support/dynalite.js';
import {
  createPipeWithTables,
  event,
  instrumentStore,
  ManualClock,
  MemoryDestination,
  NS,
  newStore,
  ScriptedChangeSource,
} from './support.js';

const HEALTH: SourceHealth = {
  checkedAt: 1,
  kind: 'replicaSet',
  setName: 'rs0',
  primary: 'a:1',
  members: [{ name: 'a:1', state: 'PRIMARY', health: 1 }],
  membersFrom: 'replSetGetStatus',
  note: null,
};

/** Events 1..n at cluster times (1000 + i, 1): every event its own cluster time. */
function backlog(n: number, op = 'insert') {
  return Array.from({ length: n }, (_, i) => event(i + 1, op, i + 1, [1_000 + i, 1], { v: i }));
}

describe('cdcRun: one run, many batches, one lease', () => {
  let store: DynamoPipeStore;

  useDynalite((started) => {
    store = newStore(started);
  });

  /** A pipe Running (cdc_only path), its one table in `state`, start point before event 1. */
  async function runningPipe(settings: Partial<PipeSettingsInput> = {}, state: TableState = 'Replicating') {
    const pipeId = await createPipeWithTables(store, [{ ...NS, target: 'items', state }], settings);
    for (const step of ['provisioned', 'destinationReadyCdcOnly'] as const)
      await store.applyEvent(pipeId, step, { reason: 'test', actor: 'test' });
    await store.recordStartPoint(pipeId, { token: 'tok-0', clusterTime: { seconds: 1, increment: 0 } });
    return pipeId;
  }

  function deps(
    source: ScriptedChangeSource,
    clock: ManualClock,
    log: string[] = [],
  ): CdcRunDeps & {
    destination: MemoryDestination;
  } {
    return {
      store: instrumentStore(store, log),
      source,
      destination: new MemoryDestination(log),
      clock,
      monitor: { health: async () => HEALTH },
    };
  }

  it('scheduled: drains batch after batch, each committed, and stops once caught up', async () => {
    const pipeId = await runningPipe({ pullBatchSize: 3 });
    const log: string[] = [];
    const clock = new ManualClock(2_000_000);
    const run = deps(new ScriptedChangeSource(backlog(7), log), clock, log);
    const result = await cdcRun(run, {
      pipeId,
      holder: 'run-1',
      budget: { deadline: clock.current + 600_000 },
    });
    expect(result).toMatchObject({
      status: 'ran',
      mode: 'scheduled',
      batches: 4,
      events: 7,
      endedBecause: 'caught-up',
      handOver: false,
      lagMs: 0,
    });
    expect(log.filter((entry) => entry === 'acquireLease')).toHaveLength(1);
    expect(log.filter((entry) => entry === 'commitResumePoint')).toHaveLength(4);
    // Each batch inserts before it commits.
    const steps = log.filter((entry) => entry === 'commitResumePoint' || entry.startsWith('insert'));
    const batch = (rows: number) => [`insert:items:${rows}`, 'commitResumePoint'];
    expect(steps).toEqual([...batch(2), ...batch(2), ...batch(2), ...batch(1)]);
    expect([...run.destination.final('items').keys()]).toHaveLength(7);
    expect(await store.getResumePoint(pipeId)).toMatchObject({ token: 'tok-7', lagMs: 0 });
    expect(await store.getCdcRun(pipeId)).toMatchObject({
      holder: 'run-1',
      mode: 'scheduled',
      batches: 4,
      events: 7,
      endedBecause: 'caught-up',
      handedOver: false,
      source: HEALTH,
    });
    // The run's end is also a point of the pipe's recent CDC history.
    expect(await store.listCdcSamples(pipeId)).toEqual([expect.objectContaining({ lagMs: 0, events: 7 })]);
    expect((await store.getLease(pipeId, CDC_LEASE))?.expiresAt).toBeLessThanOrEqual(Date.now());
  });

  it('scheduled: a budget that ends with events left hands over, the lag says how far behind', async () => {
    const pipeId = await runningPipe({ pullBatchSize: 3 });
    const clock = new ManualClock(2_000_000);
    const source = new ScriptedChangeSource(backlog(9));
    source.onRead = async () => {
      clock.current += 10_000;
    };
    const run = deps(source, clock);
    const result = await cdcRun(run, {
      pipeId,
      holder: 'run-2',
      budget: { deadline: clock.current + 25_000, safetyMarginMs: 5_000 },
    });
    expect(result).toMatchObject({
      status: 'ran',
      batches: 2,
      events: 4,
      endedBecause: 'budget',
      handOver: true,
    });
    // Committed at tok-4 (cluster time 1003 s), measured at 2 020 s of the manual clock.
    expect(result.status === 'ran' && result.lagMs).toBe(2_020_000 - 1_003_000);
    const next = await cdcRun(run, {
      pipeId,
      holder: 'run-3',
      budget: { deadline: clock.current + 600_000 },
    });
    expect(next).toMatchObject({ status: 'ran', events: 5, endedBecause: 'caught-up', handOver: false });
    expect([...run.destination.final('items').keys()]).toHaveLength(9);
  });

  it('continuous: stays on the stream for its budget, flushing every interval, then hands over', async () => {
    const pipeId = await runningPipe({ syncIntervalSeconds: 2 });
    const log: string[] = [];
    const clock = new ManualClock(3_000_000);
    const source = new ScriptedChangeSource([], log);
    source.onRead = async () => {
      clock.current += 2_000;
    };
    const run = deps(source, clock, log);
    const result = await cdcRun(run, {
      pipeId,
      holder: 'run-4',
      budget: { deadline: clock.current + 75_000, safetyMarginMs: 5_000 },
    });
    expect(result).toMatchObject({
      status: 'ran',
      mode: 'continuous',
      events: 0,
      endedBecause: 'budget',
      handOver: true,
    });
    expect(result.status === 'ran' && result.batches).toBe(35);
    for (const request of source.requests) {
      expect(request.stopWhenCaughtUp).toBe(false);
      expect(request.maxWaitMs).toBeLessThanOrEqual(2_000);
    }
    // Idle flushes commit at most every 30 s; the others only check the lease is still theirs.
    expect(log.filter((entry) => entry === 'commitResumePoint')).toHaveLength(3);
    expect(log.filter((entry) => entry === 'getLease')).toHaveLength(32);
  });

  it('continuous: a flush with events commits at once, whatever the idle rule', async () => {
    const pipeId = await runningPipe({ syncIntervalSeconds: 1 });
    const log: string[] = [];
    const clock = new ManualClock(4_000_000);
    const source = new ScriptedChangeSource(backlog(2), log);
    source.onRead = async () => {
      clock.current += 1_000;
    };
    const result = await cdcRun(deps(source, clock, log), {
      pipeId,
      holder: 'run-5',
      budget: { deadline: clock.current + 9_000, safetyMarginMs: 5_000 },
    });
    expect(result).toMatchObject({ status: 'ran', events: 2, endedBecause: 'budget', handOver: true });
    expect(log.filter((entry) => entry === 'commitResumePoint')).toHaveLength(1);
    expect((await store.getResumePoint(pipeId))?.token).toBe('tok-2');
  });

  it('ends after the batch in flight when the pipe is paused, and does not hand over', async () => {
    const pipeId = await runningPipe({ syncIntervalSeconds: 1 });
    const clock = new ManualClock(5_000_000);
    const source = new ScriptedChangeSource(backlog(3));
    source.onRead = async () => {
      clock.current += 1_000;
      if (source.requests.length === 2)
        await store.applyEvent(pipeId, 'pause', { reason: 'test', actor: 'test' });
    };
    const result = await cdcRun(deps(source, clock), {
      pipeId,
      holder: 'run-6',
      budget: { deadline: clock.current + 600_000 },
    });
    expect(result).toMatchObject({ status: 'ran', batches: 2, endedBecause: 'pipe-state', handOver: false });
  });

  it('ends, without an error and without writing for it again, when the pipe was deleted between two batches', async () => {
    const pipeId = await runningPipe({ syncIntervalSeconds: 1 });
    const clock = new ManualClock(5_500_000);
    const source = new ScriptedChangeSource(backlog(2));
    source.onRead = async () => {
      clock.current += 1_000;
    };
    const run = deps(source, clock);
    let reads = 0;
    // The run reads the pipe when it opens, then before each batch after the first: delete it there.
    run.store = new Proxy(store, {
      get(target, property, receiver) {
        if (property !== 'getPipe') return Reflect.get(target, property, receiver);
        return async (id: string) => {
          reads += 1;
          if (reads === 2) await target.deletePipe(id);
          return target.getPipe(id);
        };
      },
    });
    const result = await cdcRun(run, {
      pipeId,
      holder: 'run-6b',
      budget: { deadline: clock.current + 600_000 },
    });
    expect(result).toMatchObject({ status: 'ran', batches: 1, endedBecause: 'pipe-state', handOver: false });
    expect(await store.getCdcRun(pipeId)).toBeNull();
  });

  it('a revoked lease ends the run at its next commit, quietly: the batch is not committed', async () => {
    const pipeId = await runningPipe({ pullBatchSize: 2 });
    const clock = new ManualClock(6_000_000);
    const source = new ScriptedChangeSource(backlog(6));
    source.onRead = async () => {
      if (source.requests.length === 2) await store.revokeLease(pipeId, CDC_LEASE, 'tables added');
    };
    const result = await cdcRun(deps(source, clock), {
      pipeId,
      holder: 'run-7',
      budget: { deadline: clock.current + 600_000 },
    });
    expect(result).toMatchObject({
      status: 'ran',
      batches: 1,
      events: 1,
      endedBecause: 'lease-lost',
      handOver: false,
    });
    expect((await store.getResumePoint(pipeId))?.token).toBe('tok-1');
    expect(await store.getCdcRun(pipeId)).toMatchObject({ endedBecause: 'lease-lost', batches: 1 });
  });

  it('a revoked run whose insert failed (its table was dropped) ends quietly too', async () => {
    const pipeId = await runningPipe();
    const clock = new ManualClock(7_000_000);
    const source = new ScriptedChangeSource(backlog(2));
    const run = deps(source, clock);
    run.destination.insertEncoded = async () => {
      await store.revokeLease(pipeId, CDC_LEASE, 'tables removed');
      throw new Error('UNKNOWN_TABLE: items was dropped');
    };
    const result = await cdcRun(run, {
      pipeId,
      holder: 'run-8',
      budget: { deadline: clock.current + 600_000 },
    });
    expect(result).toMatchObject({ status: 'ran', batches: 0, endedBecause: 'lease-lost' });
  });

  it('any other error is thrown, the run recorded as ended by it and the lease released', async () => {
    const pipeId = await runningPipe();
    const clock = new ManualClock(8_000_000);
    const source = new ScriptedChangeSource(backlog(2));
    source.onRead = async () => {
      throw new SourceUnavailableError('primary stepped down');
    };
    await expect(
      cdcRun(deps(source, clock), { pipeId, holder: 'run-9', budget: { deadline: clock.current + 600_000 } }),
    ).rejects.toBeInstanceOf(SourceUnavailableError);
    expect(await store.getCdcRun(pipeId)).toMatchObject({ holder: 'run-9', endedBecause: 'error' });
    expect((await store.getLease(pipeId, CDC_LEASE))?.expiresAt).toBeLessThanOrEqual(Date.now());
  });

  it('a table in Resync gets every row in its live table and in <table>_resync, with their own tokens', async () => {
    const pipeId = await runningPipe({}, 'Resync');
    const clock = new ManualClock(9_000_000);
    const run = deps(new ScriptedChangeSource(backlog(3)), clock);
    await cdcRun(run, { pipeId, holder: 'run-10', budget: { deadline: clock.current + 600_000 } });
    expect([...run.destination.final('items').keys()].sort()).toEqual(['1', '2', '3']);
    expect([...run.destination.final('items_resync').keys()].sort()).toEqual(['1', '2', '3']);
    const [live, resync] = run.destination.inserts;
    expect(live?.token).not.toBe(resync?.token);
  });

  it('renews its lease as it goes, so it never outlives the lease window', async () => {
    const pipeId = await runningPipe({ syncIntervalSeconds: 30 });
    const log: string[] = [];
    const clock = new ManualClock(10_000_000);
    const source = new ScriptedChangeSource([], log);
    source.onRead = async () => {
      clock.current += 30_000;
    };
    await cdcRun(deps(source, clock, log), {
      pipeId,
      holder: 'run-11',
      budget: { deadline: clock.current + 400_000 },
    });
    expect(log.filter((entry) => entry === 'renewLease').length).toBeGreaterThanOrEqual(3);
  });

  it('skips, reading nothing, while another run holds the lease', async () => {
    const pipeId = await runningPipe();
    await store.acquireLease(pipeId, CDC_LEASE, 'other', 60_000);
    const source = new ScriptedChangeSource(backlog(1));
    const result = await cdcRun(deps(source, new ManualClock()), {
      pipeId,
      holder: 'run-12',
      budget: { deadline: Date.now() + 600_000 },
    });
    expect(result).toMatchObject({ status: 'skipped' });
    expect(source.requests).toHaveLength(0);
  });
});

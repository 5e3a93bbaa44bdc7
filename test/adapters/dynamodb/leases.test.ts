import { describe, expect, it } from 'vitest';
import type { DynamoPipeStore } from '../../../functions/adapters/dynamodb/store.js';
import { LeaseHeldError, PipeNotFoundError, StaleFenceError } from '../../../functions/core/errors.js';
import { CDC_LEASE, type ResumePointInput } from '../../../functions/ports/pipe-store.js';
import { type LocalDynamo, useDynalite } from '../../support/dynalite.js';
import { ManualClock, newStore, pipeInput } from './fixtures.js';

let dynamo: LocalDynamo;
let store: DynamoPipeStore;
const clock = new ManualClock();
const TTL = 60_000;

useDynalite((started) => {
  dynamo = started;
  store = newStore(started, clock);
});

async function newPipe(): Promise<string> {
  return (await store.createPipe(pipeInput())).pipe.id;
}

const point = (token: string, seconds: number): ResumePointInput => ({
  token,
  clusterTime: { seconds, increment: 1 },
});

describe('lease contention', () => {
  it('gives the lease to exactly one of 20 concurrent acquirers', async () => {
    const pipeId = await newPipe();
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => store.acquireLease(pipeId, CDC_LEASE, `worker-${i}`, TTL)),
    );
    const winners = results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    const losers = results.flatMap((result) => (result.status === 'rejected' ? [result.reason] : []));
    expect(winners).toHaveLength(1);
    expect(losers).toHaveLength(19);
    const winner = winners[0]!;
    expect(winner).toMatchObject({ fence: 1, expiresAt: clock.now() + TTL });
    for (const error of losers) {
      expect(error).toBeInstanceOf(LeaseHeldError);
      expect(error).toMatchObject({ holder: winner.holder });
    }
    expect(await store.getLease(pipeId, CDC_LEASE)).toEqual(winner);
  });

  it('refuses a live lease to others, re-grants it to its holder without a new fence', async () => {
    const pipeId = await newPipe();
    const first = await store.acquireLease(pipeId, CDC_LEASE, 'a', TTL);
    clock.advance(1000);
    await expect(store.acquireLease(pipeId, CDC_LEASE, 'b', TTL)).rejects.toBeInstanceOf(LeaseHeldError);
    const again = await store.acquireLease(pipeId, CDC_LEASE, 'a', TTL);
    expect(again).toEqual({ ...first, expiresAt: clock.now() + TTL });
    await expect(store.acquireLease('missing-pipe', CDC_LEASE, 'a', TTL)).rejects.toBeInstanceOf(
      PipeNotFoundError,
    );
  });

  it('renews only for the current holder and fence', async () => {
    const pipeId = await newPipe();
    const lease = await store.acquireLease(pipeId, 'snapshot', 'a', TTL);
    clock.advance(30_000);
    const renewed = await store.renewLease(pipeId, 'snapshot', 'a', lease.fence, TTL);
    expect(renewed.expiresAt).toBe(clock.now() + TTL);
    await expect(store.renewLease(pipeId, 'snapshot', 'b', lease.fence, TTL)).rejects.toBeInstanceOf(
      StaleFenceError,
    );
    await expect(store.renewLease(pipeId, 'snapshot', 'a', lease.fence + 1, TTL)).rejects.toBeInstanceOf(
      StaleFenceError,
    );
  });

  it('keeps the fence growing across release and takeover', async () => {
    const pipeId = await newPipe();
    const first = await store.acquireLease(pipeId, CDC_LEASE, 'a', TTL);
    await store.releaseLease(pipeId, CDC_LEASE, 'a', first.fence);
    const second = await store.acquireLease(pipeId, CDC_LEASE, 'b', TTL);
    expect(second.fence).toBe(first.fence + 1);
    await expect(store.releaseLease(pipeId, CDC_LEASE, 'a', first.fence)).rejects.toBeInstanceOf(
      StaleFenceError,
    );
    await expect(store.renewLease(pipeId, CDC_LEASE, 'a', first.fence, TTL)).rejects.toBeInstanceOf(
      StaleFenceError,
    );
  });
});

describe('resume point fencing', () => {
  it('lets an expired lease be taken over, and then refuses the old holder and keeps the new token', async () => {
    const pipeId = await newPipe();
    const old = await store.acquireLease(pipeId, CDC_LEASE, 'old', TTL);
    await store.commitResumePoint(pipeId, point('t-old-1', 100), old.fence);

    clock.advance(TTL + 1);
    const fresh = await store.acquireLease(pipeId, CDC_LEASE, 'new', TTL);
    expect(fresh.fence).toBeGreaterThan(old.fence);
    await store.commitResumePoint(pipeId, point('t-new-1', 200), fresh.fence);

    await expect(store.commitResumePoint(pipeId, point('t-old-2', 150), old.fence)).rejects.toBeInstanceOf(
      StaleFenceError,
    );
    expect(await store.getResumePoint(pipeId)).toMatchObject({
      token: 't-new-1',
      clusterTime: { seconds: 200, increment: 1 },
      fence: fresh.fence,
    });
  });

  it('refuses an old holder that passed the lease check just before the takeover', async () => {
    const pipeId = await newPipe();
    const oldClient = dynamo.newClient();
    const oldStore = newStore(dynamo, clock, oldClient);
    const old = await oldStore.acquireLease(pipeId, CDC_LEASE, 'old', TTL);
    clock.advance(TTL + 1);
    let takeover: Promise<unknown> | undefined;
    oldClient.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'UpdateItemCommand' && takeover === undefined) {
          takeover = store.acquireLease(pipeId, CDC_LEASE, 'new', TTL);
          await takeover;
        }
        return next(args);
      },
      { step: 'initialize', name: 'takeoverInTheGap' },
    );
    await expect(oldStore.commitResumePoint(pipeId, point('t-old', 100), old.fence)).rejects.toBeInstanceOf(
      StaleFenceError,
    );
    expect(takeover).toBeDefined();
    expect(await store.getResumePoint(pipeId)).toBeNull();
    const lease = await store.getLease(pipeId, CDC_LEASE);
    expect(lease).toMatchObject({ holder: 'new', fence: old.fence + 1 });
    await store.commitResumePoint(pipeId, point('t-new', 200), lease!.fence);
    expect(await store.getResumePoint(pipeId)).toMatchObject({ token: 't-new', fence: lease!.fence });
  });

  it('refuses commits without a lease or with a fence never granted', async () => {
    const pipeId = await newPipe();
    await expect(store.commitResumePoint(pipeId, point('t', 1), 1)).rejects.toBeInstanceOf(StaleFenceError);
    const lease = await store.acquireLease(pipeId, CDC_LEASE, 'a', TTL);
    await expect(store.commitResumePoint(pipeId, point('t', 1), lease.fence + 1)).rejects.toBeInstanceOf(
      StaleFenceError,
    );
    expect(await store.getResumePoint(pipeId)).toBeNull();
  });

  it('moves the resume point to a start point that has only a cluster time', async () => {
    const pipeId = await newPipe();
    const lease = await store.acquireLease(pipeId, CDC_LEASE, 'resync', TTL);
    const committed = await store.commitResumePoint(
      pipeId,
      { token: null, clusterTime: { seconds: 300, increment: 4 } },
      lease.fence,
    );
    expect(committed).toEqual({
      token: null,
      clusterTime: { seconds: 300, increment: 4 },
      fence: lease.fence,
      committedAt: clock.now(),
    });
  });
});

describe('revoking the CDC lease', () => {
  it('takes a live lease from its holder: its next commit and renewal fail, the lease is free at once', async () => {
    const pipeId = await newPipe();
    const held = await store.acquireLease(pipeId, CDC_LEASE, 'running-run', TTL);
    await store.commitResumePoint(pipeId, point('t-1', 100), held.fence);
    const revoked = await store.revokeLease(pipeId, CDC_LEASE, 'tables added');
    expect(revoked).toMatchObject({ holder: 'revoked: tables added', fence: held.fence + 1 });
    expect(revoked.expiresAt).toBeLessThanOrEqual(clock.now());
    await expect(store.commitResumePoint(pipeId, point('t-2', 101), held.fence)).rejects.toBeInstanceOf(
      StaleFenceError,
    );
    await expect(store.renewLease(pipeId, CDC_LEASE, 'running-run', held.fence, TTL)).rejects.toBeInstanceOf(
      StaleFenceError,
    );
    const next = await store.acquireLease(pipeId, CDC_LEASE, 'next-run', TTL);
    expect(next.fence).toBeGreaterThan(revoked.fence);
    expect(await store.getResumePoint(pipeId)).toMatchObject({ token: 't-1' });
  });

  it('fences the resume point itself, so a commit already past its lease check is refused too', async () => {
    const pipeId = await newPipe();
    const held = await store.acquireLease(pipeId, CDC_LEASE, 'slow-run', TTL);
    const slowClient = dynamo.newClient();
    const slowStore = newStore(dynamo, clock, slowClient);
    let revoking: Promise<unknown> | undefined;
    slowClient.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'UpdateItemCommand' && revoking === undefined) {
          revoking = store.revokeLease(pipeId, CDC_LEASE, 'a resync starts');
          await revoking;
        }
        return next(args);
      },
      { step: 'initialize', name: 'revokeInTheGap' },
    );
    await expect(slowStore.commitResumePoint(pipeId, point('late', 100), held.fence)).rejects.toBeInstanceOf(
      StaleFenceError,
    );
    expect(revoking).toBeDefined();
    expect(await store.getResumePoint(pipeId)).toBeNull();
  });

  it('works on a pipe whose lease was never taken, and on one revoked twice', async () => {
    const pipeId = await newPipe();
    const first = await store.revokeLease(pipeId, CDC_LEASE, 'tables removed');
    const second = await store.revokeLease(pipeId, CDC_LEASE, 'tables removed');
    expect(second.fence).toBe(first.fence + 1);
    expect((await store.acquireLease(pipeId, CDC_LEASE, 'run', TTL)).fence).toBe(second.fence + 1);
  });

  it('keeps the lag measured with a commit, and drops it when a commit brings none', async () => {
    const pipeId = await newPipe();
    const lease = await store.acquireLease(pipeId, CDC_LEASE, 'run', TTL);
    await store.commitResumePoint(pipeId, { ...point('t-1', 100), lagMs: 4_200 }, lease.fence);
    expect(await store.getResumePoint(pipeId)).toMatchObject({ token: 't-1', lagMs: 4_200 });
    await store.commitResumePoint(pipeId, point('t-2', 101), lease.fence);
    expect((await store.getResumePoint(pipeId))?.lagMs).toBeUndefined();
    await expect(
      store.commitResumePoint(pipeId, { ...point('t-3', 102), lagMs: -1 }, lease.fence),
    ).rejects.toMatchObject({ name: 'InvalidStoreInputError' });
  });
});

describe('last CDC run', () => {
  const run = (startedAt: number, events: number) => ({
    holder: `run-${startedAt}`,
    mode: 'continuous' as const,
    startedAt,
    endedAt: null,
    batches: 3,
    events,
    eventsPerSecond: 12.5,
    endedBecause: null,
    handedOver: false,
    source: {
      checkedAt: startedAt,
      kind: 'replicaSet' as const,
      setName: 'rs0',
      primary: 'a:1',
      members: [{ name: 'a:1', state: 'PRIMARY', health: 1 }],
      membersFrom: 'replSetGetStatus' as const,
      note: null,
    },
  });

  it('keeps the newest run: a late write of an older run does not replace it', async () => {
    const pipeId = await newPipe();
    expect(await store.getCdcRun(pipeId)).toBeNull();
    await store.recordCdcRun(pipeId, run(2_000, 10));
    await store.recordCdcRun(pipeId, {
      ...run(2_000, 25),
      endedAt: 2_500,
      endedBecause: 'budget',
      handedOver: true,
    });
    await store.recordCdcRun(pipeId, run(1_000, 99));
    expect(await store.getCdcRun(pipeId)).toEqual({
      ...run(2_000, 25),
      endedAt: 2_500,
      endedBecause: 'budget',
      handedOver: true,
    });
  });

  it('is deleted with its pipe', async () => {
    const pipeId = await newPipe();
    await store.recordCdcRun(pipeId, run(5_000, 1));
    await store.deletePipe(pipeId);
    expect(await store.getCdcRun(pipeId)).toBeNull();
  });
});

describe('start point', () => {
  it('records the start point before a snapshot and replaces it on the next one', async () => {
    const pipeId = await newPipe();
    expect(await store.getStartPoint(pipeId)).toBeNull();
    await store.recordStartPoint(pipeId, { token: 'start-1', clusterTime: { seconds: 10, increment: 0 } });
    clock.advance(1000);
    const second = await store.recordStartPoint(pipeId, {
      token: null,
      clusterTime: { seconds: 20, increment: 2 },
    });
    expect(await store.getStartPoint(pipeId)).toEqual(second);
    expect(second).toEqual({
      token: null,
      clusterTime: { seconds: 20, increment: 2 },
      recordedAt: clock.now(),
    });
    await expect(store.recordStartPoint(pipeId, { token: null, clusterTime: null })).rejects.toMatchObject({
      name: 'InvalidStoreInputError',
    });
  });
});

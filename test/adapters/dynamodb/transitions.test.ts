import { QueryCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import type { DynamoPipeStore } from '../../../functions/adapters/dynamodb/store.js';
import {
  IllegalTransitionError,
  PipeNotFoundError,
  StateConflictError,
} from '../../../functions/core/errors.js';
import { type LocalDynamo, useDynalite } from '../../support/dynalite.js';
import { crashOnce, ManualClock, newStore, pipeInput } from './fixtures.js';

let dynamo: LocalDynamo;
let store: DynamoPipeStore;
const clock = new ManualClock();

useDynalite((started) => {
  dynamo = started;
  store = newStore(started, clock);
});

const by = { reason: 'test step', actor: 'state-machine' };

async function runningPipe(target = store): Promise<string> {
  const { pipe } = await target.createPipe(pipeInput());
  await target.applyEvent(pipe.id, 'provisioned', by);
  await target.applyEvent(pipe.id, 'destinationReadyCdcOnly', by);
  return pipe.id;
}

/** History items as stored, without the merge listHistory does. */
async function storedHistoryVersions(pipeId: string): Promise<number[]> {
  const result = await dynamo.newClient().send(
    new QueryCommand({
      TableName: dynamo.tableName,
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
      ExpressionAttributeValues: { ':pk': { S: `PIPE#${pipeId}` }, ':prefix': { S: 'HISTORY#' } },
    }),
  );
  return (result.Items ?? []).map((item) => Number(item.version?.N));
}

const writesHistoryVersion = (version: number) => (command: string, input: Record<string, unknown>) =>
  command === 'PutItemCommand' &&
  JSON.stringify(input.Item).includes(`HISTORY#${String(version).padStart(10, '0')}`);

describe('applyEvent', () => {
  it('moves the pipe, bumps the version and writes a history entry, newest first', async () => {
    const pipeId = await runningPipe();
    clock.advance(5000);
    const paused = await store.applyEvent(pipeId, 'pause', {
      expectedState: 'Running',
      reason: 'user',
      actor: 'alice',
    });
    expect(paused).toMatchObject({ state: 'Pausing', version: 4, updatedAt: clock.now() });
    const history = await store.listHistory(pipeId);
    expect(history.items.map((entry) => [entry.version, entry.from, entry.to, entry.event])).toEqual([
      [4, 'Running', 'Pausing', 'pause'],
      [3, 'Setup', 'Running', 'destinationReadyCdcOnly'],
      [2, 'Provisioning', 'Setup', 'provisioned'],
      [1, null, 'Provisioning', 'create'],
    ]);
    expect(history.items[0]).toMatchObject({ reason: 'user', actor: 'alice', at: clock.now() });
    expect(history.nextCursor).toBeNull();
  });

  it('keeps the request id as its own field of the entry, the reason as given', async () => {
    const pipeId = await runningPipe();
    await store.applyEvent(pipeId, 'pause', { ...by, requestId: 'pause-p-v3' });
    const [paused, previous] = (await store.listHistory(pipeId, { limit: 2 })).items;
    expect(paused).toMatchObject({ event: 'pause', reason: 'test step', requestId: 'pause-p-v3' });
    expect(previous).not.toHaveProperty('requestId');
    await store.applyEvent(pipeId, 'batchDrained', by);
    const [, copied] = (await store.listHistory(pipeId, { limit: 2 })).items;
    expect(copied).toMatchObject({ version: paused?.version, requestId: 'pause-p-v3' });
  });

  it('pages history with a cursor', async () => {
    const pipeId = await runningPipe();
    const first = await store.listHistory(pipeId, { limit: 2 });
    expect(first.items.map((entry) => entry.version)).toEqual([3, 2]);
    const second = await store.listHistory(pipeId, { limit: 2, cursor: first.nextCursor });
    expect(second.items.map((entry) => entry.version)).toEqual([1]);
    expect(second.nextCursor).toBeNull();
  });

  it('lets exactly one of 10 concurrent pause commands win', async () => {
    const pipeId = await runningPipe();
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) =>
        store.applyEvent(pipeId, 'pause', { expectedState: 'Running', reason: 'user', actor: `user-${i}` }),
      ),
    );
    const won = results.filter((result) => result.status === 'fulfilled');
    const lost = results.flatMap((result) => (result.status === 'rejected' ? [result.reason] : []));
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(9);
    for (const error of lost) {
      expect(error).toBeInstanceOf(StateConflictError);
      expect(error).toMatchObject({ expectedState: 'Running', actualState: 'Pausing' });
    }
    expect((await store.getPipe(pipeId)).state).toBe('Pausing');
    const pauses = (await store.listHistory(pipeId)).items.filter((entry) => entry.event === 'pause');
    expect(pauses).toHaveLength(1);
  });

  it('refuses illegal events with IllegalTransitionError and changes nothing', async () => {
    const { pipe } = await store.createPipe(pipeInput());
    const error = await store.applyEvent(pipe.id, 'pause', by).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(IllegalTransitionError);
    expect(error).toMatchObject({ state: 'Provisioning', event: 'pause' });
    const running = await runningPipe();
    await expect(store.applyEvent(running, 'resume', by)).rejects.toBeInstanceOf(IllegalTransitionError);
    expect(await store.getPipe(pipe.id)).toMatchObject({ state: 'Provisioning', version: 1 });
    expect((await store.listHistory(pipe.id)).items).toHaveLength(1);
  });

  it('reports StateConflictError when the pipe is not in the expected state, PipeNotFoundError when missing', async () => {
    const pipeId = await runningPipe();
    await expect(
      store.applyEvent(pipeId, 'resume', { ...by, expectedState: 'Paused' }),
    ).rejects.toMatchObject({
      name: 'StateConflictError',
      actualState: 'Running',
    });
    await expect(store.applyEvent('missing', 'pause', by)).rejects.toBeInstanceOf(PipeNotFoundError);
  });
});

describe('a crash between the state write and the history write', () => {
  it('loses no entry: readers see it from the pipe item and the next change copies it', async () => {
    const client = dynamo.newClient();
    const crashing = newStore(dynamo, clock, client);
    const pipeId = await runningPipe(crashing);
    const disarm = crashOnce(client, writesHistoryVersion(4));
    try {
      const paused = await crashing.applyEvent(pipeId, 'pause', by);
      expect(paused.state).toBe('Pausing');
    } finally {
      disarm();
    }
    expect(await storedHistoryVersions(pipeId)).toEqual([1, 2, 3]);
    const seen = await store.listHistory(pipeId);
    expect(seen.items.map((entry) => [entry.version, entry.event])).toEqual([
      [4, 'pause'],
      [3, 'destinationReadyCdcOnly'],
      [2, 'provisioned'],
      [1, 'create'],
    ]);

    await store.applyEvent(pipeId, 'batchDrained', by);
    expect(await storedHistoryVersions(pipeId)).toEqual([1, 2, 3, 4, 5]);
    expect((await store.listHistory(pipeId)).items.map((entry) => entry.event)).toEqual([
      'batchDrained',
      'pause',
      'destinationReadyCdcOnly',
      'provisioned',
      'create',
    ]);
  });

  it('leaves nothing behind when the crash comes before the state write', async () => {
    const client = dynamo.newClient();
    const crashing = newStore(dynamo, clock, client);
    const pipeId = await runningPipe(crashing);
    const disarm = crashOnce(client, (command) => command === 'UpdateItemCommand');
    try {
      await expect(crashing.applyEvent(pipeId, 'pause', by)).rejects.toThrow('simulated crash');
    } finally {
      disarm();
    }
    expect(await store.getPipe(pipeId)).toMatchObject({ state: 'Running', version: 3 });
    expect(await storedHistoryVersions(pipeId)).toEqual([1, 2, 3]);
    expect((await store.listHistory(pipeId)).items.map((entry) => entry.version)).toEqual([3, 2, 1]);
    await expect(
      store.applyEvent(pipeId, 'pause', { ...by, expectedState: 'Running' }),
    ).resolves.toMatchObject({
      state: 'Pausing',
      version: 4,
    });
  });

  it('keeps the create entry when the first history copy fails', async () => {
    const client = dynamo.newClient();
    const crashing = newStore(dynamo, clock, client);
    const disarm = crashOnce(client, writesHistoryVersion(1));
    let pipeId: string;
    try {
      pipeId = (await crashing.createPipe(pipeInput())).pipe.id;
    } finally {
      disarm();
    }
    expect(await storedHistoryVersions(pipeId)).toEqual([]);
    expect((await store.listHistory(pipeId)).items.map((entry) => entry.event)).toEqual(['create']);
    await store.applyEvent(pipeId, 'provisioned', by);
    expect(await storedHistoryVersions(pipeId)).toEqual([1, 2]);
  });
});

import { QueryCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import type { DynamoPipeStore } from '../../../functions/adapters/dynamodb/store.js';
import { PipeNotFoundError } from '../../../functions/core/errors.js';
import {
  IdempotencyConflictError,
  InvalidStoreInputError,
  PipeAlreadyExistsError,
  PipeNameTakenError,
} from '../../../functions/core/store-errors.js';
import { type LocalDynamo, startDynalite, useDynalite } from '../../support/dynalite.js';
import { crashOnce, ManualClock, newStore, pipeInput, uniqueId } from './fixtures.js';

let dynamo: LocalDynamo;
let store: DynamoPipeStore;
const clock = new ManualClock();

useDynalite((started) => {
  dynamo = started;
  store = newStore(started, clock);
});

async function rawItemCount(pipeId: string): Promise<number> {
  const result = await dynamo.newClient().send(
    new QueryCommand({
      TableName: dynamo.tableName,
      KeyConditionExpression: 'PK = :pk',
      ExpressionAttributeValues: { ':pk': { S: `PIPE#${pipeId}` } },
    }),
  );
  return result.Count ?? 0;
}

describe('pipe records', () => {
  it('creates a pipe in Provisioning with version 1 and reads it back with its opaque parts intact', async () => {
    const input = pipeInput({ id: uniqueId('crud') });
    const { pipe, created } = await store.createPipe(input);
    expect(created).toBe(true);
    expect(pipe).toMatchObject({
      id: input.id,
      name: input.name,
      state: 'Provisioning',
      version: 1,
      lastError: null,
    });
    const read = await store.getPipe(pipe.id);
    expect(read.settings).toEqual(input.settings);
    expect(read.source).toEqual(input.source);
    expect(read.destination).toEqual(input.destination);
    expect(read.createdAt).toBe(clock.now());
    const history = await store.listHistory(pipe.id);
    expect(history.items).toEqual([
      expect.objectContaining({ version: 1, from: null, to: 'Provisioning', event: 'create', actor: 'test' }),
    ]);
  });

  it('generates an id when none is given', async () => {
    const { pipe } = await store.createPipe(pipeInput());
    expect(pipe.id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('throws PipeNotFoundError for a missing pipe and refuses ids that could break a key', async () => {
    await expect(store.getPipe('no-such-pipe')).rejects.toBeInstanceOf(PipeNotFoundError);
    await expect(store.getPipe('bad#id')).rejects.toBeInstanceOf(InvalidStoreInputError);
    await expect(store.createPipe(pipeInput({ name: '   ' }))).rejects.toBeInstanceOf(InvalidStoreInputError);
    await expect(store.createPipe(pipeInput({ settings: { big: 10n } }))).rejects.toBeInstanceOf(
      InvalidStoreInputError,
    );
  });

  it('records and clears the last error', async () => {
    const { pipe } = await store.createPipe(pipeInput());
    clock.advance(1000);
    await store.recordError(pipe.id, { name: 'SourceUnavailableError', message: 'connection reset' });
    expect((await store.getPipe(pipe.id)).lastError).toEqual({
      name: 'SourceUnavailableError',
      message: 'connection reset',
      at: clock.now(),
    });
    await store.clearError(pipe.id);
    expect((await store.getPipe(pipe.id)).lastError).toBeNull();
    await expect(store.recordError('missing-pipe', { name: 'X', message: 'y' })).rejects.toBeInstanceOf(
      PipeNotFoundError,
    );
  });
});

describe('idempotent create', () => {
  it('returns the existing pipe when the same idempotency key comes with the same request', async () => {
    const input = pipeInput({ idempotencyKey: uniqueId('key') });
    const first = await store.createPipe(input);
    const again = await store.createPipe({ ...input, id: uniqueId('other-id') });
    expect(again.created).toBe(false);
    expect(again.pipe.id).toBe(first.pipe.id);
  });

  it('treats the same request without a key but with the same name as a repeat', async () => {
    const input = pipeInput();
    const first = await store.createPipe(input);
    const again = await store.createPipe(input);
    expect(again).toEqual({ pipe: first.pipe, created: false });
  });

  it('is a conflict when the key is reused for a different request', async () => {
    const input = pipeInput({ idempotencyKey: uniqueId('key') });
    const first = await store.createPipe(input);
    const error = await store
      .createPipe({ ...input, settings: { replicationMode: 'snapshot' } })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(IdempotencyConflictError);
    expect((error as IdempotencyConflictError).existingPipeId).toBe(first.pipe.id);
  });

  it('refuses a second pipe with a taken name and frees the key it claimed', async () => {
    const taken = pipeInput();
    await store.createPipe(taken);
    const key = uniqueId('key');
    const clash = pipeInput({ name: taken.name, idempotencyKey: key, settings: { different: true } });
    await expect(store.createPipe(clash)).rejects.toBeInstanceOf(PipeNameTakenError);
    const retried = await store.createPipe({ ...clash, name: uniqueId('renamed') });
    expect(retried.created).toBe(true);
  });

  it('refuses an explicit id that already belongs to a different request', async () => {
    const id = uniqueId('fixed');
    await store.createPipe(pipeInput({ id }));
    await expect(store.createPipe(pipeInput({ id }))).rejects.toBeInstanceOf(PipeAlreadyExistsError);
  });

  it('yields one pipe when the same request races with itself', async () => {
    const input = pipeInput({ idempotencyKey: uniqueId('race') });
    const results = await Promise.all(Array.from({ length: 8 }, () => store.createPipe(input)));
    expect(new Set(results.map((result) => result.pipe.id)).size).toBe(1);
    expect(results.filter((result) => result.created)).toHaveLength(1);
  });
});

describe('listing', () => {
  it('lists every pipe in creation order with working cursors, and lists by state', async () => {
    const isolated = await startDynalite('ListingTable');
    try {
      const listStore = newStore(isolated, clock);
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        clock.advance(10);
        ids.push((await listStore.createPipe(pipeInput())).pipe.id);
      }
      await listStore.applyEvent(ids[1]!, 'provisioned', { reason: 'ready', actor: 'test' });
      await listStore.applyEvent(ids[3]!, 'provisioned', { reason: 'ready', actor: 'test' });

      const first = await listStore.listPipes({ limit: 3 });
      expect(first.items.map((pipe) => pipe.id)).toEqual(ids.slice(0, 3));
      expect(first.nextCursor).not.toBeNull();
      const second = await listStore.listPipes({ limit: 3, cursor: first.nextCursor });
      expect(second.items.map((pipe) => pipe.id)).toEqual(ids.slice(3));

      const inSetup = await listStore.listPipesByState('Setup');
      expect(inSetup.items.map((pipe) => pipe.id)).toEqual([ids[1], ids[3]]);
      const provisioning = await listStore.listPipesByState('Provisioning');
      expect(provisioning.items.map((pipe) => pipe.id)).toEqual([ids[0], ids[2], ids[4]]);
      expect((await listStore.listPipesByState('Running')).items).toEqual([]);

      await expect(listStore.listPipes({ cursor: 'not-a-cursor' })).rejects.toBeInstanceOf(
        InvalidStoreInputError,
      );
    } finally {
      await isolated.stop();
    }
  });
});

describe('delete', () => {
  it('removes the pipe and every item it owns, and frees its name', async () => {
    const input = pipeInput({ idempotencyKey: uniqueId('key') });
    const { pipe } = await store.createPipe(input);
    await store.applyEvent(pipe.id, 'provisioned', { reason: 'ready', actor: 'test' });
    await store.putTableMapping(pipe.id, {
      sourceDatabaseName: 'shop',
      sourceCollection: 'orders',
      targetTable: 'orders',
    });
    await store.savePartitionPlan(pipe.id, 'shop.orders', [
      { index: 0, bounds: { max: 'a' } },
      { index: 1, bounds: { min: 'a' } },
    ]);
    await store.recordStartPoint(pipe.id, { token: null, clusterTime: { seconds: 1, increment: 1 } });
    const lease = await store.acquireLease(pipe.id, 'cdc', 'worker', 60_000);
    await store.commitResumePoint(
      pipe.id,
      { token: 't1', clusterTime: { seconds: 2, increment: 0 } },
      lease.fence,
    );
    expect(await rawItemCount(pipe.id)).toBeGreaterThan(8);

    await store.deletePipe(pipe.id);
    expect(await rawItemCount(pipe.id)).toBe(0);
    await expect(store.getPipe(pipe.id)).rejects.toBeInstanceOf(PipeNotFoundError);
    expect((await store.listPipes({ limit: 1000 })).items.map((p) => p.id)).not.toContain(pipe.id);

    const recreated = await store.createPipe({ ...input, settings: { replicationMode: 'snapshot' } });
    expect(recreated.created).toBe(true);
    expect(recreated.pipe.id).not.toBe(pipe.id);
    await expect(store.deletePipe(pipe.id)).resolves.toBeUndefined();
  });

  it('frees the name of a pipe whose delete crashed after removing the pipe item', async () => {
    const client = dynamo.newClient();
    const crashing = newStore(dynamo, clock, client);
    const input = pipeInput();
    const { pipe } = await crashing.createPipe(input);
    const disarm = crashOnce(
      client,
      (command, request) =>
        command === 'DeleteItemCommand' && JSON.stringify(request.Key).includes('CLAIM#NAME#'),
    );
    try {
      await expect(crashing.deletePipe(pipe.id)).rejects.toThrow('simulated crash');
    } finally {
      disarm();
    }
    await expect(store.getPipe(pipe.id)).rejects.toBeInstanceOf(PipeNotFoundError);
    const reused = await store.createPipe({ ...input, settings: { replicationMode: 'snapshot' } });
    expect(reused.created).toBe(true);
    expect(reused.pipe.id).not.toBe(pipe.id);
  });

  it('keeps the name taken while a crashed delete still has the pipe item', async () => {
    const client = dynamo.newClient();
    const crashing = newStore(dynamo, clock, client);
    const input = pipeInput();
    const { pipe } = await crashing.createPipe(input);
    const disarm = crashOnce(
      client,
      (command, request) => command === 'DeleteItemCommand' && JSON.stringify(request.Key).includes('"PIPE"'),
    );
    try {
      await expect(crashing.deletePipe(pipe.id)).rejects.toThrow('simulated crash');
    } finally {
      disarm();
    }
    expect((await store.getPipe(pipe.id)).id).toBe(pipe.id);
    await expect(store.createPipe({ ...input, settings: { other: 1 } })).rejects.toBeInstanceOf(
      PipeNameTakenError,
    );
    await store.deletePipe(pipe.id);
    expect(await rawItemCount(pipe.id)).toBe(0);
  });
});

describe('settings updates', () => {
  it('replaces the settings only while the pipe is in the state and version the caller read', async () => {
    const { pipe } = await store.createPipe(pipeInput({ id: uniqueId('settings') }));
    const changed = { ...(pipe.settings as Record<string, unknown>), pullBatchSize: 5 };
    const updated = await store.updateSettings(pipe.id, changed, { state: 'Provisioning', version: 1 });
    expect(updated.settings).toEqual(changed);
    expect(updated.version).toBe(1);

    await store.applyEvent(pipe.id, 'provisioned', { reason: 'test', actor: 'test' });
    await expect(
      store.updateSettings(pipe.id, { pullBatchSize: 7 }, { state: 'Provisioning', version: 1 }),
    ).rejects.toMatchObject({ name: 'StateConflictError', actualState: 'Setup' });
    expect((await store.getPipe(pipe.id)).settings).toEqual(changed);
    await expect(
      store.updateSettings('no-such-pipe', {}, { state: 'Paused', version: 1 }),
    ).rejects.toBeInstanceOf(PipeNotFoundError);
  });
});

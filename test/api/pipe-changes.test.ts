import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ApiFixture,
  call,
  driveTo,
  newTwoTablePipe,
  startApi,
  startedFor as startedForPipe,
  TO_PAUSED,
  TO_RUNNING,
} from './fixtures.js';

let api: ApiFixture;
beforeAll(async () => {
  api = await startApi();
});
afterAll(async () => {
  await api?.stop();
});

const newPipe = (name: string) => newTwoTablePipe(api, name);
const RUNNING = TO_RUNNING;
const PAUSED = TO_PAUSED;
const startedFor = (pipeId: string) => startedForPipe(api, pipeId);

describe('PATCH /pipes/{id}', () => {
  it('refuses a settings change while Running (409) and applies it while Paused (200)', async () => {
    const id = await newPipe('settings');
    await driveTo(api.store, id, [...RUNNING]);
    const locked = await call(api.url, 'PATCH', `/pipes/${id}`, {
      body: { settings: { pullBatchSize: 500 } },
    });
    expect(locked.status).toBe(409);
    expect(locked.body.error).toMatchObject({ name: 'SettingsLockedError', currentState: 'Running' });
    await driveTo(api.store, id, ['pause', 'batchDrained']);
    const applied = await call(api.url, 'PATCH', `/pipes/${id}`, {
      body: { settings: { pullBatchSize: 500 } },
    });
    expect(applied.status).toBe(200);
    expect(applied.body.changedSettings).toEqual(['pullBatchSize']);
    expect(applied.body.settings.pullBatchSize).toBe(500);
    expect((await api.store.getPipe(id)).settings).toMatchObject({ pullBatchSize: 500 });
    const fixed = await call(api.url, 'PATCH', `/pipes/${id}`, {
      body: { settings: { replicationMode: 'snapshot', pullBatchSize: 0 } },
    });
    expect(fixed.status).toBe(400);
    expect(fixed.body.error.fieldErrors.map((error: { path: string }) => error.path)).toEqual([
      'settings.pullBatchSize',
    ]);
    expect(startedFor(id)).toEqual([]);
  });

  it('adds tables (mappings written, addTables started) and refuses duplicates', async () => {
    const id = await newPipe('add-tables');
    await driveTo(api.store, id, [...PAUSED]);
    const duplicate = await call(api.url, 'PATCH', `/pipes/${id}`, {
      body: {
        tableMappingsToAdd: [
          { sourceDatabaseName: 'shop', sourceCollection: 'orders', targetTable: 'orders2' },
        ],
      },
    });
    expect(duplicate.status).toBe(400);
    expect(duplicate.body.error.fieldErrors[0].path).toBe('tableMappingsToAdd[0].sourceCollection');
    const answer = await call(api.url, 'PATCH', `/pipes/${id}`, {
      body: {
        tableMappingsToAdd: [{ sourceDatabaseName: 'shop', sourceCollection: 'items', targetTable: 'items' }],
      },
    });
    expect(answer.status).toBe(202);
    // The machine reads new mappings from the settings; its first Task writes the table items.
    expect(
      answer.body.settings.tableMappings.map((m: { sourceCollection: string }) => m.sourceCollection),
    ).toEqual(['orders', 'users', 'items']);
    expect((await api.store.getPipe(id)).settings).toMatchObject({
      tableMappings: expect.arrayContaining([expect.objectContaining({ sourceCollection: 'items' })]),
    });
    expect(startedFor(id)).toEqual([
      {
        operation: 'addTables',
        input: expect.objectContaining({ expectedState: 'Paused', tables: ['shop.items'] }),
      },
    ]);
  });

  it('re-adds a removed collection under a new table while Running; a repeated request starts one execution', async () => {
    const id = await newPipe('re-add');
    await driveTo(api.store, id, [...RUNNING]);
    await api.store.setTableState(id, 'shop.users', { state: 'Removed' });
    const body = {
      tableMappingsToAdd: [
        {
          sourceDatabaseName: 'shop',
          sourceCollection: 'users',
          targetTable: 'users_v2',
          targetDatabase: 'crm',
        },
      ],
    };
    const first = await call(api.url, 'PATCH', `/pipes/${id}`, { body });
    const again = await call(api.url, 'PATCH', `/pipes/${id}`, { body });
    expect([first.status, again.status]).toEqual([202, 202]);
    expect(again.body.executionId).toBe(first.body.executionId);
    expect(startedFor(id)).toEqual([
      {
        operation: 'addTables',
        input: expect.objectContaining({ expectedState: 'Running', tables: ['shop.users'] }),
      },
    ]);
    const { settings } = await api.store.getPipe(id);
    expect((settings as { tableMappings: unknown[] }).tableMappings).toEqual([
      { sourceDatabaseName: 'shop', sourceCollection: 'orders', targetTable: 'orders' },
      {
        sourceDatabaseName: 'shop',
        sourceCollection: 'users',
        targetTable: 'users_v2',
        targetDatabase: 'crm',
      },
    ]);
  });

  it('removes tables (removeTables started with dropTables) but never the last one', async () => {
    const id = await newPipe('remove-tables');
    await driveTo(api.store, id, [...RUNNING]);
    const all = await call(api.url, 'PATCH', `/pipes/${id}`, {
      body: {
        tableMappingsToRemove: [
          { sourceDatabaseName: 'shop', sourceCollection: 'orders' },
          { sourceDatabaseName: 'shop', sourceCollection: 'users' },
        ],
      },
    });
    expect(all.status).toBe(400);
    const answer = await call(api.url, 'PATCH', `/pipes/${id}`, {
      body: {
        tableMappingsToRemove: [{ sourceDatabaseName: 'shop', sourceCollection: 'users' }],
        dropTables: true,
      },
    });
    expect(answer.status).toBe(202);
    expect(startedFor(id)).toEqual([
      {
        operation: 'removeTables',
        input: expect.objectContaining({
          expectedState: 'Running',
          tables: ['shop.users'],
          dropTables: true,
        }),
      },
    ]);
  });

  it('refuses table changes during a transitional state and two kinds of change at once', async () => {
    const id = await newPipe('modify-snapshot');
    await driveTo(api.store, id, ['provisioned', 'destinationReady']);
    const refused = await call(api.url, 'PATCH', `/pipes/${id}`, {
      body: { tableMappingsToRemove: [{ sourceDatabaseName: 'shop', sourceCollection: 'users' }] },
    });
    expect(refused.status).toBe(409);
    expect(refused.body.error.currentState).toBe('Snapshot');
    const both = await call(api.url, 'PATCH', `/pipes/${id}`, {
      body: {
        settings: { pullBatchSize: 5 },
        tableMappingsToRemove: [{ sourceDatabaseName: 'shop', sourceCollection: 'users' }],
      },
    });
    expect(both.status).toBe(400);
  });
});

describe('DELETE /pipes/{id} and history', () => {
  it('deletes in any state (202, delete started) and answers 404 for unknown pipes', async () => {
    const id = await newPipe('delete-me');
    await driveTo(api.store, id, ['provisioned']);
    const answer = await call(api.url, 'DELETE', `/pipes/${id}`);
    expect(answer.status).toBe(202);
    expect(answer.body).toMatchObject({ id, state: 'Setup', operation: 'delete' });
    expect(startedFor(id)).toEqual([
      {
        operation: 'delete',
        input: expect.objectContaining({ expectedState: 'Setup', requestId: `delete-${id}-v2` }),
      },
    ]);
    expect((await call(api.url, 'DELETE', '/pipes/missing')).status).toBe(404);
  });

  it('lists history newest first, paged', async () => {
    const id = await newPipe('history');
    await driveTo(api.store, id, [...PAUSED]);
    const first = await call(api.url, 'GET', `/pipes/${id}/history?limit=2`);
    expect(first.status).toBe(200);
    expect(first.body.history.map((entry: { to: string }) => entry.to)).toEqual(['Paused', 'Pausing']);
    expect(first.body.nextToken).toEqual(expect.any(String));
    const rest = await call(
      api.url,
      'GET',
      `/pipes/${id}/history?limit=10&nextToken=${encodeURIComponent(first.body.nextToken)}`,
    );
    expect(rest.body.history.map((entry: { event: string }) => entry.event)).toEqual([
      'snapshotDone',
      'destinationReady',
      'provisioned',
      'create',
    ]);
    expect(rest.body.history[3]).toMatchObject({ from: null, to: 'Provisioning', actor: 'local' });
    expect((await call(api.url, 'GET', '/pipes/missing/history')).status).toBe(404);
  });
});

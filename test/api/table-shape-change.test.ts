import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CDC_LEASE } from '../../functions/ports/pipe-store.js';
import { type ApiFixture, call, driveTo, startApi } from './fixtures.js';

const city = { path: 'customer.city', name: 'city', type: 'LowCardinality(String)' };
const count = { path: 'count', name: 'count', type: 'Int32' };

let api: ApiFixture;
beforeAll(async () => {
  api = await startApi();
});
afterAll(async () => {
  await api?.stop();
});

/** A Running pipe of two tables, orders with typed columns. */
async function runningPipe(name: string): Promise<string> {
  const created = await call(api.url, 'POST', '/pipes', {
    body: {
      name,
      source: { uri: 'mongodb://127.0.0.1:27017/?replicaSet=rs0' },
      settings: {
        tableMappings: [
          {
            sourceDatabaseName: 'shop',
            sourceCollection: 'orders',
            targetTable: `${name}_orders`,
            columns: [city, count],
          },
          { sourceDatabaseName: 'shop', sourceCollection: 'items', targetTable: `${name}_items` },
        ],
      },
    },
  });
  expect(created.status).toBe(202);
  await driveTo(api.store, created.body.id, ['provisioned', 'destinationReady', 'snapshotDone']);
  return created.body.id as string;
}

const change = (id: string, tables: unknown[]) =>
  call(api.url, 'PATCH', `/pipes/${id}`, { body: { tableMappingsToChange: tables } });
const orders = { sourceDatabaseName: 'shop', sourceCollection: 'orders' };
const items = { sourceDatabaseName: 'shop', sourceCollection: 'items' };

describe('PATCH /pipes/{id} tableMappingsToChange', () => {
  it('starts a resync of the reshaped table alone, the new shape in its input for PrepareResync to store', async () => {
    const id = await runningPipe('reshape');
    const total = { path: 'total', name: 'total', type: 'Decimal(18,2)' };
    const shapes = [
      { ...orders, columns: [city, count, total] },
      { ...items, onTypeMismatch: 'fail' },
    ];
    const answer = await change(id, shapes);
    expect(answer.status).toBe(202);
    expect(answer.body.operation).toBe('resync');
    const started = api.starter.started.at(-1);
    expect(started).toMatchObject({
      operation: 'resync',
      input: { pipeId: id, tables: ['shop.orders'], tableShapes: shapes },
    });
    // Stored by PrepareResync once the live table has the new columns, not before.
    const pipe = await call(api.url, 'GET', `/pipes/${id}`);
    expect(pipe.body.settings.tableMappings[0].columns).toEqual([city, count]);
    const other = await change(id, [{ ...orders, columns: [city] }]);
    expect(other.status).toBe(202);
    expect(api.starter.started.at(-1)?.input.requestId).not.toBe(started?.input.requestId);
  });

  it('applies onTypeMismatch alone without a resync, ending the running CDC run', async () => {
    const id = await runningPipe('mismatch');
    const before = api.starter.started.length;
    const lease = await api.store.acquireLease(id, CDC_LEASE, 'a-run', 60_000);
    const answer = await change(id, [{ ...orders, onTypeMismatch: 'fail' }]);
    expect(answer.status).toBe(200);
    expect(answer.body.changedSettings).toEqual(['tableMappings']);
    expect(answer.body.settings.tableMappings[0].onTypeMismatch).toBe('fail');
    expect(api.starter.started.length).toBe(before);
    await expect(api.store.renewLease(id, CDC_LEASE, 'a-run', lease.fence, 60_000)).rejects.toThrow();
  });

  it('answers 200 with nothing changed when the shape is the current one', async () => {
    const id = await runningPipe('same');
    const before = api.starter.started.length;
    const answer = await change(id, [
      { ...orders, columns: [city, count] },
      { ...items, excludedFields: [] },
    ]);
    expect(answer.status).toBe(200);
    expect(answer.body.changedSettings).toEqual([]);
    expect(api.starter.started.length).toBe(before);
  });

  it('refuses unknown tables, broken rules and retyped columns with their paths, storing nothing', async () => {
    const id = await runningPipe('refused');
    const unknown = await change(id, [{ sourceDatabaseName: 'shop', sourceCollection: 'nope', columns: [] }]);
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.fieldErrors).toEqual([
      { path: 'tableMappingsToChange[0]', message: 'the pipe has no table shop.nope' },
    ]);
    const broken = await change(id, [{ ...orders, columns: [{ ...city, name: 'doc' }] }]);
    expect(broken.status).toBe(400);
    expect(broken.body.error.fieldErrors[0].path).toBe('tableMappingsToChange[0].columns[0].name');
    const retyped = await change(id, [{ ...orders, columns: [city, { ...count, type: 'String' }] }]);
    expect(retyped.status).toBe(400);
    expect(retyped.body.error.fieldErrors[0].path).toBe('tableMappingsToChange[0].columns[1].type');
    const renamed = await change(id, [{ ...orders, targetTable: 'other' }]);
    expect(renamed.status).toBe(400);
    const pipe = await call(api.url, 'GET', `/pipes/${id}`);
    expect(pipe.body.settings.tableMappings[0].columns).toEqual([city, count]);
  });

  it('refuses (409) a reshape in a state that takes no resync, before storing it', async () => {
    const id = await runningPipe('busy');
    const resync = await call(api.url, 'PATCH', `/pipes/${id}/state`, { body: { command: 'resync' } });
    expect(resync.status).toBe(202);
    await driveTo(api.store, id, ['resync']);
    const answer = await change(id, [{ ...orders, columns: [city] }]);
    expect(answer.status).toBe(409);
    const pipe = await call(api.url, 'GET', `/pipes/${id}`);
    expect(pipe.body.settings.tableMappings[0].columns).toEqual([city, count]);
  });

  it('takes exactly one kind of change per request', async () => {
    const id = await runningPipe('kinds');
    const answer = await call(api.url, 'PATCH', `/pipes/${id}`, {
      body: { tableMappingsToChange: [{ ...orders, columns: [] }], settings: { pullBatchSize: 5 } },
    });
    expect(answer.status).toBe(400);
    expect(answer.body.error.message).toContain('tableMappingsToChange');
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ApiFixture,
  call,
  driveTo,
  newTwoTablePipe,
  startApi,
  startedFor as startedForPipe,
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
const startedFor = (pipeId: string) => startedForPipe(api, pipeId);

describe('PATCH /pipes/{id}/state', () => {
  it('pauses a Running pipe: 202 and the pause machine started with the state the caller saw', async () => {
    const id = await newPipe('pause-running');
    await driveTo(api.store, id, [...RUNNING]);
    const answer = await call(api.url, 'PATCH', `/pipes/${id}/state`, { body: { command: 'pause' } });
    expect(answer.status).toBe(202);
    expect(answer.body).toMatchObject({ id, state: 'Running', operation: 'pause' });
    expect(startedFor(id)).toEqual([
      {
        operation: 'pause',
        input: { pipeId: id, expectedState: 'Running', requestedBy: 'local', requestId: `pause-${id}-v4` },
      },
    ]);
    // The same command against the same version starts nothing new.
    await call(api.url, 'PATCH', `/pipes/${id}/state`, { body: { command: 'pause' } });
    expect(startedFor(id)).toHaveLength(1);
  });

  it('refuses pause while Provisioning with 409, the current state and the allowed commands', async () => {
    const id = await newPipe('pause-provisioning');
    const answer = await call(api.url, 'PATCH', `/pipes/${id}/state`, { body: { command: 'pause' } });
    expect(answer.status).toBe(409);
    expect(answer.body.error).toMatchObject({
      name: 'CommandRefusedError',
      currentState: 'Provisioning',
      allowedCommands: ['delete'],
    });
    expect(startedFor(id)).toEqual([]);
  });

  const TRANSITIONAL = [
    ['Provisioning', []],
    ['Setup', ['provisioned']],
    ['Snapshot', ['provisioned', 'destinationReady']],
    ['Pausing', [...RUNNING, 'pause']],
    ['Modifying', [...RUNNING, 'removeTables']],
    ['Resync', [...RUNNING, 'resync', 'resyncLoaded']],
  ] as const;

  it.each(TRANSITIONAL)(
    'refuses every command while %s (refused, not queued), but accepts delete',
    async (state, path) => {
      const id = await newPipe(`busy-${state.toLowerCase()}`);
      await driveTo(api.store, id, [...path]);
      for (const command of ['pause', 'resume', 'resync']) {
        const answer = await call(api.url, 'PATCH', `/pipes/${id}/state`, { body: { command } });
        expect(answer.status).toBe(409);
        expect(answer.body.error).toMatchObject({ currentState: state, allowedCommands: ['delete'] });
      }
      const settings = await call(api.url, 'PATCH', `/pipes/${id}`, {
        body: { settings: { pullBatchSize: 7 } },
      });
      expect(settings.status).toBe(409);
      expect(startedFor(id)).toEqual([]);
      expect((await call(api.url, 'DELETE', `/pipes/${id}`)).status).toBe(202);
    },
  );

  it('starts one execution for the same command sent many times at once', async () => {
    const id = await newPipe('pause-burst');
    await driveTo(api.store, id, [...RUNNING]);
    const answers = await Promise.all(
      Array.from({ length: 8 }, () =>
        call(api.url, 'PATCH', `/pipes/${id}/state`, { body: { command: 'pause' } }),
      ),
    );
    expect(answers.map((answer) => answer.status)).toEqual(Array(8).fill(202));
    expect(new Set(answers.map((answer) => answer.body.executionId)).size).toBe(1);
    expect(startedFor(id)).toHaveLength(1);
  });

  it('refuses resume while Running (409) and accepts it while Paused', async () => {
    const id = await newPipe('resume');
    await driveTo(api.store, id, [...RUNNING]);
    const refused = await call(api.url, 'PATCH', `/pipes/${id}/state`, { body: { command: 'resume' } });
    expect(refused.status).toBe(409);
    expect(refused.body.error.currentState).toBe('Running');
    expect(refused.body.error.allowedCommands).toEqual([
      'pause',
      'resync',
      'addTables',
      'removeTables',
      'delete',
    ]);
    await driveTo(api.store, id, ['pause', 'batchDrained']);
    const accepted = await call(api.url, 'PATCH', `/pipes/${id}/state`, { body: { command: 'resume' } });
    expect(accepted.status).toBe(202);
    expect(startedFor(id).map((entry) => entry.operation)).toEqual(['resume']);
  });

  it('resyncs one table of a Failed pipe, and refuses unknown tables and tables with other commands', async () => {
    const id = await newPipe('resync-table');
    await driveTo(api.store, id, ['fail']);
    const unknown = await call(api.url, 'PATCH', `/pipes/${id}/state`, {
      body: { command: 'resync', tables: ['shop.orders', 'shop.nope'] },
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.fieldErrors).toEqual([expect.objectContaining({ path: 'tables[1]' })]);
    const misplaced = await call(api.url, 'PATCH', `/pipes/${id}/state`, {
      body: { command: 'pause', tables: ['shop.orders'] },
    });
    expect(misplaced.status).toBe(400);
    const answer = await call(api.url, 'PATCH', `/pipes/${id}/state`, {
      body: { command: 'resync', tables: ['shop.orders'] },
    });
    expect(answer.status).toBe(202);
    expect(startedFor(id)).toEqual([
      {
        operation: 'resync',
        input: expect.objectContaining({ pipeId: id, expectedState: 'Failed', tables: ['shop.orders'] }),
      },
    ]);
  });

  it('validates the command body with field paths', async () => {
    const id = await newPipe('bad-command');
    const answer = await call(api.url, 'PATCH', `/pipes/${id}/state`, {
      body: { command: 'stop', force: true },
    });
    expect(answer.status).toBe(400);
    const paths = answer.body.error.fieldErrors.map((error: { path: string }) => error.path).sort();
    expect(paths).toEqual(['command', 'force']);
    expect(
      (await call(api.url, 'PATCH', '/pipes/missing/state', { body: { command: 'pause' } })).status,
    ).toBe(404);
  });
});

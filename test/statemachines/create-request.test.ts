import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerPipeTask } from '../../functions/handlers/tasks/register-pipe.js';
import { compareWithSource, DATABASE, type MachineWorld, seed, startMachineWorld } from './support.js';

/** The create machine started from the AWS console: with the body of POST /pipes, no API involved. */
describe('create machine started with a create request', () => {
  let world: MachineWorld;

  beforeAll(async () => {
    world = await startMachineWorld();
    await seed(world, 'console', 'orders', 300);
  }, 120_000);
  afterAll(async () => {
    await world?.stop();
  });

  const request = (name: string, settings: Record<string, unknown> = {}, targetTable = 'console_orders') => ({
    name,
    source: { uri: world.rs.uri },
    destination: { url: world.clickhouse.url, database: DATABASE, username: 'default', password: '' },
    settings: {
      tableMappings: [{ sourceDatabaseName: 'console', sourceCollection: 'orders', targetTable }],
      ...settings,
    },
  });
  const pipesNamed = async (name: string) =>
    (await world.store.listPipes()).items.filter((pipe) => pipe.name === name);

  it('stores the pipe and goes on exactly as an API-created one: Running, data equal', async () => {
    const result = await world.machines.runCreateRequest(request('from-console'), 'console-create-1');
    expect(result).toMatchObject({ status: 'SUCCEEDED' });
    const [pipe] = await pipesNamed('from-console');
    expect(pipe?.state).toBe('Running');
    const history = (await world.store.listHistory(pipe?.id as string)).items
      .map((entry) => entry.to)
      .reverse();
    expect(history).toEqual(['Provisioning', 'Setup', 'Snapshot', 'Running']);
    expect((await world.store.listHistory(pipe?.id as string)).items.at(-1)?.actor).toBe(
      'step-functions execution console-create-1',
    );
    expect(await compareWithSource(world, 'console', 'orders')).toMatchObject({
      count: 300,
      missing: [],
      extra: [],
      different: [],
    });
  });

  it('the same execution name started twice makes one pipe; the second execution touches nothing', async () => {
    // Its own table: the first test's pipe owns console_orders.
    const first = await world.machines.runCreateRequest(
      request('twice', { replicationMode: 'cdc_only' }, 'console_orders_twice'),
      'same-name',
    );
    const second = await world.machines.runCreateRequest(
      request('twice', { replicationMode: 'cdc_only' }, 'console_orders_twice'),
      'same-name',
    );
    expect(first).toMatchObject({ status: 'SUCCEEDED' });
    expect(second).toMatchObject({ status: 'FAILED', error: 'CommandRefused' });
    const pipes = await pipesNamed('twice');
    expect(pipes).toHaveLength(1);
    expect(pipes[0]?.state).toBe('Running');
  });

  it('a request with bad settings ends in InvalidCreateRequest, its cause listing the field errors; nothing stored', async () => {
    const bad = request('bad-settings', { syncIntervalSeconds: 0, pullBatchSise: 5 });
    const result = await world.machines.runCreateRequest({ ...bad, name: 'bad settings!' }, 'console-bad');
    expect(result).toMatchObject({ status: 'FAILED', error: 'InvalidCreateRequest' });
    for (const field of ['name', 'settings.syncIntervalSeconds', 'settings.pullBatchSise'])
      expect(result.cause, field).toContain(field);
    expect(await pipesNamed('bad settings!')).toEqual([]);
    expect(await pipesNamed('bad-settings')).toEqual([]);
  });

  it('applies the cloud rules of the API: no connection string or password, only secret ARNs', async () => {
    const strict = { ...world.runtime, createRules: { allowPlainSecrets: false, defaultDestination: null } };
    await expect(
      registerPipeTask.invoke(strict, {
        request: request('strict'),
        executionName: 'x',
        executionId: 'id-x',
      }),
    ).rejects.toMatchObject({
      name: 'InvalidSettingsError',
      fieldErrors: [
        expect.objectContaining({ path: 'source.uri' }),
        expect.objectContaining({ path: 'destination.password' }),
      ],
    });
    expect(await pipesNamed('strict')).toEqual([]);
  });
});

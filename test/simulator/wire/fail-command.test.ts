import { MongoClient, MongoNetworkError, MongoServerError } from 'mongodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type ReplicaSetHandle, startReplicaSet } from '../../../simulator/index.js';

describe('failCommand fail point', () => {
  let replicaSet: ReplicaSetHandle;
  let client: MongoClient;

  beforeAll(async () => {
    replicaSet = await startReplicaSet({ noopIntervalMs: 0 });
    client = new MongoClient(replicaSet.uri, {
      serverSelectionTimeoutMS: 5000,
      appName: 'fail-command-test',
    });
    await client.connect();
  });

  afterEach(async () => {
    await client.db('admin').command({ configureFailPoint: 'failCommand', mode: 'off' });
  });

  afterAll(async () => {
    await client?.close();
    await replicaSet?.stop();
  });

  const admin = () => client.db('admin');

  it('fails the listed command exactly `times` times with the given code and labels', async () => {
    await admin().command({
      configureFailPoint: 'failCommand',
      mode: { times: 2 },
      data: { failCommands: ['ping'], errorCode: 91, errorLabels: ['CustomLabel'] },
    });
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const error = await admin()
        .command({ ping: 1 })
        .catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(MongoServerError);
      expect(error).toMatchObject({ code: 91, codeName: 'ShutdownInProgress' });
      expect((error as MongoServerError).hasErrorLabel('CustomLabel')).toBe(true);
    }
    expect((await admin().command({ ping: 1 })).ok).toBe(1);
    expect((await admin().command({ buildInfo: 1 })).version).toMatch(/^7\.0\./);
  });

  it('skips the first n activations in skip mode and only fails commands of the named app', async () => {
    await admin().command({
      configureFailPoint: 'failCommand',
      mode: { skip: 1 },
      data: { failCommands: ['buildInfo'], errorCode: 2, appName: 'fail-command-test' },
    });
    expect((await admin().command({ buildInfo: 1 })).ok).toBe(1);
    await expect(admin().command({ buildInfo: 1 })).rejects.toMatchObject({ code: 2 });
    const otherApp = new MongoClient(replicaSet.uri, { serverSelectionTimeoutMS: 5000, appName: 'other' });
    try {
      expect((await otherApp.db('admin').command({ buildInfo: 1 })).ok).toBe(1);
    } finally {
      await otherApp.close();
    }
  });

  it('closes the connection with closeConnection', async () => {
    await admin().command({
      configureFailPoint: 'failCommand',
      mode: { times: 1 },
      data: { failCommands: ['hostInfo'], closeConnection: true },
    });
    await expect(admin().command({ hostInfo: 1 })).rejects.toBeInstanceOf(MongoNetworkError);
    expect((await admin().command({ hostInfo: 1 })).ok).toBe(1);
  });

  it('holds the reply for blockTimeMS with blockConnection', async () => {
    await admin().command({
      configureFailPoint: 'failCommand',
      mode: { times: 1 },
      data: { failCommands: ['getCmdLineOpts'], blockConnection: true, blockTimeMS: 300 },
    });
    const started = performance.now();
    const reply = await admin().command({ getCmdLineOpts: 1 });
    expect(reply.ok).toBe(1);
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
  });

  it('rejects malformed configurations and unknown fail points', async () => {
    await expect(
      admin().command({
        configureFailPoint: 'failCommand',
        mode: 'alwaysOn',
        data: { failCommands: 'ping' },
      }),
    ).rejects.toMatchObject({ code: 2 });
    await expect(
      admin().command({ configureFailPoint: 'noSuchPoint', mode: 'alwaysOn' }),
    ).rejects.toMatchObject({
      code: 2,
    });
    await expect(
      client.db('test').command({ configureFailPoint: 'failCommand', mode: 'off' }),
    ).rejects.toMatchObject({
      code: 13,
    });
  });
});

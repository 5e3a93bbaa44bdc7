import { type CommandFailedEvent, MongoClient, type MongoServerError } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ReplicaSetHandle, startReplicaSet } from '../../../simulator/index.js';

describe('a write in flight during a step-down', () => {
  let replicaSet: ReplicaSetHandle;
  let client: MongoClient;

  beforeAll(async () => {
    replicaSet = await startReplicaSet({ noopIntervalMs: 0, electionDelayMs: 50 });
    client = new MongoClient(replicaSet.uri, { serverSelectionTimeoutMS: 5000, monitorCommands: true });
    await client.connect();
  });

  afterAll(async () => {
    await client?.close();
    await replicaSet?.stop();
  });

  it('is interrupted with 11602 and retried by the driver on the new primary', async () => {
    const oldPrimary = replicaSet.primary!;
    const items = client.db('app').collection<{ _id: number }>('interrupted');
    await items.insertOne({ _id: 0 });
    replicaSet
      .failPoints(oldPrimary)
      .configure(
        'failCommand',
        { times: 1 },
        { failCommands: ['insert'], blockConnection: true, blockTimeMS: 1000 },
      );
    const failures: CommandFailedEvent[] = [];
    client.on('commandFailed', (event) => failures.push(event));
    const inserting = items.insertOne({ _id: 1 });
    // Step down while the insert is held by the fail point (bounded wait for it to arrive).
    const failPoints = replicaSet.failPoints(oldPrimary);
    for (let attempt = 0; attempt < 200 && failPoints.timesEntered('failCommand') === 0; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(failPoints.timesEntered('failCommand')).toBe(1);
    replicaSet.stepDown({ stepDownSecs: 60 });
    await inserting;
    const insertFailures = failures.filter((event) => event.commandName === 'insert');
    expect(insertFailures).toHaveLength(1);
    const error = insertFailures[0]!.failure as MongoServerError;
    expect(error.code).toBe(11602);
    expect(error.errorLabels).toContain('RetryableWriteError');
    expect(insertFailures[0]!.address).toBe(oldPrimary);
    expect(replicaSet.primary).not.toBe(oldPrimary);
    expect(await items.countDocuments({ _id: 1 })).toBe(1);
  });

  it('aborts an open transaction on step-down so withTransaction retries it on the new primary', async () => {
    const oldPrimary = replicaSet.primary!;
    const accounts = client.db('app').collection<{ _id: string; attempt: number }>('accounts');
    await client.db('app').createCollection('accounts');
    const session = client.startSession();
    let attempts = 0;
    try {
      await session.withTransaction(async () => {
        attempts += 1;
        await accounts.insertOne({ _id: 'alice', attempt: attempts }, { session });
        if (attempts === 1) {
          replicaSet.stepDown({ stepDownSecs: 60 });
          await replicaSet.waitForPrimary(5000);
        }
      });
    } finally {
      await session.endSession();
    }
    expect(attempts).toBe(2);
    expect(replicaSet.primary).not.toBe(oldPrimary);
    expect(await accounts.find().toArray()).toEqual([{ _id: 'alice', attempt: 2 }]);
  });
});

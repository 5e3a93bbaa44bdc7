import { type CommandStartedEvent, MongoClient, type MongoServerError } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommandError, type MemberState } from '../../../simulator/contract.js';
import { type ReplicaSetHandle, startReplicaSet } from '../../../simulator/index.js';
import type { CommandKind } from '../../../simulator/server/command-kinds.js';
import { checkMemberState } from '../../../simulator/server/state-gate.js';
import { RawClient } from '../wire/raw-client.js';

function gate(state: MemberState, kind: CommandKind, secondaryOk: boolean): number | 'ok' {
  try {
    checkMemberState(state, kind, secondaryOk);
    return 'ok';
  } catch (error) {
    if (error instanceof CommandError) return error.code;
    throw error;
  }
}

describe('member-state rules', () => {
  it.each([
    ['PRIMARY', 'write', false, 'ok'],
    ['PRIMARY', 'read', false, 'ok'],
    ['SECONDARY', 'write', true, 10107],
    ['SECONDARY', 'read', false, 13435],
    ['SECONDARY', 'read', true, 'ok'],
    ['SECONDARY', 'any', false, 'ok'],
    ['RECOVERING', 'read', true, 13436],
    ['RECOVERING', 'read', false, 13435],
    ['ROLLBACK', 'read', true, 13436],
    ['STARTUP2', 'read', true, 13436],
    ['ARBITER', 'read', true, 13436],
    ['RECOVERING', 'write', true, 10107],
    ['RECOVERING', 'any', false, 'ok'],
    ['SECONDARY', 'cursor', false, 'ok'],
    ['RECOVERING', 'cursor', false, 13436],
    ['ROLLBACK', 'cursor', true, 13436],
  ] as const)('%s refuses or runs a %s (secondaryOk=%s): %s', (state, kind, secondaryOk, expected) => {
    expect(gate(state, kind, secondaryOk)).toBe(expected);
  });
});

describe('member states through the driver', () => {
  let replicaSet: ReplicaSetHandle;
  let client: MongoClient;
  const started: CommandStartedEvent[] = [];

  beforeAll(async () => {
    replicaSet = await startReplicaSet({ noopIntervalMs: 0 });
    client = new MongoClient(replicaSet.uri, { serverSelectionTimeoutMS: 5000, monitorCommands: true });
    client.on('commandStarted', (event) => started.push(event));
    await client.connect();
    await client
      .db('app')
      .collection<{ _id: number }>('items')
      .insertMany([{ _id: 1 }, { _id: 2 }]);
  });

  afterAll(async () => {
    await client?.close();
    await replicaSet?.stop();
  });

  it('serves reads from a secondary when the read preference allows it', async () => {
    const secondaries = replicaSet.members
      .filter((member) => member.state === 'SECONDARY')
      .map((m) => m.name);
    started.length = 0;
    const docs = await client
      .db('app')
      .collection<{ _id: number }>('items')
      .find({}, { readPreference: 'secondary' })
      .toArray();
    expect(docs.map((doc) => doc._id)).toEqual([1, 2]);
    const find = started.find((event) => event.commandName === 'find')!;
    expect(secondaries).toContain(find.address);
    expect(find.command.$readPreference).toEqual({ mode: 'secondary' });
  });

  it('refuses a primary-only read on a secondary with NotPrimaryNoSecondaryOk', async () => {
    const secondary = replicaSet.members.find((member) => member.state === 'SECONDARY')!;
    const direct = new MongoClient(`mongodb://${secondary.name}/?directConnection=true`, {
      serverSelectionTimeoutMS: 5000,
    });
    try {
      // A direct connection sends primaryPreferred, which a secondary may serve.
      expect(await direct.db('app').collection<{ _id: number }>('items').countDocuments()).toBe(2);
      // Without a read preference (primary) the secondary refuses, as the real server does.
      const raw = await RawClient.open(secondary.port);
      try {
        raw.write(raw.opMsg({ find: 'items', $db: 'app' }).frame);
        const reply = await raw.nextReply();
        expect(reply.document).toMatchObject({ ok: 0, code: 13435, codeName: 'NotPrimaryNoSecondaryOk' });
        expect(reply.document.topologyVersion).toBeUndefined();
      } finally {
        raw.close();
      }
      await expect(
        direct.db('app').collection<{ _id: number }>('items').insertOne({ _id: 3 }),
      ).rejects.toMatchObject({
        code: 10107,
      });
    } finally {
      await direct.close();
    }
  });

  it('refuses reads on a RECOVERING member even with secondaryOk', async () => {
    const member = replicaSet.members.find((candidate) => candidate.state === 'SECONDARY')!;
    replicaSet.setMemberState(member.name, 'RECOVERING');
    const direct = new MongoClient(`mongodb://${member.name}/?directConnection=true`, {
      serverSelectionTimeoutMS: 5000,
    });
    try {
      const hello = await direct.db('admin').command({ hello: 1 });
      expect(hello).toMatchObject({ isWritablePrimary: false, secondary: false });
      await expect(
        direct
          .db('app')
          .collection<{ _id: number }>('items')
          .find({}, { readPreference: 'secondaryPreferred' })
          .toArray(),
      ).rejects.toMatchObject({ code: 13436, codeName: 'NotPrimaryOrSecondary' });
    } finally {
      await direct.close();
      replicaSet.setMemberState(member.name, 'SECONDARY');
    }
  });

  it('retries a write that failed with a retryable error, labelled by the server', async () => {
    const primary = replicaSet.primary!;
    replicaSet
      .failPoints(primary)
      .configure('failCommand', { times: 1 }, { failCommands: ['insert'], errorCode: 10107 });
    started.length = 0;
    const failures: string[][] = [];
    const onFailed = (event: { commandName: string; failure: Error }) => {
      if (event.commandName === 'insert')
        failures.push((event.failure as MongoServerError).errorLabels ?? []);
    };
    client.on('commandFailed', onFailed);
    try {
      await client.db('app').collection<{ _id: number }>('items').insertOne({ _id: 10 });
    } finally {
      client.off('commandFailed', onFailed);
    }
    expect(failures).toEqual([['RetryableWriteError']]);
    const inserts = started.filter((event) => event.commandName === 'insert');
    expect(inserts).toHaveLength(2);
    expect(inserts[0]!.command.txnNumber).toEqual(inserts[1]!.command.txnNumber);
    expect(await client.db('app').collection<{ _id: number }>('items').countDocuments({ _id: 10 })).toBe(1);
  });

  it('executes a w:0 insert without answering it', async () => {
    const replies: string[] = [];
    const onSucceeded = (event: { commandName: string; reply: unknown }) => {
      if (event.commandName === 'insert') replies.push(JSON.stringify(event.reply));
    };
    client.on('commandSucceeded', onSucceeded);
    try {
      const result = await client
        .db('app')
        .collection<{ _id: number }>('items')
        .insertOne({ _id: 20 }, { writeConcern: { w: 0 } });
      expect(result.acknowledged).toBe(false);
    } finally {
      client.off('commandSucceeded', onSucceeded);
    }
    // The driver reports {ok: 1} for unanswered writes; the server never sent a reply frame.
    expect(replies).toEqual(['{"ok":1}']);
    // The unanswered insert may still be queued on its own connection: poll, bounded.
    const items = client.db('app').collection<{ _id: number }>('items');
    let count = 0;
    for (let attempt = 0; attempt < 100 && count === 0; attempt += 1) {
      count = await items.countDocuments({ _id: 20 });
      if (count === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(count).toBe(1);
  });
});

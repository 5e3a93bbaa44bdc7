import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ReplicaSetHandle, startReplicaSet } from '../../../simulator/index.js';
import { MSG_EXHAUST_ALLOWED } from '../../../simulator/wire/protocol.js';
import { MSG_MORE_TO_COME, RawClient } from './raw-client.js';

describe('exhaust hello and sessions', () => {
  let replicaSet: ReplicaSetHandle;

  beforeAll(async () => {
    replicaSet = await startReplicaSet({ noopIntervalMs: 0, electionDelayMs: 20 });
  });

  afterAll(async () => {
    await replicaSet?.stop();
  });

  it('streams moreToCome hello replies on every topology change', async () => {
    const secondary = replicaSet.members.find((member) => member.state === 'SECONDARY')!;
    const raw = await RawClient.open(secondary.port);
    try {
      raw.write(raw.opMsg({ hello: 1, $db: 'admin' }).frame);
      const first = (await raw.nextReply()).document;
      const request = raw.opMsg(
        { hello: 1, topologyVersion: first.topologyVersion, maxAwaitTimeMS: 10_000, $db: 'admin' },
        MSG_EXHAUST_ALLOWED,
      );
      raw.write(request.frame);
      const oldPrimary = replicaSet.primary!;
      replicaSet.elect(secondary.name);
      const promoted = await raw.nextReply();
      expect(promoted.responseTo).toBe(request.requestId);
      expect(promoted.flags & MSG_MORE_TO_COME).toBe(MSG_MORE_TO_COME);
      expect(promoted.document).toMatchObject({ isWritablePrimary: true, primary: secondary.name });
      expect(promoted.document.topologyVersion.processId.equals(first.topologyVersion.processId)).toBe(true);
      expect(Number(promoted.document.topologyVersion.counter)).toBeGreaterThan(
        Number(first.topologyVersion.counter),
      );
      replicaSet.elect(oldPrimary);
      const demoted = await raw.nextReply();
      // Each streamed reply answers the previous one.
      expect(demoted.responseTo).toBe(promoted.requestId);
      expect(demoted.document).toMatchObject({
        isWritablePrimary: false,
        secondary: true,
        primary: oldPrimary,
      });
    } finally {
      raw.close();
    }
  });

  it('answers an awaitable hello after maxAwaitTimeMS when nothing changes', async () => {
    const member = replicaSet.members[0]!;
    const raw = await RawClient.open(member.port);
    try {
      raw.write(raw.opMsg({ hello: 1, $db: 'admin' }).frame);
      const first = (await raw.nextReply()).document;
      raw.write(
        raw.opMsg({ hello: 1, topologyVersion: first.topologyVersion, maxAwaitTimeMS: 50, $db: 'admin' })
          .frame,
      );
      const reply = await raw.nextReply();
      expect(reply.flags & MSG_MORE_TO_COME).toBe(0);
      expect(reply.document.topologyVersion.counter).toEqual(first.topologyVersion.counter);
    } finally {
      raw.close();
    }
  });

  it('closes the cursors of an ended session', async () => {
    const client = new MongoClient(replicaSet.uri, { serverSelectionTimeoutMS: 5000 });
    try {
      const items = client.db('app').collection<{ _id: number }>('sessions');
      await items.insertMany(Array.from({ length: 10 }, (_, index) => ({ _id: index })));
      const session = client.startSession();
      const reply = await client.db('app').command({ find: 'sessions', batchSize: 2 }, { session });
      const cursorId = reply.cursor.id;
      expect(cursorId.isZero()).toBe(false);
      expect(replicaSet.deployment.sessions.get(cursorId)).toBeDefined();
      await client.db('admin').command({ endSessions: [session.id] });
      expect(replicaSet.deployment.sessions.get(cursorId)).toBeUndefined();
      await expect(
        client.db('app').command({ getMore: cursorId, collection: 'sessions' }),
      ).rejects.toMatchObject({ code: 43 });
      await session.endSession();
    } finally {
      await client.close();
    }
  });

  it('kills every session cursor with killAllSessions', async () => {
    const client = new MongoClient(replicaSet.uri, { serverSelectionTimeoutMS: 5000 });
    try {
      const reply = await client.db('app').command({ find: 'sessions', batchSize: 1 });
      const cursorId = reply.cursor.id;
      expect(replicaSet.deployment.sessions.get(cursorId)).toBeDefined();
      await client.db('admin').command({ killAllSessions: [] });
      expect(replicaSet.deployment.sessions.get(cursorId)).toBeUndefined();
    } finally {
      await client.close();
    }
  });
});

import { MongoServerError, type Timestamp } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { type AnyEvent, collect, opened, useReplicaSet } from './driver-helpers.js';

describe('change stream resumption through the real driver', () => {
  const env = useReplicaSet();

  it('resumes with resumeAfter, startAfter and startAtOperationTime', async () => {
    const coll = env.client.db('resume').collection('log');
    await coll.insertOne({ _id: 0 as never });
    const stream = await opened(coll.watch([], { maxAwaitTimeMS: 50 }));
    await coll.insertMany([1, 2, 3].map((n) => ({ _id: n as never })));
    const events = await collect(stream, 3);
    await stream.close();
    const first = events[0] as AnyEvent;
    const keysOf = (list: AnyEvent[]) => list.map((event) => event.documentKey?._id);

    const afterFirst = coll.watch([], { resumeAfter: first._id, maxAwaitTimeMS: 50 });
    expect(keysOf(await collect(afterFirst, 2))).toEqual([2, 3]);
    await afterFirst.close();
    const startAfter = coll.watch([], { startAfter: first._id, maxAwaitTimeMS: 50 });
    expect(keysOf(await collect(startAfter, 2))).toEqual([2, 3]);
    await startAfter.close();
    const fromTime = coll.watch([], {
      startAtOperationTime: first.clusterTime as Timestamp,
      maxAwaitTimeMS: 50,
    });
    expect(keysOf(await collect(fromTime, 3))).toEqual([1, 2, 3]);
    await fromTime.close();
  });

  it("an idle stream's resume token advances with the periodic no-op writer", async () => {
    const coll = env.client.db('idle').collection('quiet');
    await coll.insertOne({ _id: 0 as never });
    const stream = await opened(coll.watch([], { maxAwaitTimeMS: 20 }));
    try {
      const initial = JSON.stringify(stream.resumeToken);
      let advanced = false;
      for (let poll = 0; poll < 200 && !advanced; poll += 1) {
        expect(await stream.tryNext()).toBeNull();
        advanced = JSON.stringify(stream.resumeToken) !== initial;
      }
      expect(advanced).toBe(true);
      expect((stream.resumeToken as { _data: string })._data > JSON.parse(initial)._data).toBe(true);
    } finally {
      await stream.close();
    }
  });

  it('resuming from a point the oplog no longer holds fails with 286 ChangeStreamHistoryLost', async () => {
    const coll = env.client.db('history').collection('gone');
    const reply = await coll.insertOne({ _id: 1 as never });
    expect(reply.acknowledged).toBe(true);
    const start = env.rs.deployment.oplog.latest()?.ts as Timestamp;
    await coll.insertOne({ _id: 2 as never });
    const newest = env.rs.deployment.oplog.latest()?.ts as Timestamp;
    expect(env.rs.truncateOplog(newest)).toBeGreaterThan(0);
    const stream = coll.watch([], { startAtOperationTime: start, maxAwaitTimeMS: 50 });
    const error = await stream.tryNext().then(
      () => undefined,
      (failure: unknown) => failure,
    );
    expect(error).toBeInstanceOf(MongoServerError);
    expect((error as MongoServerError).code).toBe(286);
    await stream.close();
  });

  it('drop ends a collection stream with drop + invalidate; startAfter it sees the new collection', async () => {
    const db = env.client.db('ddl');
    const coll = db.collection('temp');
    await coll.insertOne({ _id: 1 as never });
    const stream = await opened(coll.watch([], { maxAwaitTimeMS: 50 }));
    await coll.drop();
    const events = await collect(stream, 2);
    expect(events.map((event) => event.operationType)).toEqual(['drop', 'invalidate']);
    await stream.close();
    const reopened = coll.watch([], { startAfter: events[1]?._id, maxAwaitTimeMS: 50 });
    await coll.insertOne({ _id: 'again' as never });
    const next = await collect(reopened, 1);
    expect(next.map((event) => `${event.operationType}:${event.documentKey?._id}`)).toEqual(['insert:again']);
    await reopened.close();
  });

  it('rename is reported with `to`; dropDatabase ends a database stream', async () => {
    const db = env.client.db('moving');
    await db.collection('src').insertOne({ _id: 1 as never });
    const dbStream = await opened(db.watch([], { maxAwaitTimeMS: 50 }));
    await db.collection('src').rename('dst');
    await db.dropDatabase();
    const events = await collect(dbStream, 10, 60);
    const types = events.map((event) => event.operationType);
    expect(types[0]).toBe('rename');
    expect((events[0] as AnyEvent).to).toEqual({ db: 'moving', coll: 'dst' });
    expect(types.slice(-2)).toEqual(['dropDatabase', 'invalidate']);
    await dbStream.close();
  });

  it('the driver resumes transparently after a resumable getMore error', async () => {
    const coll = env.client.db('faults').collection('events');
    await coll.insertOne({ _id: 0 as never });
    const stream = await opened(coll.watch([], { maxAwaitTimeMS: 50 }));
    try {
      await coll.insertOne({ _id: 1 as never });
      expect((await collect(stream, 1)).map((event) => event.documentKey?._id)).toEqual([1]);
      await env.client.db('admin').command({
        configureFailPoint: 'failCommand',
        mode: { times: 1 },
        // As in the driver spec tests for servers >= 4.4, the fail point carries the label.
        data: { failCommands: ['getMore'], errorCode: 6, errorLabels: ['ResumableChangeStreamError'] },
      });
      await coll.insertOne({ _id: 2 as never });
      await coll.insertOne({ _id: 3 as never });
      expect((await collect(stream, 2)).map((event) => event.documentKey?._id)).toEqual([2, 3]);
      // A connection closed under a getMore is a network error: the driver resumes from it too.
      await env.client.db('admin').command({
        configureFailPoint: 'failCommand',
        mode: { times: 1 },
        data: { failCommands: ['getMore'], closeConnection: true },
      });
      await coll.insertOne({ _id: 4 as never });
      expect((await collect(stream, 1)).map((event) => event.documentKey?._id)).toEqual([4]);
    } finally {
      await env.client.db('admin').command({ configureFailPoint: 'failCommand', mode: 'off' });
      await stream.close();
    }
  });
});

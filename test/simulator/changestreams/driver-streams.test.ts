/**
 * Change streams through the real `mongodb` driver against the simulated replica set: what a
 * replication pipe relies on (events and their fields, images, transactions, resuming, history
 * loss, invalidation, DDL events).
 */
import type { ChangeStream, ChangeStreamDocument, MongoClient as Client, Document } from 'mongodb';
import { MongoClient, MongoServerError, type Timestamp } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ReplicaSetHandle, startReplicaSet } from '../../../simulator/index.js';

let rs: ReplicaSetHandle;
let client: Client;

beforeAll(async () => {
  rs = await startReplicaSet({ members: 3, noopIntervalMs: 50 });
  client = new MongoClient(rs.uri, { serverSelectionTimeoutMS: 10_000 });
  await client.connect();
});

afterAll(async () => {
  await client?.close();
  await rs?.stop();
});

type AnyEvent = ChangeStreamDocument<Document> & Document;

/** Reads `count` events with a bounded number of short awaits (no wall-clock assertions). */
async function collect(stream: ChangeStream<Document>, count: number, maxPolls = 100): Promise<AnyEvent[]> {
  const events: AnyEvent[] = [];
  for (let poll = 0; poll < maxPolls && events.length < count; poll += 1) {
    const event = await stream.tryNext();
    if (event) events.push(event as AnyEvent);
  }
  return events;
}

/** Opens a stream and waits until its cursor exists on the server, so later writes are seen. */
async function opened(stream: ChangeStream<Document>): Promise<ChangeStream<Document>> {
  await stream.tryNext();
  return stream;
}

describe('change streams through the real driver', () => {
  it('collection, database and cluster streams see CRUD events with their fields', async () => {
    const db = client.db('crud');
    const orders = db.collection('orders');
    await orders.insertOne({ _id: 'seed' as never });
    const collectionStream = await opened(orders.watch([], { maxAwaitTimeMS: 50 }));
    const databaseStream = await opened(db.watch([], { maxAwaitTimeMS: 50 }));
    const clusterStream = await opened(client.watch([], { maxAwaitTimeMS: 50 }));
    try {
      await orders.insertOne({ _id: 1 as never, qty: 1, tags: ['a', 'b', 'c'] });
      await orders.updateOne({ _id: 1 as never }, { $set: { qty: 2 }, $unset: { tags: '' } });
      await orders.replaceOne({ _id: 1 as never }, { qty: 10 });
      await orders.deleteOne({ _id: 1 as never });
      await db.collection('other').insertOne({ _id: 'o' as never });

      const events = await collect(collectionStream, 4);
      expect(events.map((event) => event.operationType)).toEqual(['insert', 'update', 'replace', 'delete']);
      const [insert, update, replace, remove] = events as [AnyEvent, AnyEvent, AnyEvent, AnyEvent];
      expect(insert.fullDocument).toEqual({ _id: 1, qty: 1, tags: ['a', 'b', 'c'] });
      expect(insert.ns).toEqual({ db: 'crud', coll: 'orders' });
      expect(insert.documentKey).toEqual({ _id: 1 });
      expect(insert.wallTime).toBeInstanceOf(Date);
      expect(update.updateDescription).toEqual({
        updatedFields: { qty: 2 },
        removedFields: ['tags'],
        truncatedArrays: [],
      });
      expect(update.fullDocument).toBeUndefined();
      expect(replace.fullDocument).toEqual({ _id: 1, qty: 10 });
      expect(remove.documentKey).toEqual({ _id: 1 });
      const times = events.map((event) => (event.clusterTime as Timestamp).toBigInt());
      expect([...times].sort((a, b) => (a < b ? -1 : 1))).toEqual(times);

      const dbEvents = await collect(databaseStream, 5);
      expect(dbEvents.map((event) => `${event.operationType}:${event.ns?.coll}`)).toEqual([
        'insert:orders',
        'update:orders',
        'replace:orders',
        'delete:orders',
        'insert:other',
      ]);
      const clusterEvents = await collect(clusterStream, 5);
      expect(clusterEvents.map((event) => event._id)).toEqual(dbEvents.map((event) => event._id));
    } finally {
      await Promise.all([collectionStream.close(), databaseStream.close(), clusterStream.close()]);
    }
  });

  it('updateLookup returns the current document; pre/post images come from pre-images', async () => {
    const db = client.db('images');
    const items = await db.createCollection('items', { changeStreamPreAndPostImages: { enabled: true } });
    await items.insertOne({ _id: 1 as never, price: 10 });
    const lookup = await opened(items.watch([], { fullDocument: 'updateLookup', maxAwaitTimeMS: 50 }));
    const images = await opened(
      items.watch([], { fullDocument: 'required', fullDocumentBeforeChange: 'required', maxAwaitTimeMS: 50 }),
    );
    try {
      await items.updateOne({ _id: 1 as never }, { $inc: { price: 5 } });
      await items.updateOne({ _id: 1 as never }, { $set: { sold: true } });
      await items.deleteOne({ _id: 1 as never });
      const looked = await collect(lookup, 3);
      // The lookup happens when the event is read: the document is gone by then.
      expect(looked.map((event) => event.operationType)).toEqual(['update', 'update', 'delete']);
      expect(looked.map((event) => event.fullDocument ?? null)).toEqual([null, null, null]);
      const withImages = await collect(images, 3);
      expect(withImages[0]?.fullDocumentBeforeChange).toEqual({ _id: 1, price: 10 });
      expect(withImages[0]?.fullDocument).toEqual({ _id: 1, price: 15 });
      expect(withImages[1]?.fullDocument).toEqual({ _id: 1, price: 15, sold: true });
      expect(withImages[2]?.operationType).toBe('delete');
      expect(withImages[2]?.fullDocumentBeforeChange).toEqual({ _id: 1, price: 15, sold: true });
    } finally {
      await Promise.all([lookup.close(), images.close()]);
    }
  });

  it('updateLookup sees the document as it is now', async () => {
    const items = client.db('images').collection('live');
    await items.insertOne({ _id: 2 as never, v: 1 });
    const stream = await opened(items.watch([], { fullDocument: 'updateLookup', maxAwaitTimeMS: 50 }));
    try {
      await items.updateOne({ _id: 2 as never }, { $set: { v: 2 } });
      const [event] = await collect(stream, 1);
      expect(event?.fullDocument).toEqual({ _id: 2, v: 2 });
    } finally {
      await stream.close();
    }
  });

  it('a transaction yields events with one clusterTime, increasing txnOpIndex, lsid and txnNumber', async () => {
    const accounts = client.db('bank').collection('accounts');
    await accounts.insertMany([
      { _id: 'a' as never, balance: 10 },
      { _id: 'b' as never, balance: 0 },
    ]);
    const stream = await opened(accounts.watch([], { maxAwaitTimeMS: 50 }));
    const session = client.startSession();
    try {
      await session.withTransaction(async () => {
        await accounts.updateOne({ _id: 'a' as never }, { $inc: { balance: -5 } }, { session });
        await accounts.updateOne({ _id: 'b' as never }, { $inc: { balance: 5 } }, { session });
        await accounts.insertOne({ _id: 'log' as never, amount: 5 }, { session });
      });
      const events = await collect(stream, 3);
      expect(events.map((event) => event.operationType)).toEqual(['update', 'update', 'insert']);
      const times = new Set(events.map((event) => (event.clusterTime as Timestamp).toString()));
      expect(times.size).toBe(1);
      for (const event of events) {
        expect(event.lsid).toBeDefined();
        expect(event.txnNumber).toBeDefined();
      }
      const tokens = events.map((event) => (event._id as { _data: string })._data);
      expect([...tokens].sort()).toEqual(tokens);
    } finally {
      await session.endSession();
      await stream.close();
    }
  });

  it('resumes with resumeAfter, startAfter and startAtOperationTime', async () => {
    const coll = client.db('resume').collection('log');
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
    const coll = client.db('idle').collection('quiet');
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
    const coll = client.db('history').collection('gone');
    const reply = await coll.insertOne({ _id: 1 as never });
    expect(reply.acknowledged).toBe(true);
    const start = rs.deployment.oplog.latest()?.ts as Timestamp;
    await coll.insertOne({ _id: 2 as never });
    const newest = rs.deployment.oplog.latest()?.ts as Timestamp;
    expect(rs.truncateOplog(newest)).toBeGreaterThan(0);
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
    const db = client.db('ddl');
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
    const db = client.db('moving');
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

  it('showExpandedEvents adds create, createIndexes (at commit), dropIndexes and collectionUUID', async () => {
    const db = client.db('expanded');
    const stream = await opened(db.watch([], { showExpandedEvents: true, maxAwaitTimeMS: 50 }));
    const plain = await opened(db.watch([], { maxAwaitTimeMS: 50 }));
    try {
      await db.createCollection('widgets');
      await db.collection('widgets').createIndex({ sku: 1 }, { name: 'sku_1' });
      await db.collection('widgets').dropIndex('sku_1');
      await db.collection('widgets').insertOne({ _id: 1 as never });
      const events = await collect(stream, 4);
      expect(events.map((event) => event.operationType)).toEqual([
        'create',
        'createIndexes',
        'dropIndexes',
        'insert',
      ]);
      const indexes = (events[1] as AnyEvent).operationDescription?.indexes as Document[];
      expect(indexes.map((index) => index.name)).toEqual(['sku_1']);
      for (const event of events) expect(event.collectionUUID).toBeDefined();
      const plainEvents = await collect(plain, 1);
      expect(plainEvents.map((event) => event.operationType)).toEqual(['insert']);
    } finally {
      await Promise.all([stream.close(), plain.close()]);
    }
  });

  it('the driver resumes transparently after a resumable getMore error', async () => {
    const coll = client.db('faults').collection('events');
    await coll.insertOne({ _id: 0 as never });
    const stream = await opened(coll.watch([], { maxAwaitTimeMS: 50 }));
    try {
      await coll.insertOne({ _id: 1 as never });
      expect((await collect(stream, 1)).map((event) => event.documentKey?._id)).toEqual([1]);
      await client.db('admin').command({
        configureFailPoint: 'failCommand',
        mode: { times: 1 },
        data: { failCommands: ['getMore'], errorCode: 6 },
      });
      await coll.insertOne({ _id: 2 as never });
      await coll.insertOne({ _id: 3 as never });
      expect((await collect(stream, 2)).map((event) => event.documentKey?._id)).toEqual([2, 3]);
    } finally {
      await client.db('admin').command({ configureFailPoint: 'failCommand', mode: 'off' });
      await stream.close();
    }
  });

  it('a $project that drops _id fails the stream with 280', async () => {
    const coll = client.db('fatal').collection('c');
    await coll.insertOne({ _id: 0 as never });
    const stream = await opened(coll.watch([{ $project: { _id: 0 } }], { maxAwaitTimeMS: 50 }));
    await coll.insertOne({ _id: 1 as never });
    const error = await collect(stream, 1).then(
      () => undefined,
      (failure: unknown) => failure,
    );
    expect((error as MongoServerError).code).toBe(280);
    await stream.close();
  });
});

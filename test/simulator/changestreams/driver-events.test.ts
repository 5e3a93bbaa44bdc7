/**
 * Change streams through the real `mongodb` driver: CRUD events and their fields on collection,
 * database and cluster streams, images, transactions, DDL events and the user pipeline.
 */
import type { Document, MongoServerError, Timestamp } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { type AnyEvent, collect, opened, useReplicaSet } from './driver-helpers.js';

describe('change stream events through the real driver', () => {
  const env = useReplicaSet();

  it('collection, database and cluster streams see CRUD events with their fields', async () => {
    const db = env.client.db('crud');
    const orders = db.collection('orders');
    await orders.insertOne({ _id: 'seed' as never });
    const collectionStream = await opened(orders.watch([], { maxAwaitTimeMS: 50 }));
    const databaseStream = await opened(db.watch([], { maxAwaitTimeMS: 50 }));
    const clusterStream = await opened(env.client.watch([], { maxAwaitTimeMS: 50 }));
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
    const db = env.client.db('images');
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
    const items = env.client.db('images').collection('live');
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
    const accounts = env.client.db('bank').collection('accounts');
    await accounts.insertMany([
      { _id: 'a' as never, balance: 10 },
      { _id: 'b' as never, balance: 0 },
    ]);
    const stream = await opened(accounts.watch([], { maxAwaitTimeMS: 50 }));
    const session = env.client.startSession();
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

  it('showExpandedEvents adds create, createIndexes (at commit), dropIndexes and collectionUUID', async () => {
    const db = env.client.db('expanded');
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

  it('a $project that drops _id fails the stream with 280', async () => {
    const coll = env.client.db('fatal').collection('c');
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

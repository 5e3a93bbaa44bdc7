/**
 * The DocumentDB flavour through the real driver: change streams are refused until
 * modifyChangeStreams enables them (collection, database or cluster), $listChangeStreams lists
 * the switches, history older than the retention is lost, options DocumentDB lacks are refused,
 * and so are retryable writes.
 */
import { type Document, MongoClient, MongoServerError } from 'mongodb';
import { afterEach, describe, expect, it } from 'vitest';
import { type ReplicaSetHandle, startReplicaSet } from '../../simulator/index.js';

let replicaSet: ReplicaSetHandle | undefined;
let client: MongoClient | undefined;

afterEach(async () => {
  await client?.close();
  await replicaSet?.stop();
  client = undefined;
  replicaSet = undefined;
});

async function start(options: { changeStreamRetentionSeconds?: number } = {}): Promise<MongoClient> {
  replicaSet = await startReplicaSet({ members: 1, flavor: 'documentdb', noopIntervalMs: 0, ...options });
  client = new MongoClient(`${replicaSet.uri}&retryWrites=false`, { serverSelectionTimeoutMS: 5_000 });
  await client.connect();
  return client;
}

/** Opens a change stream the way the pipe does (an aggregate) and returns its error, if any. */
async function openError(mongo: MongoClient, db: string, target: string | 1, stage: Document = {}) {
  try {
    const reply = await mongo
      .db(db)
      .command({ aggregate: target, pipeline: [{ $changeStream: stage }], cursor: { batchSize: 0 } });
    return { opened: Boolean(reply.cursor) };
  } catch (error) {
    if (!(error instanceof MongoServerError)) throw error;
    return { code: error.code, message: error.message };
  }
}

const enable = (mongo: MongoClient, database: string, collection: string, on = true) =>
  mongo.db('admin').command({ modifyChangeStreams: 1, database, collection, enable: on });

const NOT_ENABLED = {
  code: 136,
  message: 'modifyChangeStreams has not been run for this collection/database/cluster',
};

describe('DocumentDB flavour', () => {
  it('refuses a change stream until modifyChangeStreams enables it, at each scope', async () => {
    const mongo = await start();
    await mongo.db('app').collection<{ _id: number; n?: number }>('orders').insertOne({ _id: 1 });
    expect(await openError(mongo, 'app', 'orders')).toEqual(NOT_ENABLED);
    expect(await openError(mongo, 'app', 1)).toEqual(NOT_ENABLED);

    await enable(mongo, 'app', 'orders');
    expect(await openError(mongo, 'app', 'orders')).toEqual({ opened: true });
    expect(await openError(mongo, 'app', 'customers')).toEqual(NOT_ENABLED);
    expect(await openError(mongo, 'app', 1)).toEqual(NOT_ENABLED);

    await enable(mongo, 'app', '');
    expect(await openError(mongo, 'app', 1)).toEqual({ opened: true });
    expect(await openError(mongo, 'admin', 1, { allChangesForCluster: true })).toEqual(NOT_ENABLED);

    await enable(mongo, '', '');
    expect(await openError(mongo, 'admin', 1, { allChangesForCluster: true })).toEqual({ opened: true });

    const listed = await mongo
      .db('admin')
      .aggregate([{ $listChangeStreams: 1 }])
      .toArray();
    expect(listed).toEqual([
      { database: 'app', collection: 'orders' },
      { database: 'app', collection: '' },
      { database: '', collection: '' },
    ]);

    await enable(mongo, '', '', false);
    await enable(mongo, 'app', '', false);
    expect(await openError(mongo, 'app', 1)).toEqual(NOT_ENABLED);
  });

  it('streams events once enabled, and refuses the options DocumentDB does not have', async () => {
    const mongo = await start();
    await enable(mongo, 'app', 'orders');
    const orders = mongo.db('app').collection<{ _id: number; n?: number }>('orders');
    const stream = orders.watch([], { fullDocument: 'updateLookup' });
    const first = stream.tryNext();
    await orders.insertOne({ _id: 7, n: 1 });
    let event = await first;
    for (let attempt = 0; event === null && attempt < 20; attempt += 1) event = await stream.tryNext();
    expect(event).toMatchObject({ operationType: 'insert', fullDocument: { _id: 7, n: 1 } });
    await stream.close();

    for (const option of [{ showExpandedEvents: false }, { fullDocumentBeforeChange: 'whenAvailable' }]) {
      const refused = await openError(mongo, 'app', 'orders', option);
      expect(refused.code).toBe(303);
    }
    expect((await openError(mongo, 'app', 'orders', { fullDocument: 'whenAvailable' })).code).toBe(303);
  });

  it('loses history older than the retention: resuming from before it fails with 286', async () => {
    const mongo = await start({ changeStreamRetentionSeconds: 1 });
    await enable(mongo, 'app', '');
    const orders = mongo.db('app').collection<{ _id: number; n?: number }>('orders');
    const before = await mongo
      .db('app')
      .command({ aggregate: 1, pipeline: [{ $changeStream: {} }], cursor: {} });
    const token = before.cursor.postBatchResumeToken as Document;
    await orders.insertOne({ _id: 1 });
    await new Promise((resolve) => setTimeout(resolve, 2_200));
    const resumed = await openError(mongo, 'app', 1, { resumeAfter: token });
    expect(resumed.code).toBe(286);
  });

  it('answers hello and buildInfo as DocumentDB 5.0, without getCmdLineOpts or retryable writes', async () => {
    const mongo = await start();
    const admin = mongo.db('admin');
    const hello = await admin.command({ hello: 1 });
    expect(hello).toMatchObject({ setName: 'rs0', maxWireVersion: 13 });
    expect(hello.msg).toBeUndefined();
    expect(await admin.command({ buildInfo: 1 })).toMatchObject({
      version: '5.0.0',
      versionArray: [5, 0, 0, 0],
    });
    await expect(admin.command({ getCmdLineOpts: 1 })).rejects.toMatchObject({ code: 59 });

    const retrying = new MongoClient(replicaSet?.uri as string, { serverSelectionTimeoutMS: 5_000 });
    try {
      await expect(
        retrying.db('app').collection<{ _id: number; n?: number }>('orders').insertOne({ _id: 2 }),
      ).rejects.toMatchObject({
        code: 301,
        message: 'Retryable writes are not supported',
      });
    } finally {
      await retrying.close();
    }
    await expect(
      mongo.db('app').collection<{ _id: number; n?: number }>('orders').insertOne({ _id: 2 }),
    ).resolves.toBeTruthy();
  });
});

/**
 * White-box tests of change stream cursors: events and their fields, images, transactions, the
 * user pipeline and batching (the driver-level tests are in driver-*.test.ts).
 */
import { type Document, Long, Timestamp, UUID } from 'bson';
import { describe, expect, it } from 'vitest';
import { decodeResumeToken } from '../../../simulator/changestreams/resume-token.js';
import { ctx, expectCommandError, insert, next, types, useStreamEnv, watch } from './stream-fixture.js';

describe('change stream cursor', () => {
  const env = useStreamEnv();

  it('reports inserts after the stream opened, with the 7.0 field order', async () => {
    insert(env, { _id: 0, before: true });
    const cursor = watch(env);
    const first = await next(cursor);
    expect(first.documents).toEqual([]);
    expect(first.postBatchResumeToken?._data).toMatch(/^82/);
    insert(env, { _id: 1, item: 'pen' });
    const batch = await next(cursor);
    expect(types(batch)).toEqual(['insert']);
    const event = batch.documents[0] as Document;
    expect(Object.keys(event)).toEqual([
      '_id',
      'operationType',
      'clusterTime',
      'wallTime',
      'fullDocument',
      'ns',
      'documentKey',
    ]);
    expect(event.fullDocument).toEqual({ _id: 1, item: 'pen' });
    expect(event.ns).toEqual({ db: 'shop', coll: 'orders' });
    expect(event.documentKey).toEqual({ _id: 1 });
    expect(batch.postBatchResumeToken).toEqual(event._id);
    const token = decodeResumeToken(event._id);
    expect(token.uuid?.equals(env.ordersUuid)).toBe(true);
    expect(token.eventIdentifier).toEqual({ operationType: 'insert', documentKey: { _id: 1 } });
  });

  it('turns $v:2 updates into updateDescription, and replacements into replace events', async () => {
    const cursor = watch(env, { fullDocument: 'updateLookup' });
    insert(env, { _id: 1, qty: 1, tags: ['a', 'b', 'c'] });
    env.catalog.getByNs('shop.orders')?.replace({ _id: 1, qty: 2, tags: ['a'] });
    env.oplog.append([
      {
        op: 'u',
        ns: 'shop.orders',
        ui: env.ordersUuid,
        o: { $v: 2, diff: { u: { qty: 2 }, stags: { a: true, l: 1 } } },
        o2: { _id: 1 },
      },
      { op: 'u', ns: 'shop.orders', ui: env.ordersUuid, o: { _id: 1, fresh: true }, o2: { _id: 1 } },
    ]);
    const batch = await next(cursor);
    expect(types(batch)).toEqual(['insert', 'update', 'replace']);
    const update = batch.documents[1] as Document;
    expect(update.updateDescription).toEqual({
      updatedFields: { qty: 2 },
      removedFields: [],
      truncatedArrays: [{ field: 'tags', newSize: 1 }],
    });
    expect(update.fullDocument).toEqual({ _id: 1, qty: 2, tags: ['a'] });
    expect(Object.keys(update).indexOf('fullDocument')).toBe(Object.keys(update).indexOf('wallTime') + 1);
    expect(batch.documents[2]?.fullDocument).toEqual({ _id: 1, fresh: true });
  });

  it('adds pre-images and computes post-images from them', async () => {
    const cursor = watch(env, { fullDocument: 'whenAvailable', fullDocumentBeforeChange: 'whenAvailable' });
    env.oplog.append([
      {
        op: 'u',
        ns: 'shop.orders',
        ui: env.ordersUuid,
        o: { $v: 2, diff: { u: { qty: 5 } } },
        o2: { _id: 7 },
        preImage: { _id: 7, qty: 4 },
      },
      { op: 'd', ns: 'shop.orders', ui: env.ordersUuid, o: { _id: 8 } },
    ]);
    const batch = await next(cursor);
    expect(batch.documents[0]?.fullDocument).toEqual({ _id: 7, qty: 5 });
    expect(batch.documents[0]?.fullDocumentBeforeChange).toEqual({ _id: 7, qty: 4 });
    expect(batch.documents[1]?.fullDocumentBeforeChange).toBeNull();
    const strict = watch(env, { fullDocumentBeforeChange: 'required' });
    env.oplog.append([{ op: 'd', ns: 'shop.orders', ui: env.ordersUuid, o: { _id: 9 } }]);
    await expectCommandError(() => next(strict), 47);
  });

  it('unwinds a transaction into events with one clusterTime and increasing txnOpIndex', async () => {
    const cursor = watch(env);
    const lsid = { id: new UUID() };
    env.oplog.append([
      {
        op: 'c',
        ns: 'admin.$cmd',
        o: {
          applyOps: [
            { op: 'i', ns: 'shop.orders', ui: env.ordersUuid, o: { _id: 'a' }, o2: { _id: 'a' } },
            { op: 'i', ns: 'shop.other', ui: new UUID(), o: { _id: 'x' }, o2: { _id: 'x' } },
            { op: 'd', ns: 'shop.orders', ui: env.ordersUuid, o: { _id: 'b' } },
          ],
        },
        lsid,
        txnNumber: Long.fromNumber(3),
      },
    ]);
    const batch = await next(cursor);
    expect(types(batch)).toEqual(['insert', 'delete']);
    const [first, second] = batch.documents as [Document, Document];
    expect(Object.keys(first).slice(0, 3)).toEqual(['txnNumber', 'lsid', '_id']);
    expect(first.clusterTime).toEqual(second.clusterTime);
    expect(decodeResumeToken(first._id).txnOpIndex).toBe(0);
    expect(decodeResumeToken(second._id).txnOpIndex).toBe(2);
    expect(first._id._data < second._id._data).toBe(true);
  });

  it('waits for the first event up to maxAwaitTimeMS', async () => {
    const cursor = watch(env);
    await next(cursor);
    const pending = cursor.nextBatch(undefined, 5_000);
    setTimeout(() => insert(env, { _id: 'late' }), 5);
    expect((await pending).documents.map((event) => event.documentKey._id)).toEqual(['late']);
  });

  it('applies the user pipeline and refuses events whose _id was changed', async () => {
    const filtered = watch(env, {}, [
      { $match: { 'fullDocument.keep': true } },
      { $project: { documentKey: 1 } },
    ]);
    const broken = watch(env, {}, [{ $project: { _id: 0 } }]);
    insert(env, { _id: 1, keep: false });
    insert(env, { _id: 2, keep: true });
    const batch = await next(filtered);
    expect(batch.documents).toHaveLength(1);
    expect(Object.keys(batch.documents[0] as Document)).toEqual(['_id', 'documentKey']);
    await expectCommandError(() => next(broken), 280);
    await expectCommandError(() => watch(env, {}, [{ $group: { _id: null } }]), 20);
    await expectCommandError(() => watch(env, {}, [{ $unsupported: {} }]), 40324);
  });

  it('runs a replication-style pipeline: $match on ns and operation type, then $project', async () => {
    const otherUuid = env.catalog.create('shop', 'other').uuid;
    const cursor = watch(
      env,
      { fullDocument: 'updateLookup' },
      [
        { $match: { ns: { $in: [{ db: 'shop', coll: 'orders' }] }, operationType: { $nin: ['delete'] } } },
        { $project: { operationType: 1, ns: 1, documentKey: 1, fullDocument: 1, clusterTime: 1 } },
      ],
      null,
    );
    insert(env, { _id: 1, keep: true });
    insert(env, { _id: 2 }, 'shop.other', otherUuid);
    env.oplog.append([{ op: 'd', ns: 'shop.orders', ui: env.ordersUuid, o: { _id: 1 } }]);
    const batch = await next(cursor);
    expect(batch.documents).toHaveLength(1);
    expect(Object.keys(batch.documents[0] as Document)).toEqual([
      '_id',
      'operationType',
      'clusterTime',
      'fullDocument',
      'ns',
      'documentKey',
    ]);
    // Numbers come back typed (Int32) as the wire would carry them.
    expect(JSON.parse(JSON.stringify(batch.documents[0]?.fullDocument))).toEqual({ _id: 1, keep: true });
  });

  it('validates the $changeStream stage and the namespace', async () => {
    await expectCommandError(() => watch(env, { bogus: 1 }), 40415);
    await expectCommandError(() => watch(env, { fullDocument: 'sometimes' }), 2);
    await expectCommandError(() => watch(env, { resumeAfter: { _data: 'zz' } }), 260);
    await expectCommandError(
      () => env.open({ ...ctx, db: 'admin' }, { db: 'admin', collection: null }, {}, []),
      73,
    );
    const cluster = env.open(
      { ...ctx, db: 'admin' },
      { db: 'admin', collection: null },
      { allChangesForCluster: true },
      [],
    );
    expect(cluster.ns).toBe('admin.$cmd.aggregate');
  });

  it('reads a long backlog of unrelated entries in chunks and still finds the event', async () => {
    const cursor = watch(env);
    const otherUuid = env.catalog.create('shop', 'other').uuid;
    for (let id = 0; id < 2500; id += 1) insert(env, { _id: id }, 'shop.other', otherUuid);
    insert(env, { _id: 'mine' });
    const batch = await next(cursor);
    expect(batch.documents.map((event) => event.documentKey._id)).toEqual(['mine']);
  });

  it('returns batches of batchSize and keeps the rest for the next getMore', async () => {
    const cursor = watch(env);
    for (let id = 0; id < 5; id += 1) insert(env, { _id: id });
    const first = await next(cursor, 2);
    expect(first.documents.map((event) => event.documentKey._id)).toEqual([0, 1]);
    expect(first.postBatchResumeToken).toEqual(first.documents[1]?._id);
    const rest = await next(cursor, 10);
    expect(rest.documents.map((event) => event.documentKey._id)).toEqual([2, 3, 4]);
    expect(new Timestamp(rest.documents[2]?.clusterTime).equals(env.oplog.latest()?.ts as Timestamp)).toBe(
      true,
    );
  });
});

/**
 * White-box tests of where change streams start and end: resume tokens, operation times, the
 * high-water mark, history loss, invalidation and DDL events.
 */
import { type Document, Long, type Timestamp, UUID } from 'bson';
import { describe, expect, it } from 'vitest';
import { decodeResumeToken } from '../../../simulator/changestreams/resume-token.js';
import { ctx, expectCommandError, insert, next, types, useStreamEnv, watch } from './stream-fixture.js';

describe('change stream positions and invalidation', () => {
  const env = useStreamEnv();

  it('resumes after a token, from an operation time, and fails when the token is not in the oplog', async () => {
    const cursor = watch(env);
    insert(env, { _id: 1 });
    insert(env, { _id: 2 });
    insert(env, { _id: 3 });
    const events = (await next(cursor)).documents;
    const resumed = watch(env, { resumeAfter: events[0]?._id });
    expect((await next(resumed)).documents.map((event) => event.documentKey._id)).toEqual([2, 3]);
    const fromTime = watch(env, { startAtOperationTime: events[1]?.clusterTime });
    expect((await next(fromTime)).documents.map((event) => event.documentKey._id)).toEqual([2, 3]);
    const forged = decodeResumeToken(events[1]?._id);
    const { encodeResumeToken } = await import('../../../simulator/changestreams/resume-token.js');
    const missing = encodeResumeToken({
      ...forged,
      eventIdentifier: { operationType: 'insert', documentKey: { _id: 99 } },
    });
    await expectCommandError(() => next(watch(env, { resumeAfter: missing })), 280);
  });

  it('carries _typeBits for long and double keys through the user pipeline and resume', async () => {
    const cursor = watch(env, {}, [{ $project: { documentKey: 1 } }]);
    insert(env, { _id: Long.fromNumber(5) });
    insert(env, { _id: 2.5 });
    insert(env, { _id: 'last' });
    const batch = await next(cursor);
    expect(batch.documents.map((event) => Boolean(event._id._typeBits))).toEqual([true, true, false]);
    const resumed = watch(env, { resumeAfter: batch.documents[0]?._id });
    expect((await next(resumed)).documents.map((event) => event.documentKey._id)).toEqual([2.5, 'last']);
  });

  it('advances postBatchResumeToken over no-op entries while idle', async () => {
    const cursor = watch(env);
    const first = await next(cursor);
    env.oplog.append([{ op: 'n', ns: '', o: { msg: 'periodic noop' } }]);
    env.oplog.append([{ op: 'n', ns: '', o: { msg: 'periodic noop' } }]);
    const second = await next(cursor);
    expect(second.documents).toEqual([]);
    expect((second.postBatchResumeToken?._data ?? '') > (first.postBatchResumeToken?._data ?? '')).toBe(true);
    const resumed = watch(env, { resumeAfter: second.postBatchResumeToken });
    insert(env, { _id: 'after' });
    expect((await next(resumed)).documents.map((event) => event.documentKey._id)).toEqual(['after']);
  });

  it('raises 286 when the resume point fell off the oplog', async () => {
    insert(env, { _id: 1 });
    const start = env.oplog.latest()?.ts as Timestamp;
    const cursor = watch(env, { startAtOperationTime: start });
    insert(env, { _id: 2 });
    insert(env, { _id: 3 });
    env.oplog.truncateBefore(env.oplog.latest()?.ts as Timestamp);
    await expectCommandError(() => watch(env, { startAtOperationTime: start }), 286);
    await expectCommandError(() => next(cursor), 286);
  });

  it('ends a collection stream with drop + invalidate; startAfter the invalidate opens a new one', async () => {
    const cursor = watch(env);
    env.oplog.append([{ op: 'c', ns: 'shop.$cmd', ui: env.ordersUuid, o: { drop: 'orders' } }]);
    const batch = await next(cursor);
    expect(types(batch)).toEqual(['drop', 'invalidate']);
    expect(batch.exhausted).toBe(true);
    const invalidate = batch.documents[1] as Document;
    expect(batch.postBatchResumeToken).toEqual(invalidate._id);
    expect(decodeResumeToken(invalidate._id).fromInvalidate).toBe(true);
    await expectCommandError(() => watch(env, { resumeAfter: invalidate._id }), 260);
    const reopened = watch(env, { startAfter: invalidate._id });
    const newUuid = env.catalog.create('shop', 'orders2').uuid;
    env.oplog.append([{ op: 'i', ns: 'shop.orders', ui: newUuid, o: { _id: 'new' }, o2: { _id: 'new' } }]);
    const after = await next(reopened);
    expect(types(after)).toEqual(['insert']);
    expect(after.exhausted).toBe(false);
    const resumedAtDrop = watch(env, { resumeAfter: batch.documents[0]?._id });
    expect(types(await next(resumedAtDrop))).toEqual(['invalidate']);
  });

  it('reports rename with `to`, and dropDatabase + invalidate on database streams', async () => {
    const collectionStream = watch(env);
    const databaseStream = watch(env, {}, [], null);
    const renameEntry = { renameCollection: 'shop.orders', to: 'shop.archive', stayTemp: false };
    env.oplog.append([
      { op: 'c', ns: 'shop.$cmd', ui: env.ordersUuid, o: renameEntry },
      { op: 'c', ns: 'shop.$cmd', o: { dropDatabase: 1 } },
    ]);
    const renamed = await next(collectionStream);
    expect(types(renamed)).toEqual(['rename', 'invalidate']);
    expect(renamed.documents[0]?.to).toEqual({ db: 'shop', coll: 'archive' });
    const dbBatch = await next(databaseStream);
    expect(types(dbBatch)).toEqual(['rename', 'dropDatabase', 'invalidate']);
    expect(dbBatch.documents[1]?.ns).toEqual({ db: 'shop' });
    expect(dbBatch.exhausted).toBe(true);
  });

  it('a database stream sees a rename into it from another database', async () => {
    const vault = env.open({ ...ctx, db: 'vault' }, { db: 'vault', collection: null }, {}, []);
    const rename = { renameCollection: 'shop.orders', to: 'vault.orders', stayTemp: false };
    env.oplog.append([{ op: 'c', ns: 'shop.$cmd', ui: env.ordersUuid, o: rename }]);
    const batch = await next(vault);
    expect(types(batch)).toEqual(['rename']);
    expect(batch.documents[0]?.to).toEqual({ db: 'vault', coll: 'orders' });
    expect(batch.exhausted).toBe(false);
  });

  it('shows DDL events only with showExpandedEvents, index builds at commit', async () => {
    const plain = watch(env);
    const expanded = watch(env, { showExpandedEvents: true });
    const spec = { v: 2, key: { sku: 1 }, name: 'sku_1' };
    env.oplog.append([
      {
        op: 'c',
        ns: 'shop.$cmd',
        ui: env.ordersUuid,
        o: { startIndexBuild: 'orders', indexBuildUUID: new UUID(), indexes: [spec] },
      },
      {
        op: 'c',
        ns: 'shop.$cmd',
        ui: env.ordersUuid,
        o: { commitIndexBuild: 'orders', indexBuildUUID: new UUID(), indexes: [spec] },
      },
      {
        op: 'c',
        ns: 'shop.$cmd',
        ui: env.ordersUuid,
        o: { collMod: 'orders', validationLevel: 'off' },
        o2: { collectionOptions_old: {} },
      },
    ]);
    expect(types(await next(plain))).toEqual([]);
    const batch = await next(expanded);
    expect(types(batch)).toEqual(['createIndexes', 'modify']);
    expect(batch.documents[0]?.operationDescription).toEqual({ indexes: [spec] });
    expect(batch.documents[0]?.collectionUUID).toEqual(env.ordersUuid);
  });
});

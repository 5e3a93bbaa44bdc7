/**
 * White-box tests of change stream cursors over the real oplog and catalog, with writes appended
 * the way STORAGE appends them (the driver-level tests are in driver-streams.test.ts).
 */
import { type Document, Long, Timestamp, UUID } from 'bson';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createChangeStreamOpener, type OpenChangeStream } from '../../../simulator/changestreams/index.js';
import { decodeResumeToken } from '../../../simulator/changestreams/resume-token.js';
import {
  type CommandContext,
  CommandError,
  type CursorBatch,
  type ServerCursor,
} from '../../../simulator/contract.js';
import { ClusterClockImpl } from '../../../simulator/oplog/clock.js';
import { Oplog } from '../../../simulator/oplog/oplog.js';
import { Catalog } from '../../../simulator/storage/catalog.js';
import { CursorRegistryImpl } from '../../../simulator/storage/cursors.js';

const ctx: CommandContext = {
  db: 'shop',
  name: 'aggregate',
  body: {},
  memberName: '127.0.0.1:1',
  memberState: 'PRIMARY',
  connectionId: 1,
};

let clock: ClusterClockImpl;
let oplog: Oplog;
let catalog: Catalog;
let open: OpenChangeStream;
let ordersUuid: UUID;

beforeEach(() => {
  clock = new ClusterClockImpl();
  oplog = new Oplog({ clock, term: () => Long.fromNumber(1) });
  catalog = new Catalog();
  ordersUuid = catalog.create('shop', 'orders').uuid;
  open = createChangeStreamOpener({ oplog, catalog, cursors: new CursorRegistryImpl(), clock });
});

afterEach(() => oplog.close());

function watch(
  options: Document = {},
  pipeline: Document[] = [],
  collection: string | null = 'orders',
): ServerCursor {
  return open(ctx, { db: 'shop', collection }, options, pipeline);
}

function insert(doc: Document, ns = 'shop.orders', ui: UUID = ordersUuid): void {
  catalog.getByNs(ns)?.insert(doc);
  oplog.append([{ op: 'i', ns, ui, o: doc, o2: { _id: doc._id } }]);
}

async function next(cursor: ServerCursor, batchSize?: number): Promise<CursorBatch> {
  return cursor.nextBatch(batchSize, 0);
}

function types(batch: CursorBatch): string[] {
  return batch.documents.map((event) => event.operationType);
}

async function expectCommandError(action: () => unknown, code: number): Promise<void> {
  try {
    await action();
  } catch (error) {
    expect(error).toBeInstanceOf(CommandError);
    expect((error as CommandError).code).toBe(code);
    return;
  }
  expect.unreachable(`expected error ${code}`);
}

describe('change stream cursor', () => {
  it('reports inserts after the stream opened, with the 7.0 field order', async () => {
    insert({ _id: 0, before: true });
    const cursor = watch();
    const first = await next(cursor);
    expect(first.documents).toEqual([]);
    expect(first.postBatchResumeToken?._data).toMatch(/^82/);
    insert({ _id: 1, item: 'pen' });
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
    expect(token.uuid?.equals(ordersUuid)).toBe(true);
    expect(token.eventIdentifier).toEqual({ operationType: 'insert', documentKey: { _id: 1 } });
  });

  it('turns $v:2 updates into updateDescription, and replacements into replace events', async () => {
    const cursor = watch({ fullDocument: 'updateLookup' });
    insert({ _id: 1, qty: 1, tags: ['a', 'b', 'c'] });
    catalog.getByNs('shop.orders')?.replace({ _id: 1, qty: 2, tags: ['a'] });
    oplog.append([
      {
        op: 'u',
        ns: 'shop.orders',
        ui: ordersUuid,
        o: { $v: 2, diff: { u: { qty: 2 }, stags: { a: true, l: 1 } } },
        o2: { _id: 1 },
      },
      { op: 'u', ns: 'shop.orders', ui: ordersUuid, o: { _id: 1, fresh: true }, o2: { _id: 1 } },
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
    const cursor = watch({ fullDocument: 'whenAvailable', fullDocumentBeforeChange: 'whenAvailable' });
    oplog.append([
      {
        op: 'u',
        ns: 'shop.orders',
        ui: ordersUuid,
        o: { $v: 2, diff: { u: { qty: 5 } } },
        o2: { _id: 7 },
        preImage: { _id: 7, qty: 4 },
      },
      { op: 'd', ns: 'shop.orders', ui: ordersUuid, o: { _id: 8 } },
    ]);
    const batch = await next(cursor);
    expect(batch.documents[0]?.fullDocument).toEqual({ _id: 7, qty: 5 });
    expect(batch.documents[0]?.fullDocumentBeforeChange).toEqual({ _id: 7, qty: 4 });
    expect(batch.documents[1]?.fullDocumentBeforeChange).toBeNull();
    const strict = watch({ fullDocumentBeforeChange: 'required' });
    oplog.append([{ op: 'd', ns: 'shop.orders', ui: ordersUuid, o: { _id: 9 } }]);
    await expectCommandError(() => next(strict), 47);
  });

  it('unwinds a transaction into events with one clusterTime and increasing txnOpIndex', async () => {
    const cursor = watch();
    const lsid = { id: new UUID() };
    oplog.append([
      {
        op: 'c',
        ns: 'admin.$cmd',
        o: {
          applyOps: [
            { op: 'i', ns: 'shop.orders', ui: ordersUuid, o: { _id: 'a' }, o2: { _id: 'a' } },
            { op: 'i', ns: 'shop.other', ui: new UUID(), o: { _id: 'x' }, o2: { _id: 'x' } },
            { op: 'd', ns: 'shop.orders', ui: ordersUuid, o: { _id: 'b' } },
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

  it('resumes after a token, from an operation time, and fails when the token is not in the oplog', async () => {
    const cursor = watch();
    insert({ _id: 1 });
    insert({ _id: 2 });
    insert({ _id: 3 });
    const events = (await next(cursor)).documents;
    const resumed = watch({ resumeAfter: events[0]?._id });
    expect((await next(resumed)).documents.map((event) => event.documentKey._id)).toEqual([2, 3]);
    const fromTime = watch({ startAtOperationTime: events[1]?.clusterTime });
    expect((await next(fromTime)).documents.map((event) => event.documentKey._id)).toEqual([2, 3]);
    const forged = decodeResumeToken(events[1]?._id);
    const { encodeResumeToken } = await import('../../../simulator/changestreams/resume-token.js');
    const missing = encodeResumeToken({
      ...forged,
      eventIdentifier: { operationType: 'insert', documentKey: { _id: 99 } },
    });
    await expectCommandError(() => next(watch({ resumeAfter: missing })), 280);
  });

  it('advances postBatchResumeToken over no-op entries while idle', async () => {
    const cursor = watch();
    const first = await next(cursor);
    oplog.append([{ op: 'n', ns: '', o: { msg: 'periodic noop' } }]);
    oplog.append([{ op: 'n', ns: '', o: { msg: 'periodic noop' } }]);
    const second = await next(cursor);
    expect(second.documents).toEqual([]);
    expect((second.postBatchResumeToken?._data ?? '') > (first.postBatchResumeToken?._data ?? '')).toBe(true);
    const resumed = watch({ resumeAfter: second.postBatchResumeToken });
    insert({ _id: 'after' });
    expect((await next(resumed)).documents.map((event) => event.documentKey._id)).toEqual(['after']);
  });

  it('waits for the first event up to maxAwaitTimeMS', async () => {
    const cursor = watch();
    await next(cursor);
    const pending = cursor.nextBatch(undefined, 5_000);
    setTimeout(() => insert({ _id: 'late' }), 5);
    expect((await pending).documents.map((event) => event.documentKey._id)).toEqual(['late']);
  });

  it('raises 286 when the resume point fell off the oplog', async () => {
    insert({ _id: 1 });
    const start = oplog.latest()?.ts as Timestamp;
    const cursor = watch({ startAtOperationTime: start });
    insert({ _id: 2 });
    insert({ _id: 3 });
    oplog.truncateBefore(oplog.latest()?.ts as Timestamp);
    await expectCommandError(() => watch({ startAtOperationTime: start }), 286);
    await expectCommandError(() => next(cursor), 286);
  });

  it('ends a collection stream with drop + invalidate; startAfter the invalidate opens a new one', async () => {
    const cursor = watch();
    oplog.append([{ op: 'c', ns: 'shop.$cmd', ui: ordersUuid, o: { drop: 'orders' } }]);
    const batch = await next(cursor);
    expect(types(batch)).toEqual(['drop', 'invalidate']);
    expect(batch.exhausted).toBe(true);
    const invalidate = batch.documents[1] as Document;
    expect(batch.postBatchResumeToken).toEqual(invalidate._id);
    expect(decodeResumeToken(invalidate._id).fromInvalidate).toBe(true);
    await expectCommandError(() => watch({ resumeAfter: invalidate._id }), 260);
    const reopened = watch({ startAfter: invalidate._id });
    const newUuid = catalog.create('shop', 'orders2').uuid;
    oplog.append([{ op: 'i', ns: 'shop.orders', ui: newUuid, o: { _id: 'new' }, o2: { _id: 'new' } }]);
    const after = await next(reopened);
    expect(types(after)).toEqual(['insert']);
    expect(after.exhausted).toBe(false);
    const resumedAtDrop = watch({ resumeAfter: batch.documents[0]?._id });
    expect(types(await next(resumedAtDrop))).toEqual(['invalidate']);
  });

  it('reports rename with `to`, and dropDatabase + invalidate on database streams', async () => {
    const collectionStream = watch();
    const databaseStream = watch({}, [], null);
    const renameEntry = { renameCollection: 'shop.orders', to: 'shop.archive', stayTemp: false };
    oplog.append([
      { op: 'c', ns: 'shop.$cmd', ui: ordersUuid, o: renameEntry },
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

  it('shows DDL events only with showExpandedEvents, index builds at commit', async () => {
    const plain = watch();
    const expanded = watch({ showExpandedEvents: true });
    const spec = { v: 2, key: { sku: 1 }, name: 'sku_1' };
    oplog.append([
      {
        op: 'c',
        ns: 'shop.$cmd',
        ui: ordersUuid,
        o: { startIndexBuild: 'orders', indexBuildUUID: new UUID(), indexes: [spec] },
      },
      {
        op: 'c',
        ns: 'shop.$cmd',
        ui: ordersUuid,
        o: { commitIndexBuild: 'orders', indexBuildUUID: new UUID(), indexes: [spec] },
      },
      {
        op: 'c',
        ns: 'shop.$cmd',
        ui: ordersUuid,
        o: { collMod: 'orders', validationLevel: 'off' },
        o2: { collectionOptions_old: {} },
      },
    ]);
    expect(types(await next(plain))).toEqual([]);
    const batch = await next(expanded);
    expect(types(batch)).toEqual(['createIndexes', 'modify']);
    expect(batch.documents[0]?.operationDescription).toEqual({ indexes: [spec] });
    expect(batch.documents[0]?.collectionUUID).toEqual(ordersUuid);
  });

  it('applies the user pipeline and refuses events whose _id was changed', async () => {
    const filtered = watch({}, [{ $match: { 'fullDocument.keep': true } }, { $project: { documentKey: 1 } }]);
    const broken = watch({}, [{ $project: { _id: 0 } }]);
    insert({ _id: 1, keep: false });
    insert({ _id: 2, keep: true });
    const batch = await next(filtered);
    expect(batch.documents).toHaveLength(1);
    expect(Object.keys(batch.documents[0] as Document)).toEqual(['_id', 'documentKey']);
    await expectCommandError(() => next(broken), 280);
    await expectCommandError(() => watch({}, [{ $group: { _id: null } }]), 20);
  });

  it('validates the $changeStream stage and the namespace', async () => {
    await expectCommandError(() => watch({ bogus: 1 }), 40415);
    await expectCommandError(() => watch({ fullDocument: 'sometimes' }), 2);
    await expectCommandError(() => watch({ resumeAfter: { _data: 'zz' } }), 260);
    await expectCommandError(
      () => open({ ...ctx, db: 'admin' }, { db: 'admin', collection: null }, {}, []),
      73,
    );
    const cluster = open(
      { ...ctx, db: 'admin' },
      { db: 'admin', collection: null },
      { allChangesForCluster: true },
      [],
    );
    expect(cluster.ns).toBe('admin.$cmd.aggregate');
  });

  it('reads a long backlog of unrelated entries in chunks and still finds the event', async () => {
    const cursor = watch();
    const otherUuid = catalog.create('shop', 'other').uuid;
    for (let id = 0; id < 2500; id += 1) insert({ _id: id }, 'shop.other', otherUuid);
    insert({ _id: 'mine' });
    const batch = await next(cursor);
    expect(batch.documents.map((event) => event.documentKey._id)).toEqual(['mine']);
  });

  it('returns batches of batchSize and keeps the rest for the next getMore', async () => {
    const cursor = watch();
    for (let id = 0; id < 5; id += 1) insert({ _id: id });
    const first = await next(cursor, 2);
    expect(first.documents.map((event) => event.documentKey._id)).toEqual([0, 1]);
    expect(first.postBatchResumeToken).toEqual(first.documents[1]?._id);
    const rest = await next(cursor, 10);
    expect(rest.documents.map((event) => event.documentKey._id)).toEqual([2, 3, 4]);
    expect(new Timestamp(rest.documents[2]?.clusterTime).equals(oplog.latest()?.ts as Timestamp)).toBe(true);
  });
});

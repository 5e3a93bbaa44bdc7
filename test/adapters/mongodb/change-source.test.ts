import { type Collection, type Document, Timestamp } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MongoChangeSource } from '../../../functions/adapters/mongodb/change-source.js';
import { ChangeStreamHistoryLostError } from '../../../functions/core/errors.js';
import { changeEventRow } from '../../../functions/core/rows.js';
import type {
  ChangeBatch,
  ChangeBatchRequest,
  SourceNamespace,
  StartPointInput,
} from '../../../functions/ports/source.js';
import { recordingLog } from '../../support/log.js';
import { decodedEvent } from '../../support/raw-change-events.js';
import { type SourceFixture, startSource } from './fixtures.js';

const DB = 'cdc';
let source: SourceFixture;
const logged = recordingLog();

function changeSource(
  coll: string,
  extra: { excludedOperationTypes?: string[]; namespaces?: SourceNamespace[] } = {},
) {
  return new MongoChangeSource(source.client, {
    namespaces: extra.namespaces ?? [{ db: DB, coll }],
    ...(extra.excludedOperationTypes ? { excludedOperationTypes: extra.excludedOperationTypes } : {}),
    log: logged.log,
  });
}

function request(
  from: { token?: string; start?: StartPointInput },
  limits: Partial<ChangeBatchRequest> = {},
): ChangeBatchRequest {
  return {
    resumePoint: from.token ? { token: from.token, clusterTime: null } : null,
    startPoint: from.start ?? null,
    maxEvents: 1000,
    maxBytes: 16 << 20,
    maxWaitMs: 300,
    deadline: Date.now() + 10_000,
    ...limits,
  };
}

const collection = (name: string): Collection<Document> => source.client.db(DB).collection(name);

beforeAll(async () => {
  source = await startSource({ noopIntervalMs: 100 });
  for (const name of [
    'orders',
    'txn',
    'excl',
    'idle',
    'gone',
    'moved',
    'other',
    'lost',
    'fallback',
    'indexed',
  ]) {
    await source.client.db(DB).createCollection(name);
  }
}, 60_000);

afterAll(async () => {
  await source?.stop();
});

describe('MongoChangeSource', () => {
  it('turns insert, update, replace and delete into row events from the recorded start point', async () => {
    const reader = changeSource('orders');
    const start = await reader.captureStartPoint();
    expect(start.token).not.toBeNull();
    await collection('orders').insertOne({ _id: 1 as never, status: 'new', big: 'b'.repeat(1000) });
    await collection('orders').updateOne({ _id: 1 as never }, { $set: { status: 'paid' } });
    await collection('orders').replaceOne({ _id: 1 as never }, { status: 'replaced' });
    await collection('orders').deleteOne({ _id: 1 as never });
    await collection('other').insertOne({ _id: 9 as never });
    const batch = await reader.readBatch(request({ start }));
    expect(batch.resumedWith).toBe('start-point-token');
    expect(batch.events.map((event) => event.operationType)).toEqual([
      'insert',
      'update',
      'replace',
      'delete',
    ]);
    const rows = batch.events.map((event) => changeEventRow('orders', decodedEvent(event)));
    // The update's lookup runs when the batch is read, after the delete: nothing to look up, so no row
    // (the delete that follows writes the tombstone).
    expect(
      rows.map((row) => row && [row._id, row._peerdb_is_deleted, JSON.parse(row.doc).status ?? null]),
    ).toEqual([['1', 0, 'new'], null, ['1', 0, 'replaced'], ['1', 1, null]]);
    expect(batch.bytes).toBeGreaterThan(1000);
    expect(batch.lastEventClusterTime).not.toBeNull();
    expect(logged.lines).toContainEqual({
      level: 'info',
      message: 'change stream opened with start-point-token',
      detail: { resumeMethod: 'start-point-token' },
    });

    await collection('orders').insertMany([{ _id: 2 as never }, { _id: 3 as never }]);
    const next = await reader.readBatch(request({ token: batch.resumeToken }));
    expect(next.resumedWith).toBe('resume-token');
    expect(next.events.map((event) => decodedEvent(event).documentKey?._id)).toEqual([
      expect.objectContaining({ value: 2 }),
      expect.objectContaining({ value: 3 }),
    ]);
  });

  it('stops at maxEvents and resumes exactly after the last event returned', async () => {
    const reader = changeSource('orders');
    const start = await reader.captureStartPoint();
    await collection('orders').insertMany([10, 11, 12, 13, 14].map((id) => ({ _id: id as never })));
    const first = await reader.readBatch(request({ start }, { maxEvents: 2 }));
    expect(first.events).toHaveLength(2);
    const rest = await reader.readBatch(request({ token: first.resumeToken }));
    expect(
      [...first.events, ...rest.events].map((event) =>
        Number(decodedEvent(event).documentKey?._id?.valueOf()),
      ),
    ).toEqual([10, 11, 12, 13, 14]);
  });

  it('delivers a transaction as events sharing one cluster time', async () => {
    const reader = changeSource('txn');
    const start = await reader.captureStartPoint();
    const session = source.client.startSession();
    try {
      await session.withTransaction(async () => {
        await collection('txn').insertOne({ _id: 1 as never, v: 1 }, { session });
        await collection('txn').updateOne({ _id: 1 as never }, { $set: { v: 2 } }, { session });
        await collection('txn').insertOne({ _id: 2 as never, v: 1 }, { session });
      });
    } finally {
      await session.endSession();
    }
    const batch = await reader.readBatch(request({ start }));
    expect(batch.events.map((event) => event.operationType)).toEqual(['insert', 'update', 'insert']);
    const times = new Set(
      batch.events.map((event) => `${event.clusterTime.seconds}:${event.clusterTime.increment}`),
    );
    expect(times.size).toBe(1);
  });

  it('leaves out excluded operation types', async () => {
    const reader = changeSource('excl', { excludedOperationTypes: ['delete', 'update'] });
    const start = await reader.captureStartPoint();
    await collection('excl').insertOne({ _id: 1 as never });
    await collection('excl').updateOne({ _id: 1 as never }, { $set: { a: 1 } });
    await collection('excl').deleteOne({ _id: 1 as never });
    await collection('excl').insertOne({ _id: 2 as never });
    const batch = await reader.readBatch(request({ start }));
    expect(batch.events.map((event) => event.operationType)).toEqual(['insert', 'insert']);
  });

  it('advances the resume token while the collections are idle (post-batch resume token)', async () => {
    const reader = changeSource('idle');
    const start = await reader.captureStartPoint();
    let token = start.token as string;
    const startSeconds = (start.clusterTime?.seconds ?? 0) * 2 ** 32 + (start.clusterTime?.increment ?? 0);
    let advanced = false;
    for (let attempt = 0; attempt < 20 && !advanced; attempt++) {
      const batch: ChangeBatch = await reader.readBatch(request({ token }, { maxWaitMs: 300 }));
      expect(batch.events).toEqual([]);
      token = batch.resumeToken;
      advanced = batch.resumeClusterTime.seconds * 2 ** 32 + batch.resumeClusterTime.increment > startSeconds;
    }
    expect(advanced).toBe(true);
  });

  it('skips index builds (start, commit, abort) and index drops on a populated collection, and keeps the table', async () => {
    const reader = changeSource('indexed');
    await collection('indexed').insertMany([
      { _id: 1 as never, sku: 'a' },
      { _id: 2 as never, sku: 'a' },
    ]);
    const start = await reader.captureStartPoint();
    await collection('indexed').createIndex({ n: 1 }, { name: 'n_1' });
    await expect(
      collection('indexed').createIndex({ sku: 1 }, { unique: true, name: 'sku_1' }),
    ).rejects.toThrow(/duplicate key/);
    await collection('indexed').insertOne({ _id: 3 as never, sku: 'b' });
    await collection('indexed').dropIndex('n_1');
    await collection('indexed').updateOne({ _id: 3 as never }, { $set: { sku: 'c' } });
    const oplogCommands = source.rs.deployment.oplog
      .entriesAfter(
        new Timestamp({ t: start.clusterTime?.seconds ?? 0, i: start.clusterTime?.increment ?? 0 }),
      )
      .map((entry) => Object.keys((entry.o as Document) ?? {})[0]);
    expect(oplogCommands).toEqual(
      expect.arrayContaining(['startIndexBuild', 'commitIndexBuild', 'abortIndexBuild']),
    );
    const batch = await reader.readBatch(request({ start }));
    expect(
      batch.events.map((event) => [event.operationType, Number(decodedEvent(event).documentKey?._id)]),
    ).toEqual([
      ['insert', 3],
      ['update', 3],
    ]);
    expect(batch.tablesStopped).toEqual([]);
  });

  it('ends a batch once caught up under a steady write load, at a transaction boundary, and loses nothing', async () => {
    const reader = changeSource('steady');
    const start = await reader.captureStartPoint();
    let writing = true;
    let written = 0;
    const writer = (async () => {
      for (let n = 0; writing && n < 5_000; n += 1) {
        if (n % 10 === 0) {
          const session = source.client.startSession();
          await session.withTransaction(async () => {
            await collection('steady').insertOne({ _id: n as never, txn: true }, { session });
            await collection('steady').updateOne({ _id: n as never }, { $set: { txn: 2 } }, { session });
          });
          await session.endSession();
        } else await collection('steady').insertOne({ _id: n as never });
        written = n + 1;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    try {
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      const began = Date.now();
      const first = await reader.readBatch(
        request({ start }, { deadline: Date.now() + 15_000, maxWaitMs: 300, maxEvents: 100_000 }),
      );
      // Without the caught-up stop, a read under continuous writes runs until its deadline.
      expect(Date.now() - began).toBeLessThan(8_000);
      expect(first.events.length).toBeGreaterThan(0);
      const lastTime = first.events.at(-1)?.clusterTime;
      expect(first.resumeClusterTime).toEqual(lastTime);
      writing = false;
      await writer;
      const seen = first.events.map((event) => [
        event.operationType,
        Number(decodedEvent(event).documentKey?._id),
      ]);
      let token = first.resumeToken;
      for (let round = 0; round < 20; round += 1) {
        const next = await reader.readBatch(request({ token }, { maxWaitMs: 200 }));
        if (next.events.length === 0) break;
        seen.push(
          ...next.events.map((event) => [event.operationType, Number(decodedEvent(event).documentKey?._id)]),
        );
        token = next.resumeToken;
      }
      const expected = Array.from({ length: written }, (_, n) =>
        n % 10 === 0
          ? [
              ['insert', n],
              ['update', n],
            ]
          : [['insert', n]],
      ).flat();
      expect(seen).toEqual(expected);
    } finally {
      writing = false;
      await writer;
    }
  }, 60_000);

  it('reports drop and rename as stopped tables and carries on after them', async () => {
    const reader = changeSource('gone', {
      namespaces: [
        { db: DB, coll: 'gone' },
        { db: DB, coll: 'moved' },
      ],
    });
    const start = await reader.captureStartPoint();
    await collection('gone').insertOne({ _id: 1 as never });
    await collection('gone').drop();
    await collection('moved').insertOne({ _id: 1 as never });
    await collection('moved').rename('moved_new');
    const first = await reader.readBatch(request({ start }));
    expect(first.events.map((event) => event.ns.coll)).toEqual(['gone']);
    expect(first.tablesStopped).toEqual([
      {
        namespace: { db: DB, coll: 'gone' },
        operationType: 'drop',
        reason: `collection ${DB}.gone was dropped`,
      },
    ]);
    const second = await reader.readBatch(request({ token: first.resumeToken }));
    expect(second.events.map((event) => event.ns.coll)).toEqual(['moved']);
    expect(second.tablesStopped).toEqual([
      {
        namespace: { db: DB, coll: 'moved' },
        operationType: 'rename',
        reason: `collection ${DB}.moved was renamed to ${DB}.moved_new`,
      },
    ]);
  });

  it('follows collections of two databases on one cluster-wide stream and stops them on dropDatabase', async () => {
    const namespaces = [
      { db: 'cdc_a', coll: 'one' },
      { db: 'cdc_b', coll: 'two' },
    ];
    const reader = changeSource('', { namespaces });
    const start = await reader.captureStartPoint();
    await source.client
      .db('cdc_a')
      .collection('one')
      .insertOne({ _id: 1 as never });
    await source.client
      .db('cdc_b')
      .collection('two')
      .insertOne({ _id: 2 as never });
    await source.client
      .db('cdc_b')
      .collection('unmapped')
      .insertOne({ _id: 3 as never });
    await source.client.db('cdc_b').dropDatabase();
    await source.client
      .db('cdc_a')
      .collection('one')
      .insertOne({ _id: 4 as never });
    const batches: ChangeBatch[] = [];
    let from: { token?: string; start?: StartPointInput } = { start };
    for (let round = 0; round < 6; round++) {
      const batch = await reader.readBatch(request(from));
      batches.push(batch);
      from = { token: batch.resumeToken };
      if (batch.tablesStopped.length === 0) break;
    }
    const events = batches.flatMap((batch) => batch.events.map((event) => `${event.ns.db}.${event.ns.coll}`));
    expect(events).toEqual(['cdc_a.one', 'cdc_b.two', 'cdc_a.one']);
    const stopped = batches.flatMap((batch) => batch.tablesStopped);
    expect(stopped.length).toBeGreaterThan(0);
    expect(stopped.every((table) => table.namespace.db === 'cdc_b')).toBe(true);
    expect(stopped.map((table) => table.operationType)).toContain('dropDatabase');
  });

  it('rides a database-scoped stream through dropDatabase and its invalidate', async () => {
    const namespaces = [
      { db: 'cdc_c', coll: 'x' },
      { db: 'cdc_c', coll: 'y' },
    ];
    const reader = changeSource('', { namespaces });
    const start = await reader.captureStartPoint();
    await source.client
      .db('cdc_c')
      .collection('x')
      .insertOne({ _id: 1 as never });
    await source.client
      .db('cdc_c')
      .collection('y')
      .insertOne({ _id: 1 as never });
    await source.client.db('cdc_c').dropDatabase();
    const batches: ChangeBatch[] = [];
    let from: { token?: string; start?: StartPointInput } = { start };
    for (let round = 0; round < 8; round++) {
      const batch = await reader.readBatch(request(from));
      batches.push(batch);
      from = { token: batch.resumeToken };
      if (batch.tablesStopped.length === 0) break;
    }
    expect(batches.flatMap((batch) => batch.events.map((event) => event.ns.coll))).toEqual(['x', 'y']);
    const stops = batches.flatMap((batch) =>
      batch.tablesStopped.map((table) => `${table.operationType} ${table.namespace.coll}`),
    );
    expect(stops).toEqual(expect.arrayContaining(['dropDatabase x', 'dropDatabase y']));
    expect(batches[batches.length - 1]?.tablesStopped).toEqual([]);
  });

  it('stops a batch at maxBytes', async () => {
    const reader = changeSource('orders');
    const start = await reader.captureStartPoint();
    await collection('orders').insertMany(
      [20, 21, 22, 23].map((id) => ({ _id: id as never, body: 'q'.repeat(4000) })),
    );
    const batch = await reader.readBatch(request({ start }, { maxBytes: 6000 }));
    expect(batch.events).toHaveLength(2);
    expect(batch.bytes).toBeGreaterThanOrEqual(6000);
  });

  it('raises ChangeStreamHistoryLostError (resync needed) when the oplog was truncated past the token', async () => {
    const reader = changeSource('lost');
    const start = await reader.captureStartPoint();
    await collection('lost').insertOne({ _id: 1 as never });
    const after = await reader.readBatch(request({ start }));
    await collection('lost').insertOne({ _id: 2 as never });
    const latest = source.rs.deployment.oplog.latest();
    expect(latest).toBeDefined();
    source.rs.truncateOplog(latest?.ts as Timestamp);
    const failure = await reader
      .readBatch(request({ token: after.resumeToken }))
      .catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(ChangeStreamHistoryLostError);
    expect((failure as Error).message).toMatch(/^resync needed/);
  });

  it("falls back to startAtOperationTime at the token's cluster time when the server does not find the token", async () => {
    const reader = changeSource('fallback');
    const start = await reader.captureStartPoint();
    await collection('fallback').insertOne({ _id: 'aaa' as never });
    await collection('fallback').insertOne({ _id: 'bbb' as never });
    const batch = await reader.readBatch(request({ start }));
    const realToken = JSON.parse(batch.events[0]?.token as string) as { _data: string };
    const stringHex = Buffer.from('aaa').toString('hex').toUpperCase();
    expect(realToken._data).toContain(stringHex);
    // Same cluster time, a documentKey no event has: the server answers 280 "resume token was not found".
    const forged = JSON.stringify({
      _data: realToken._data.replace(stringHex, Buffer.from('aab').toString('hex').toUpperCase()),
    });
    logged.lines.length = 0;
    const resumed = await reader.readBatch(request({ token: forged }));
    expect(resumed.resumedWith).toBe('resume-token-cluster-time');
    expect(resumed.events.map((event) => decodedEvent(event).documentKey?._id)).toEqual(['aaa', 'bbb']);
    expect(logged.lines).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        detail: { resumeMethod: 'resume-token', fallback: 'resume-token-cluster-time' },
      }),
    );
    expect(logged.messages().some((line) => line.includes('falling back to resume-token-cluster-time'))).toBe(
      true,
    );
  });
});

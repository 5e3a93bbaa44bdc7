import { Long, ObjectId } from 'bson';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StorageHarness, startStorageHarness } from './harness.js';

let h: StorageHarness;
const LARGE = 100_000;

beforeAll(async () => {
  h = await startStorageHarness();
  const coll = h.client.db('cursors').collection('large');
  // Inserted in shuffled _id order so `_id` order differs from insertion order.
  const ids = Array.from({ length: LARGE }, (_, i) => i);
  for (let i = ids.length - 1; i > 0; i -= 1) {
    const j = (i * 7919) % (i + 1);
    [ids[i], ids[j]] = [ids[j] as number, ids[i] as number];
  }
  for (let start = 0; start < LARGE; start += 10_000) {
    await coll.insertMany(
      ids.slice(start, start + 10_000).map((_id) => ({ _id, pad: 'p'.repeat(20) })) as never[],
    );
  }
}, 120_000);

afterAll(async () => {
  await h?.stop();
});

describe('large collection scans', () => {
  it('range-scans 100k documents in _id order with a batch size', async () => {
    const coll = h.client.db('cursors').collection('large');
    const cursor = coll
      .find({ _id: { $gte: 1000, $lt: 91_000 } } as never, { batchSize: 5000 })
      .sort({ _id: 1 });
    let expected = 1000;
    let count = 0;
    for await (const doc of cursor) {
      expect(doc._id).toBe(expected);
      expected += 1;
      count += 1;
    }
    expect(count).toBe(90_000);
  });

  it('scans descending and resumes from a key like a snapshot reader does', async () => {
    const coll = h.client.db('cursors').collection('large');
    const tail = await coll
      .find({ _id: { $gt: LARGE - 4 } } as never)
      .sort({ _id: -1 })
      .toArray();
    expect(tail.map((d) => d._id)).toEqual([LARGE - 1, LARGE - 2, LARGE - 3]);
    const page = await coll
      .find({ _id: { $gt: 500 } } as never)
      .sort({ _id: 1 })
      .limit(3)
      .toArray();
    expect(page.map((d) => d._id)).toEqual([501, 502, 503]);
  });

  it('answers _id $in by point lookups in _id order', async () => {
    const coll = h.client.db('cursors').collection('large');
    const found = await coll.find({ _id: { $in: [7, 3, -1, 3, LARGE - 1] } } as never).toArray();
    expect(found.map((d) => d._id)).toEqual([3, 7, LARGE - 1]);
    const filtered = await coll.countDocuments({ _id: { $in: [1, 2, 3] }, pad: { $exists: true } } as never);
    expect(filtered).toBe(3);
  });

  it('range predicates on _id only match values of the same type', async () => {
    const coll = h.client.db('cursors').collection('mixed');
    await coll.insertMany([{ _id: 1 }, { _id: 'a' }, { _id: new ObjectId() }, { _id: 2.5 }] as never[]);
    const numbers = await coll.find({ _id: { $gte: 0 } } as never).toArray();
    expect(numbers.map((d) => d._id)).toEqual([1, 2.5]);
    const all = await coll.find().sort({ _id: 1 }).toArray();
    expect(all.map((d) => typeof d._id)).toEqual(['number', 'number', 'string', 'object']);
  });
});

describe('getMore and killCursors', () => {
  it('returns cursor id 0 once exhausted and CursorNotFound afterwards', async () => {
    const db = h.client.db('cursors');
    const first = await db.command({ find: 'large', filter: { _id: { $lt: 5 } }, batchSize: 2 });
    const id = first.cursor.id as Long;
    expect(first.cursor.firstBatch).toHaveLength(2);
    expect(first.cursor.ns).toBe('cursors.large');
    const more = await db.command({ getMore: id, collection: 'large', batchSize: 10 });
    expect(more.cursor.nextBatch.map((d: { _id: number }) => d._id)).toEqual([2, 3, 4]);
    expect(Long.fromValue(more.cursor.id).isZero()).toBe(true);
    await expect(db.command({ getMore: id, collection: 'large' })).rejects.toMatchObject({
      code: 43,
      codeName: 'CursorNotFound',
    });
  });

  it('kills open cursors and reports unknown ones as not found', async () => {
    const db = h.client.db('cursors');
    const first = await db.command({ find: 'large', batchSize: 1 });
    const id = first.cursor.id as Long;
    const unknown = Long.fromNumber(12345);
    const killed = await db.command({ killCursors: 'large', cursors: [id, unknown] });
    expect(killed.cursorsKilled.map(String)).toEqual([id.toString()]);
    expect(killed.cursorsNotFound.map(String)).toEqual(['12345']);
  });

  it('gives a batchSize 0 find an empty first batch and an open cursor', async () => {
    const db = h.client.db('cursors');
    const first = await db.command({ find: 'large', batchSize: 0 });
    expect(first.cursor.firstBatch).toEqual([]);
    expect(Long.fromValue(first.cursor.id).isZero()).toBe(false);
    await db.command({ killCursors: 'large', cursors: [first.cursor.id] });
  });
});

describe('natural order and the oplog collection', () => {
  it('reads a collection in insertion order and in reverse with $natural', async () => {
    const coll = h.client.db('cursors').collection('natural');
    await coll.insertMany([{ _id: 3 }, { _id: 1 }, { _id: 2 }] as never[]);
    expect((await coll.find().toArray()).map((d) => d._id)).toEqual([3, 1, 2]);
    expect((await coll.find().sort({ $natural: -1 }).toArray()).map((d) => d._id)).toEqual([2, 1, 3]);
  });

  it('serves local.oplog.rs so the oplog window can be read', async () => {
    const oplog = h.client.db('local').collection('oplog.rs');
    const [first] = await oplog.find().sort({ $natural: 1 }).limit(1).toArray();
    const [last] = await oplog.find().sort({ $natural: -1 }).limit(1).toArray();
    const entries = h.rs.deployment.oplog.all();
    expect(first?.ts).toEqual(entries[0]?.ts);
    expect(last?.ts).toEqual(entries[entries.length - 1]?.ts);
    const inserts = await oplog.countDocuments({ op: 'i', ns: 'cursors.natural' });
    expect(inserts).toBe(3);
    const stats = await h.client.db('local').command({ collStats: 'oplog.rs' });
    expect(stats).toMatchObject({ ns: 'local.oplog.rs', capped: true });
    expect(stats.count).toBeGreaterThanOrEqual(entries.length);
  });
});

describe('reply size', () => {
  it('starts a new batch before a document would push a reply past 16 MiB', async () => {
    const coll = h.client.db('cursors').collection('big');
    const nineMiB = 'x'.repeat(9 * 1024 * 1024);
    await coll.insertMany([
      { _id: 1, pad: nineMiB },
      { _id: 2, pad: nineMiB },
      { _id: 3, pad: 'small' },
    ] as never[]);
    const reply = await h.client.db('cursors').command({ find: 'big', sort: { _id: 1 } });
    const firstBatch = (reply.cursor as { firstBatch: { _id: number }[] }).firstBatch;
    expect(firstBatch.map((doc) => doc._id)).toEqual([1]);
    const ids: number[] = [];
    for await (const doc of coll.find({}, { projection: { _id: 1 } }).sort({ _id: 1 }))
      ids.push(doc._id as never);
    expect(ids).toEqual([1, 2, 3]);
    const full: number[] = [];
    for await (const doc of coll.find({}).sort({ _id: 1 })) full.push(doc._id as never);
    expect(full).toEqual([1, 2, 3]);
  }, 60_000);
});

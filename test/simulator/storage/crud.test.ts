import { Decimal128, type Document, Double, Int32, Long, MaxKey, MinKey, ObjectId } from 'bson';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StorageHarness, startStorageHarness } from './harness.js';

let h: StorageHarness;

beforeAll(async () => {
  h = await startStorageHarness();
});

afterAll(async () => {
  await h?.stop();
});

describe('insert and find through the driver', () => {
  it('returns documents with their BSON number types intact', async () => {
    const coll = h.client.db('crud').collection('types');
    const doc = {
      _id: new ObjectId(),
      i: new Int32(7),
      d: new Double(2.5),
      wholeDouble: new Double(1),
      l: Long.fromString('9007199254740993'),
      dec: Decimal128.fromString('1.10'),
      s: 'text',
      nested: { arr: [1, 'two', { three: 3 }] },
    };
    await coll.insertOne(doc);
    const found = await coll.findOne({ _id: doc._id }, { promoteLongs: false, promoteValues: false });
    expect(found?.l).toEqual(Long.fromString('9007199254740993'));
    expect(found?.i).toEqual(new Int32(7));
    expect(found?.d).toEqual(new Double(2.5));
    expect(found?.wholeDouble).toEqual(new Double(1));
    expect(String(found?.dec)).toBe('1.10');
    expect(found?.nested).toEqual({ arr: [new Int32(1), 'two', { three: new Int32(3) }] });
  });

  it('filters, sorts, projects, skips and limits', async () => {
    const coll = h.client.db('crud').collection('people');
    await coll.insertMany([
      { _id: 1, name: 'ann', age: 31, tags: ['a'] },
      { _id: 2, name: 'bob', age: 25, tags: ['b', 'c'] },
      { _id: 3, name: 'cy', age: 40 },
      { _id: 4, name: 'dee', age: 25 },
    ] as never[]);
    const rows = await coll
      .find({ age: { $gte: 25 } }, { projection: { name: 1, _id: 0 } })
      .sort({ age: -1, name: 1 })
      .skip(1)
      .limit(2)
      .toArray();
    expect(rows).toEqual([{ name: 'ann' }, { name: 'bob' }]);
    expect(await coll.countDocuments({ age: 25 })).toBe(2);
    expect(await coll.estimatedDocumentCount()).toBe(4);
    expect((await coll.distinct('tags')).sort()).toEqual(['a', 'b', 'c']);
  });

  it('reads an _id range bounded by MinKey or MaxKey across every type, as the server does', async () => {
    const coll = h.client.db('crud').collection<{ _id: unknown }>('keyBounds');
    // The driver's filter types allow no MinKey/MaxKey operand on an _id of unknown type.
    const count = (condition: Document) => coll.countDocuments({ _id: condition } as Document);
    await coll.insertMany([{ _id: 1 }, { _id: 'two' }, { _id: new ObjectId('000000000000000000000003') }]);
    for (const bound of [
      { $lt: new MaxKey() },
      { $lte: new MaxKey() },
      { $gt: new MinKey() },
      { $gte: new MinKey() },
    ]) {
      expect({ bound, found: await count(bound) }).toEqual({ bound, found: 3 });
    }
    expect(await count({ $gt: new MaxKey() })).toBe(0);
    expect(await count({ $lt: new MinKey() })).toBe(0);
  });

  it('accepts hints naming existing indexes and rejects others', async () => {
    const coll = h.client.db('crud').collection('people');
    expect(
      await coll
        .find({}, { hint: { _id: 1 } })
        .limit(1)
        .toArray(),
    ).toHaveLength(1);
    expect(await coll.find({}, { hint: '_id_' }).limit(1).toArray()).toHaveLength(1);
    await expect(coll.find({}, { hint: { nope: 1 } }).toArray()).rejects.toMatchObject({ code: 2 });
    await expect(coll.updateOne({}, { $set: { x: 1 } }, { hint: 'nope_1' })).rejects.toMatchObject({
      code: 2,
    });
  });

  it('reports duplicate _id as a write error with keyPattern and keyValue', async () => {
    const coll = h.client.db('crud').collection('dups');
    await coll.insertOne({ _id: 1 } as never);
    const error = await coll.insertOne({ _id: 1 } as never).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 11000, keyPattern: { _id: 1 }, keyValue: { _id: 1 } });
    expect(String((error as Error).message)).toContain(
      'E11000 duplicate key error collection: crud.dups index: _id_',
    );
  });

  it('stores an _id of null as sent (the driver, not the server, replaces it on insertOne)', async () => {
    const db = h.client.db('crud');
    const coll = db.collection('nullIds');
    // The driver's maybeAddIdToDocuments swaps `_id: null` for an ObjectId before sending...
    await coll.insertOne({ _id: null } as never);
    expect(await coll.countDocuments({ _id: { $type: 'null' } } as never)).toBe(0);
    // ...so send the insert command as it is: the server keeps the null, and it is a unique key.
    await db.command({ insert: 'nullIds', documents: [{ _id: null, a: 1 }] });
    expect(await coll.find({ _id: { $type: 'null' } } as never).toArray()).toEqual([{ _id: null, a: 1 }]);
    const again = await db.command({ insert: 'nullIds', documents: [{ _id: null }] });
    expect(again.writeErrors).toMatchObject([{ code: 11000, keyValue: { _id: null } }]);
    await coll.updateOne({ _id: null } as never, { $set: { b: 2 } });
    expect(await coll.findOne({ _id: null } as never)).toEqual({ _id: null, a: 1, b: 2 });
  });

  it('continues past errors in unordered inserts and reports each index', async () => {
    const coll = h.client.db('crud').collection('unordered');
    const error = (await coll
      .insertMany([{ _id: 1 }, { _id: 1 }, { _id: 2 }, { _id: 2 }] as never[], { ordered: false })
      .catch((e: unknown) => e)) as { writeErrors: { index: number; code: number }[]; insertedCount: number };
    const writeErrors = Array.isArray(error.writeErrors) ? error.writeErrors : [error.writeErrors];
    expect(writeErrors.map((e) => e.index)).toEqual([1, 3]);
    expect(await coll.countDocuments()).toBe(2);
  });
});

describe('updates and deletes', () => {
  it('applies operators, counts matched and modified, and upserts', async () => {
    const coll = h.client.db('crud').collection('upd');
    await coll.insertMany([
      { _id: 1, n: 1, list: [1, 2] },
      { _id: 2, n: 5, list: [] },
    ] as never[]);
    const many = await coll.updateMany({}, { $inc: { n: 1 }, $push: { list: 9 } } as never);
    expect(many).toMatchObject({ matchedCount: 2, modifiedCount: 2 });
    const noop = await coll.updateOne({ _id: 1 } as never, { $set: { n: 2 } });
    expect(noop).toMatchObject({ matchedCount: 1, modifiedCount: 0 });
    const up = await coll.updateOne(
      { _id: 7 } as never,
      { $set: { x: 1 }, $setOnInsert: { created: true } },
      { upsert: true },
    );
    expect(up).toMatchObject({ upsertedCount: 1, upsertedId: 7 });
    expect(await coll.findOne({ _id: 7 } as never)).toEqual({ _id: 7, x: 1, created: true });
    await coll.replaceOne({ _id: 2 } as never, { only: 'this' });
    expect(await coll.findOne({ _id: 2 } as never)).toEqual({ _id: 2, only: 'this' });
    await coll.updateOne({ _id: 1 } as never, [{ $set: { doubled: { $multiply: ['$n', 2] } } }]);
    expect(await coll.findOne({ _id: 1 } as never)).toEqual({ _id: 1, n: 2, list: [1, 2, 9], doubled: 4 });
  });

  it('updates array elements chosen by arrayFilters', async () => {
    const coll = h.client.db('crud').collection('arrays');
    await coll.insertOne({ _id: 1, grades: [80, 95, 100] } as never);
    await coll.updateOne(
      { _id: 1 } as never,
      { $set: { 'grades.$[g]': 100 } },
      { arrayFilters: [{ g: { $gte: 95 } }] },
    );
    expect(await coll.findOne({ _id: 1 } as never)).toEqual({ _id: 1, grades: [80, 100, 100] });
  });

  it('refuses to change _id', async () => {
    const coll = h.client.db('crud').collection('immutable');
    await coll.insertOne({ _id: 1, a: 1 } as never);
    await expect(coll.updateOne({ _id: 1 } as never, { $set: { _id: 2 } })).rejects.toMatchObject({
      code: 66,
    });
  });

  it('deletes one or many', async () => {
    const coll = h.client.db('crud').collection('del');
    await coll.insertMany([{ k: 1 }, { k: 1 }, { k: 2 }]);
    expect((await coll.deleteOne({ k: 1 })).deletedCount).toBe(1);
    expect((await coll.deleteMany({})).deletedCount).toBe(2);
  });

  it('findOneAndUpdate / findOneAndDelete return the right document', async () => {
    const coll = h.client.db('crud').collection('fam');
    await coll.insertMany([
      { _id: 1, v: 3 },
      { _id: 2, v: 1 },
    ] as never[]);
    const after = await coll.findOneAndUpdate(
      {},
      { $inc: { v: 10 } },
      { sort: { v: 1 }, returnDocument: 'after' },
    );
    expect(after).toEqual({ _id: 2, v: 11 });
    const before = await coll.findOneAndUpdate(
      { _id: 1 } as never,
      { $set: { v: 0 } },
      { returnDocument: 'before' },
    );
    expect(before).toEqual({ _id: 1, v: 3 });
    const upserted = await coll.findOneAndUpdate(
      { _id: 3 } as never,
      { $set: { v: 5 } },
      { upsert: true, returnDocument: 'after', projection: { v: 1, _id: 0 } },
    );
    expect(upserted).toEqual({ v: 5 });
    const removed = await coll.findOneAndDelete({ v: 0 });
    expect(removed).toEqual({ _id: 1, v: 0 });
    expect(await coll.countDocuments()).toBe(2);
  });
});

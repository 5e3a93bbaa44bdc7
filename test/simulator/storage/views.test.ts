import type { Db } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StorageHarness, startStorageHarness } from './harness.js';

interface Person {
  _id: number;
  name?: string;
  age?: number;
  team?: string;
}

let h: StorageHarness;
let db: Db;

beforeAll(async () => {
  h = await startStorageHarness();
  db = h.client.db('views');
  await db.collection('people').insertMany([
    { _id: 1, name: 'Ann', age: 31, team: 'red' },
    { _id: 2, name: 'Bob', age: 17, team: 'blue' },
    { _id: 3, name: 'Cid', age: 45, team: 'red' },
    { _id: 4, name: 'Dee', age: 22, team: 'green' },
  ] as never[]);
  await db.createCollection('adults', { viewOn: 'people', pipeline: [{ $match: { age: { $gte: 18 } } }] });
});

afterAll(async () => {
  await h?.stop();
});

describe('views (create with viewOn + pipeline)', () => {
  it('find runs the view pipeline, then filter, sort, skip, limit and projection', async () => {
    const adults = db.collection<Person>('adults');
    expect(await adults.find().toArray()).toEqual([
      { _id: 1, name: 'Ann', age: 31, team: 'red' },
      { _id: 3, name: 'Cid', age: 45, team: 'red' },
      { _id: 4, name: 'Dee', age: 22, team: 'green' },
    ]);
    const page = await adults
      .find({ team: { $ne: 'blue' } }, { projection: { _id: 0, name: 1 } })
      .sort({ age: -1 })
      .skip(1)
      .limit(1)
      .toArray();
    expect(page).toEqual([{ name: 'Ann' }]);
    expect(await adults.findOne({ _id: 2 })).toBeNull();
    // getMore continues a cursor opened on the view.
    expect(await adults.find({}, { batchSize: 1 }).toArray()).toHaveLength(3);
    expect(await adults.aggregate([{ $project: { _id: 1 } }], { batchSize: 1 }).toArray()).toHaveLength(3);
  });

  it('count, countDocuments, estimatedDocumentCount, distinct and aggregate see only the view', async () => {
    const adults = db.collection('adults');
    expect(await adults.estimatedDocumentCount()).toBe(3);
    expect(await adults.countDocuments({ team: 'red' })).toBe(2);
    expect(await adults.distinct('team')).toEqual(['red', 'green']);
    const grouped = await adults
      .aggregate([{ $group: { _id: '$team', n: { $sum: 1 } } }, { $sort: { _id: 1 } }])
      .toArray();
    expect(grouped).toEqual([
      { _id: 'green', n: 1 },
      { _id: 'red', n: 2 },
    ]);
  });

  it('a view on a view runs both pipelines, and $lookup can read from a view', async () => {
    await db.createCollection('redAdults', { viewOn: 'adults', pipeline: [{ $match: { team: 'red' } }] });
    expect(
      await db
        .collection('redAdults')
        .find({}, { projection: { name: 1 } })
        .toArray(),
    ).toEqual([
      { _id: 1, name: 'Ann' },
      { _id: 3, name: 'Cid' },
    ]);
    const joined = await db
      .collection('people')
      .aggregate([
        { $match: { _id: 3 } },
        { $lookup: { from: 'redAdults', localField: 'team', foreignField: 'team', as: 'mates' } },
        { $project: { mates: '$mates.name' } },
      ])
      .toArray();
    expect(joined).toEqual([{ _id: 3, mates: ['Ann', 'Cid'] }]);
  });

  it('follows changes to the collection underneath', async () => {
    await db.collection('people').insertOne({ _id: 5, name: 'Eve', age: 50, team: 'blue' } as never);
    expect(await db.collection('adults').countDocuments()).toBe(4);
    await db.collection('people').deleteOne({ _id: 5 } as never);
    expect(await db.collection('adults').countDocuments()).toBe(3);
  });

  it('refuses writes, indexes and stats with 166 CommandNotSupportedOnView', async () => {
    const adults = db.collection<Person>('adults');
    const onView = { code: 166, codeName: 'CommandNotSupportedOnView' };
    await expect(adults.insertOne({ _id: 9, age: 40 })).rejects.toMatchObject({ code: 166 });
    await expect(adults.updateOne({ _id: 1 }, { $set: { age: 1 } })).rejects.toMatchObject({ code: 166 });
    await expect(adults.deleteMany({})).rejects.toMatchObject({ code: 166 });
    await expect(adults.findOneAndUpdate({ _id: 1 }, { $set: { age: 1 } })).rejects.toMatchObject(onView);
    await expect(adults.createIndex({ age: 1 })).rejects.toMatchObject(onView);
    await expect(adults.listIndexes().toArray()).rejects.toMatchObject(onView);
    await expect(db.command({ collStats: 'adults' })).rejects.toMatchObject(onView);
    await expect(db.renameCollection('adults', 'grownups')).rejects.toMatchObject(onView);
    await expect(adults.watch().tryNext()).rejects.toMatchObject(onView);
    await expect(
      db
        .collection('people')
        .aggregate([{ $match: {} }, { $out: 'adults' }])
        .toArray(),
    ).rejects.toMatchObject(onView);
    // Nothing was written through the view.
    expect(await db.collection('people').countDocuments()).toBe(4);
    expect(await db.collection('people').findOne({ _id: 1 } as never)).toMatchObject({ age: 31 });
  });

  it('listCollections reports views with their options; dbStats counts them', async () => {
    const infos = await db.listCollections({ type: 'view' }).toArray();
    expect(infos).toEqual(
      expect.arrayContaining([
        {
          name: 'adults',
          type: 'view',
          options: { viewOn: 'people', pipeline: [{ $match: { age: { $gte: 18 } } }] },
          info: { readOnly: true },
        },
      ]),
    );
    const names = await db.listCollections({}, { nameOnly: true }).toArray();
    expect(names).toEqual(
      expect.arrayContaining([
        { name: 'people', type: 'collection' },
        { name: 'system.views', type: 'collection' },
        { name: 'adults', type: 'view' },
      ]),
    );
    expect((await db.stats()).views).toBe(infos.length);
  });

  it('stores definitions in system.views, logged as insert, update and delete there', async () => {
    await db.createCollection('teens', { viewOn: 'people', pipeline: [{ $match: { age: { $lt: 18 } } }] });
    expect(await db.collection('system.views').findOne({ _id: 'views.teens' } as never)).toEqual({
      _id: 'views.teens',
      viewOn: 'people',
      pipeline: [{ $match: { age: { $lt: 18 } } }],
    });
    await db.command({ collMod: 'teens', viewOn: 'people', pipeline: [{ $match: { age: { $lt: 30 } } }] });
    expect(await db.collection('teens').countDocuments()).toBe(2);
    expect(await db.dropCollection('teens')).toBe(true);
    expect(await db.collection('teens').countDocuments()).toBe(0);
    const ops = await h.client
      .db('local')
      .collection('oplog.rs')
      .find({ ns: 'views.system.views', 'o._id': 'views.teens' } as never)
      .toArray();
    expect(ops.map((entry) => entry.op)).toEqual(['i', 'u', 'd']);
  });

  it('create: same definition again is fine, anything else on the name is 48 NamespaceExists', async () => {
    await db.createCollection('adults', { viewOn: 'people', pipeline: [{ $match: { age: { $gte: 18 } } }] });
    await expect(db.createCollection('adults', { viewOn: 'people', pipeline: [] })).rejects.toMatchObject({
      code: 48,
    });
    await expect(db.createCollection('adults')).rejects.toMatchObject({ code: 48 });
    await expect(db.createCollection('people', { viewOn: 'adults' })).rejects.toMatchObject({ code: 48 });
  });

  it('rejects cycles (93), writing stages (157) and a bad viewOn', async () => {
    await db.createCollection('loopA', { viewOn: 'loopB', pipeline: [] });
    await expect(db.createCollection('loopB', { viewOn: 'loopA', pipeline: [] })).rejects.toMatchObject({
      code: 93,
      codeName: 'GraphContainsCycle',
    });
    await expect(
      db.createCollection('writes', { viewOn: 'people', pipeline: [{ $out: 'elsewhere' }] }),
    ).rejects.toMatchObject({ code: 157, codeName: 'OptionNotSupportedOnView' });
    await expect(db.command({ create: 'bad', viewOn: 1 })).rejects.toMatchObject({ code: 14 });
    await expect(db.command({ create: 'bad', pipeline: [] })).rejects.toMatchObject({ code: 2 });
    // A view on a missing collection is empty.
    expect(await db.collection('loopA').find().toArray()).toEqual([]);
  });

  it('a dropped view frees its name for a collection; dropDatabase drops views too', async () => {
    const other = h.client.db('views2');
    await other.collection('base').insertOne({ _id: 1 } as never);
    await other.createCollection('v', { viewOn: 'base', pipeline: [] });
    await other.dropCollection('v');
    await other.collection('v').insertOne({ _id: 'real' } as never);
    expect(await other.collection('v').find().toArray()).toEqual([{ _id: 'real' }]);
    await other.createCollection('w', { viewOn: 'base', pipeline: [] });
    await other.dropDatabase();
    await other.collection('base').insertOne({ _id: 2 } as never);
    expect(await other.listCollections({ type: 'view' }).toArray()).toEqual([]);
    await other.collection('w').insertOne({ _id: 'w' } as never);
    expect(await other.collection('w').countDocuments()).toBe(1);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StorageHarness, startStorageHarness } from './harness.js';

let h: StorageHarness;

beforeAll(async () => {
  h = await startStorageHarness();
  const db = h.client.db('agg');
  await db.collection('orders').insertMany([
    { _id: 1, cust: 'a', total: 10, items: ['x', 'y'] },
    { _id: 2, cust: 'b', total: 5, items: ['x'] },
    { _id: 3, cust: 'a', total: 7, items: [] },
  ] as never[]);
  await db.collection('customers').insertMany([
    { _id: 'a', name: 'Ann' },
    { _id: 'b', name: 'Bob' },
  ] as never[]);
});

afterAll(async () => {
  await h?.stop();
});

describe('aggregate', () => {
  it('groups, sorts and counts', async () => {
    const coll = h.client.db('agg').collection('orders');
    const groups = await coll
      .aggregate([
        { $match: { total: { $gt: 1 } } },
        { $group: { _id: '$cust', sum: { $sum: '$total' } } },
        { $sort: { _id: 1 } },
      ])
      .toArray();
    expect(groups).toEqual([
      { _id: 'a', sum: 17 },
      { _id: 'b', sum: 5 },
    ]);
    expect(await coll.aggregate([{ $unwind: '$items' }, { $count: 'n' }]).toArray()).toEqual([{ n: 3 }]);
    expect(await coll.aggregate([{ $sortByCount: '$cust' }]).toArray()).toEqual([
      { _id: 'a', count: 2 },
      { _id: 'b', count: 1 },
    ]);
  });

  it('joins with $lookup and reshapes with $project and $facet', async () => {
    const coll = h.client.db('agg').collection('orders');
    const joined = await coll
      .aggregate([
        { $match: { _id: 2 } },
        { $lookup: { from: 'customers', localField: 'cust', foreignField: '_id', as: 'who' } },
        { $project: { _id: 0, name: { $first: '$who.name' } } },
      ])
      .toArray();
    expect(joined).toEqual([{ name: 'Bob' }]);
    const [facets] = await coll
      .aggregate([
        { $facet: { big: [{ $match: { total: { $gte: 7 } } }, { $count: 'n' }], all: [{ $count: 'n' }] } },
      ])
      .toArray();
    expect(facets).toEqual({ big: [{ n: 2 }], all: [{ n: 3 }] });
  });

  it('writes results with $out, replacing the target collection', async () => {
    const db = h.client.db('agg');
    await db
      .collection('orders')
      .aggregate([{ $match: { cust: 'a' } }, { $out: 'a_orders' }])
      .toArray();
    expect((await db.collection('a_orders').find().sort({ _id: 1 }).toArray()).map((d) => d._id)).toEqual([
      1, 3,
    ]);
    const names = (await db.listCollections().toArray()).map((c) => c.name);
    expect(names.filter((n) => n.startsWith('tmp.'))).toEqual([]);
  });

  it('hands $changeStream pipelines to the change stream part', async () => {
    const coll = h.client.db('agg').collection('orders');
    const stream = coll.watch([], { maxAwaitTimeMS: 50 });
    try {
      expect(await stream.tryNext()).toBeNull();
      expect(stream.resumeToken).toBeDefined();
      await coll.insertOne({ _id: 99, cust: 'z' } as never);
      let event = null;
      for (let i = 0; i < 50 && !event; i += 1) event = await stream.tryNext();
      expect(event).toMatchObject({ operationType: 'insert', documentKey: { _id: 99 } });
    } finally {
      await stream.close();
    }
  });

  it('samples distinct random documents and counts with skip and limit', async () => {
    const coll = h.client.db('agg').collection('sampled');
    await coll.insertMany([
      { _id: 1, cust: 'a' },
      { _id: 2, cust: 'b' },
      { _id: 3, cust: 'a' },
    ] as never[]);
    const sample = await coll.aggregate([{ $sample: { size: 2 } }]).toArray();
    expect(sample).toHaveLength(2);
    expect(new Set(sample.map((d) => d._id)).size).toBe(2);
    expect(await coll.aggregate([{ $sample: { size: 10 } }, { $count: 'n' }]).toArray()).toEqual([{ n: 3 }]);
    expect(await coll.countDocuments({ cust: 'a' })).toBe(2);
    expect(await coll.countDocuments({}, { skip: 1, limit: 1 })).toBe(1);
    expect(await coll.countDocuments({ cust: 'nobody' })).toBe(0);
  });

  it('requires the cursor option', async () => {
    await expect(h.client.db('agg').command({ aggregate: 'orders', pipeline: [] })).rejects.toMatchObject({
      code: 9,
    });
  });
});

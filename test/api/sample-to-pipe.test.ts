import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_COLLECTIONS, DEMO_DATABASE, seedSampleData } from '../../local/demo/sample-data.js';
import {
  type ApiWorld,
  clickhouseQuery,
  createRequest,
  DATABASE,
  http,
  mapping,
  startApiWorld,
  waitForState,
} from '../api-e2e/support.js';

/**
 * Issue #16's "done when": on the demo collections, the columns `POST /sources/sample` suggests,
 * pasted into a create request as they are, give a pipe that reaches Running, with the columns
 * in ClickHouse and filled. Everything goes through the real local API (as `npm start` serves it).
 */
describe('POST /sources/sample → columns → a Running pipe', () => {
  let world: ApiWorld;

  beforeAll(async () => {
    world = await startApiWorld();
    await seedSampleData(world.mongo.db(DEMO_DATABASE), { orders: 600, customers: 200, products: 100 });
  }, 120_000);
  afterAll(async () => {
    await world?.stop();
  }, 60_000);

  it('creates a pipe of the three demo collections with the suggested columns, and it reaches Running', async () => {
    const mappings = [];
    for (const collection of DEMO_COLLECTIONS) {
      const sampled = await http(world, 'POST', '/sources/sample', {
        source: { uri: world.rs.uri },
        database: DEMO_DATABASE,
        collection,
        sampleSize: 1_000,
      });
      expect(sampled.status, JSON.stringify(sampled.body)).toBe(200);
      expect(sampled.body.suggestedColumns.length, collection).toBeGreaterThan(2);
      mappings.push({
        ...mapping(DEMO_DATABASE, collection, `demo_${collection}`),
        columns: sampled.body.suggestedColumns,
      });
    }
    const created = await http(world, 'POST', '/pipes', createRequest(world, 'sampled', mappings));
    expect(created.status, JSON.stringify(created.body)).toBe(202);
    const running = await waitForState(world, created.body.id, 'Running');
    expect(running.tables.map((table: { state: string }) => table.state)).toEqual([
      'Replicating',
      'Replicating',
      'Replicating',
    ]);
    for (const [index, collection] of DEMO_COLLECTIONS.entries()) {
      const columns = mappings[index]?.columns as { name: string }[];
      const table = `${DATABASE}.demo_${collection}`;
      const names = await clickhouseQuery(
        world,
        `SELECT name FROM system.columns WHERE database = '${DATABASE}' AND table = 'demo_${collection}' FORMAT TSV`,
      );
      expect(names.split('\n')).toEqual(expect.arrayContaining(columns.map((column) => column.name)));
      const count = await world.mongo.db(DEMO_DATABASE).collection(collection).countDocuments();
      expect(Number(await clickhouseQuery(world, `SELECT count() FROM ${table} FINAL`))).toBe(count);
    }
    // A typed column answers without a cast: the orders' status counts equal MongoDB's.
    const statuses = await clickhouseQuery(
      world,
      `SELECT status, count() FROM ${DATABASE}.demo_orders FINAL WHERE _peerdb_is_deleted = 0 GROUP BY status ORDER BY status FORMAT TSV`,
    );
    const expected = await world.mongo
      .db(DEMO_DATABASE)
      .collection('orders')
      .aggregate<{ _id: string; count: number }>([
        { $group: { _id: '$status', count: { $sum: 1 } } },
        { $sort: { _id: 1 } },
      ])
      .toArray();
    expect(statuses).toBe(expected.map((group) => `${group._id}\t${group.count}`).join('\n'));
  }, 180_000);
});

import type { Timestamp } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validatorFor } from '../api/openapi-schema.js';
import {
  type ApiWorld,
  clickhouseQuery,
  compareTable,
  createRequest,
  DATABASE,
  equalWith,
  http,
  latestVersion,
  mapping,
  pumpCdc,
  seed,
  startApiWorld,
  waitForGone,
  waitForState,
  waitForTransitionTo,
} from './support.js';

const ORDERS = 1_200;
const CUSTOMERS = 150;

/**
 * Issue #5's API-level end-to-end run: every step is a real HTTP request to the local API server,
 * which starts the committed ASL machines (aws-local-stepfunctions) with the real handlers
 * against the simulator, dynalite and the embedded ClickHouse. The CDC schedule is pumped by
 * hand with the scheduled handler, as the local runtime's interval loop does.
 */
describe('pipe lifecycle through the HTTP API', () => {
  let world: ApiWorld;
  let shopId: string;

  beforeAll(async () => {
    world = await startApiWorld();
    await seed(world, 'shop', 'orders', ORDERS);
    await seed(world, 'shop', 'customers', CUSTOMERS);
  }, 120_000);

  afterAll(async () => {
    await world?.stop();
  }, 60_000);

  const command = (pipeId: string, body: object) => http(world, 'PATCH', `/pipes/${pipeId}/state`, body);

  it('create → Snapshot → Running with the data equal; pause → Paused; writes made while paused arrive after resume', async () => {
    const created = await http(
      world,
      'POST',
      '/pipes',
      createRequest(world, 'shop', [mapping('shop', 'orders', 'orders')], {
        snapshotNumRowsPerPartition: 1_000,
      }),
    );
    expect(created.status, JSON.stringify(created.body)).toBe(202);
    expect(created.body).toMatchObject({ state: 'Provisioning' });
    shopId = created.body.id;
    const running = await waitForState(world, shopId, 'Running');
    expect(running).toMatchObject({
      id: shopId,
      name: 'shop',
      lastError: null,
      settings: { replicationMode: 'cdc' },
      tables: [{ tableKey: 'shop.orders', state: 'Replicating' }],
    });
    const history = await http(world, 'GET', `/pipes/${shopId}/history`);
    expect(history.body.history.map((entry: { to: string }) => entry.to).reverse()).toEqual([
      'Provisioning',
      'Setup',
      'Snapshot',
      'Running',
    ]);
    expect(await compareTable(world, 'shop', 'orders', 'orders')).toEqual(equalWith(ORDERS));

    expect((await command(shopId, { command: 'pause' })).status).toBe(202);
    await waitForState(world, shopId, 'Paused');
    const orders = world.mongo.db('shop').collection<{ _id: number }>('orders');
    await seed(world, 'shop', 'orders', 25, 10_000);
    await orders.updateOne({ _id: 3 }, { $set: { name: 'changed while paused' } });
    await orders.deleteOne({ _id: 4 });
    // Nothing moves while Paused: the 25 new documents are not in ClickHouse yet.
    expect((await compareTable(world, 'shop', 'orders', 'orders')).missing).toHaveLength(25);

    expect((await command(shopId, { command: 'resume' })).status).toBe(202);
    await waitForState(world, shopId, 'Running');
    expect(await pumpCdc(world, shopId)).toBeGreaterThanOrEqual(27);
    expect(await compareTable(world, 'shop', 'orders', 'orders')).toEqual(equalWith(ORDERS + 24));

    // The status shows the last CDC run and the source's members, as documented.
    const view = await http(world, 'GET', `/pipes/${shopId}`);
    expect(view.body.cdc).toMatchObject({
      mode: 'scheduled',
      running: false,
      lagMs: 0,
      lastRun: { endedBecause: 'caught-up', handedOver: false },
    });
    expect(view.body.source.health).toMatchObject({
      kind: 'replicaSet',
      membersFrom: 'replSetGetStatus',
      note: null,
    });
    expect(view.body.source.health.members.map((member: { state: string }) => member.state).sort()).toEqual([
      'PRIMARY',
      'SECONDARY',
      'SECONDARY',
    ]);
    const matchesDocument = validatorFor('#/components/schemas/Pipe');
    expect(matchesDocument(view.body), JSON.stringify(matchesDocument.errors)).toBe(true);
  }, 120_000);

  it('add a table: only it is snapshotted; remove it: it receives no more rows', async () => {
    const rawOrders = `SELECT count(), max(_peerdb_synced_at) FROM ${DATABASE}.orders`;
    const ordersBefore = await clickhouseQuery(world, rawOrders);
    const before = await latestVersion(world, shopId);
    const added = await http(world, 'PATCH', `/pipes/${shopId}`, {
      tableMappingsToAdd: [mapping('shop', 'customers', 'customers')],
    });
    expect(added.status).toBe(202);
    expect(await waitForTransitionTo(world, shopId, before, 'Running')).toContain('Snapshot');
    expect(await compareTable(world, 'shop', 'customers', 'customers')).toEqual(equalWith(CUSTOMERS));
    // The orders table got no row from that snapshot: same raw count, same newest sync time.
    expect(await clickhouseQuery(world, rawOrders)).toBe(ordersBefore);

    const customers = world.mongo.db('shop').collection<{ _id: number }>('customers');
    await seed(world, 'shop', 'customers', 5, 20_000);
    await pumpCdc(world, shopId);
    expect(await compareTable(world, 'shop', 'customers', 'customers')).toEqual(equalWith(CUSTOMERS + 5));

    const beforeRemove = await latestVersion(world, shopId);
    const removed = await http(world, 'PATCH', `/pipes/${shopId}`, {
      tableMappingsToRemove: [{ sourceDatabaseName: 'shop', sourceCollection: 'customers' }],
    });
    expect(removed.status).toBe(202);
    await waitForTransitionTo(world, shopId, beforeRemove, 'Running');
    const view = await http(world, 'GET', `/pipes/${shopId}`);
    expect(view.body.tables.map((table: { tableKey: string }) => table.tableKey)).toEqual(['shop.orders']);
    const rawCustomers = `SELECT count() FROM ${DATABASE}.customers`;
    const customersBefore = await clickhouseQuery(world, rawCustomers);
    await customers.insertOne({ _id: 30_000 });
    await seed(world, 'shop', 'orders', 2, 30_000);
    await pumpCdc(world, shopId);
    expect(await clickhouseQuery(world, rawCustomers)).toBe(customersBefore);
    expect(await compareTable(world, 'shop', 'orders', 'orders')).toEqual(equalWith(ORDERS + 26));
  }, 120_000);
  it('resync of the pipe and of one table: parallel readers never see an error or an empty table', async () => {
    // customers is back in the pipe for the single-table resync.
    const before = await latestVersion(world, shopId);
    const added = await http(world, 'PATCH', `/pipes/${shopId}`, {
      tableMappingsToAdd: [mapping('shop', 'customers', 'customers_v2')],
    });
    expect(added.status).toBe(202);
    await waitForTransitionTo(world, shopId, before, 'Running');
    const orders = world.mongo.db('shop').collection<{ _id: number }>('orders');
    await orders.deleteMany({ _id: { $lt: 10 } });
    await orders.updateOne({ _id: 11 }, { $set: { name: 'changed before resync' } });

    const readers = startReaders(world, ['orders', 'customers_v2']);
    try {
      const beforePipe = await latestVersion(world, shopId);
      expect((await command(shopId, { command: 'resync' })).status).toBe(202);
      expect(await waitForTransitionTo(world, shopId, beforePipe, 'Running')).toContain('Resync');
      expect(await compareTable(world, 'shop', 'orders', 'orders')).toEqual(equalWith(ORDERS + 26 - 9));

      await world.mongo
        .db('shop')
        .collection<{ _id: number }>('customers')
        .deleteMany({ _id: { $lt: 20 } });
      const beforeTable = await latestVersion(world, shopId);
      expect((await command(shopId, { command: 'resync', tables: ['shop.customers'] })).status).toBe(202);
      expect(await waitForTransitionTo(world, shopId, beforeTable, 'Running')).toContain('Resync');
    } finally {
      await readers.stop();
    }
    expect(readers.errors).toEqual([]);
    expect(readers.zeros).toEqual([]);
    expect(readers.queries).toBeGreaterThan(2);
    expect(await compareTable(world, 'shop', 'customers', 'customers_v2')).toEqual(
      equalWith(CUSTOMERS + 6 - 20),
    );
    expect(await compareTable(world, 'shop', 'orders', 'orders')).toEqual(equalWith(ORDERS + 26 - 9));
  }, 120_000);

  it('delete → 202, then GET answers 404', async () => {
    const deleted = await http(world, 'DELETE', `/pipes/${shopId}`);
    expect(deleted.status).toBe(202);
    await waitForGone(world, shopId);
    expect(world.scheduler.get(shopId)).toBeUndefined();
  }, 60_000);

  it('the minimal create request (no destination: the local default) → 202 Provisioning → Running, data equal', async () => {
    await seed(world, 'minimal', 'orders', 150);
    const created = await http(world, 'POST', '/pipes', {
      name: 'minimal',
      source: { uri: world.rs.uri },
      settings: {
        replicationMode: 'cdc',
        tableMappings: [
          { sourceDatabaseName: 'minimal', sourceCollection: 'orders', targetTable: 'minimal_orders' },
        ],
      },
    });
    expect(created.status).toBe(202);
    expect(created.body).toMatchObject({ id: expect.any(String), state: 'Provisioning' });
    await waitForState(world, created.body.id, 'Running');
    expect(await compareTable(world, 'minimal', 'orders', 'minimal_orders')).toEqual(equalWith(150));
  }, 60_000);

  it('snapshot-only → Completed with the data equal', async () => {
    await seed(world, 'snap', 'items', 300);
    const created = await http(
      world,
      'POST',
      '/pipes',
      createRequest(world, 'snap', [mapping('snap', 'items', 'snap_items')], { replicationMode: 'snapshot' }),
    );
    expect(created.status).toBe(202);
    await waitForState(world, created.body.id, 'Completed');
    expect(await compareTable(world, 'snap', 'items', 'snap_items')).toEqual(equalWith(300));
    expect(world.scheduler.enabledPipes()).not.toContain(created.body.id);
  }, 60_000);

  it('cdc_only → Running without snapshot rows; only changes made after creation arrive', async () => {
    await seed(world, 'only', 'events', 40);
    const created = await http(
      world,
      'POST',
      '/pipes',
      createRequest(world, 'only', [mapping('only', 'events', 'only_events')], {
        replicationMode: 'cdc_only',
      }),
    );
    expect(created.status).toBe(202);
    const pipeId = created.body.id;
    await waitForState(world, pipeId, 'Running');
    expect(await clickhouseQuery(world, `SELECT count() FROM ${DATABASE}.only_events`)).toBe('0');
    await seed(world, 'only', 'events', 7, 1_000);
    expect(await pumpCdc(world, pipeId)).toBe(7);
    const rows = await world.destination.readLiveRows({ database: DATABASE, table: 'only_events' });
    expect(rows.map((row) => row._id)).toEqual(['1000', '1001', '1002', '1003', '1004', '1005', '1006']);
  }, 60_000);

  it('oplog truncated while paused → resume → Failed "resync needed" → resync → Running with the data equal', async () => {
    await seed(world, 'lost', 'items', 50);
    const created = await http(
      world,
      'POST',
      '/pipes',
      createRequest(world, 'lost', [mapping('lost', 'items', 'lost_items')]),
    );
    expect(created.status).toBe(202);
    const pipeId = created.body.id;
    await waitForState(world, pipeId, 'Running');
    await seed(world, 'lost', 'items', 1, 100);
    expect(await pumpCdc(world, pipeId)).toBe(1);

    expect((await command(pipeId, { command: 'pause' })).status).toBe(202);
    await waitForState(world, pipeId, 'Paused');
    await seed(world, 'lost', 'items', 3, 200);
    const latest = world.rs.deployment.oplog.latest();
    expect(world.rs.truncateOplog(latest?.ts as Timestamp)).toBeGreaterThan(0);

    const beforeResume = await latestVersion(world, pipeId);
    expect((await command(pipeId, { command: 'resume' })).status).toBe(202);
    await waitForTransitionTo(world, pipeId, beforeResume, 'Running');
    await expect(pumpCdc(world, pipeId)).rejects.toMatchObject({ name: 'ChangeStreamHistoryLostError' });
    const failed = await waitForTransitionTo(world, pipeId, beforeResume, 'Failed');
    expect(failed.at(-1)).toBe('Failed');
    const view = await http(world, 'GET', `/pipes/${pipeId}`);
    expect(view.body.lastError.message).toMatch(/resync/);

    const beforeResync = await latestVersion(world, pipeId);
    expect((await command(pipeId, { command: 'resync' })).status).toBe(202);
    await waitForTransitionTo(world, pipeId, beforeResync, 'Running');
    expect(await compareTable(world, 'lost', 'items', 'lost_items')).toEqual(equalWith(54));
    await seed(world, 'lost', 'items', 2, 300);
    expect(await pumpCdc(world, pipeId)).toBe(2);
    expect(await compareTable(world, 'lost', 'items', 'lost_items')).toEqual(equalWith(56));
  }, 60_000);
});

interface Readers {
  errors: string[];
  zeros: string[];
  queries: number;
  stop(): Promise<void>;
}

/** One loop per table reading `count() … FINAL` the way a dashboard would, until stopped (bounded). */
function startReaders(world: ApiWorld, tables: string[]): Readers {
  const readers: Readers = { errors: [], zeros: [], queries: 0, stop: async () => undefined };
  let stopped = false;
  const loops = tables.map(async (table) => {
    for (let round = 0; round < 100_000 && !stopped; round += 1) {
      try {
        const count = await clickhouseQuery(world, `SELECT count() FROM ${DATABASE}.${table} FINAL`);
        readers.queries += 1;
        if (count === '0') readers.zeros.push(table);
      } catch (error) {
        readers.errors.push(`${table}: ${String(error)}`);
      }
    }
  });
  readers.stop = async () => {
    stopped = true;
    await Promise.all(loops);
  };
  return readers;
}

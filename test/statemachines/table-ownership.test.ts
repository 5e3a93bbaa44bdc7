import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DestinationUnavailableError } from '../../functions/core/errors.js';
import { cdcBatchTask } from '../../functions/handlers/cdc-batch.js';
import type { TableRef } from '../../functions/ports/destination.js';
import {
  compareWithSource,
  DATABASE,
  liveRows,
  type MachineWorld,
  newPipe,
  run,
  seed,
  startMachineWorld,
} from './support.js';

/**
 * Issue 14, findings 2 and 3, through the real machines and handlers on the stand-ins: a
 * destination table belongs to exactly one pipe (claimed in the pipe store before it is
 * created), no other pipe may write into it or drop it, a table that exists without an owner is
 * refused, and a resync leaves a table it did not create alone.
 */
describe('a destination table belongs to one pipe', () => {
  let world: MachineWorld;
  let owner: string;
  let names = 0;
  const orders: TableRef = { database: DATABASE, table: 'shop_orders' };

  beforeAll(async () => {
    world = await startMachineWorld();
    await seed(world, 'shop', 'orders', 200);
    await seed(world, 'shop', 'customers', 50);
    await seed(world, 'other', 'orders', 30);
    owner = await newPipe(world, [{ db: 'shop', coll: 'orders' }]);
    expect(await run(world, 'create', owner)).toMatchObject({ status: 'SUCCEEDED' });
    expect(await liveRows(world, 'shop', 'orders')).toBe(200);
  }, 120_000);

  afterAll(async () => {
    await world?.stop();
  });

  /** A pipe whose mappings name their target tables, in Provisioning as the API leaves it. */
  async function pipeOnto(mappings: { db: string; coll: string; table: string }[]): Promise<string> {
    names += 1;
    const { pipe } = await world.store.createPipe({
      name: `ownership-${names}-${process.pid}`,
      settings: {
        tableMappings: mappings.map(({ db, coll, table }) => ({
          sourceDatabaseName: db,
          sourceCollection: coll,
          targetTable: table,
        })),
      },
      source: {},
      destination: { database: DATABASE },
      actor: 'test',
    });
    return pipe.id;
  }

  const pipe = (pipeId: string) => world.store.getPipe(pipeId);
  const allRows = (ref: TableRef) => world.destination.countRows(ref);
  const cdc = (pipeId: string) => cdcBatchTask.invoke(world.runtime, { pipeId });

  it('a second pipe mapping onto a table another pipe owns is refused, and the first pipe keeps working', async () => {
    const intruder = await pipeOnto([{ db: 'other', coll: 'orders', table: 'shop_orders' }]);
    await run(world, 'create', intruder);
    const refused = await pipe(intruder);
    expect(refused.state).toBe('Failed');
    expect(refused.lastError).toMatchObject({
      name: 'TableOwnedByAnotherPipeError',
      message: expect.stringContaining(`${DATABASE}.shop_orders belongs to pipe ${owner}`),
    });
    // Not one foreign row: every row of the table is the owner's.
    expect(await allRows(orders)).toBe(200);
    expect(await world.store.listTableMappings(intruder)).toEqual([]);
    expect((await world.store.getTableClaim(orders))?.pipeId).toBe(owner);

    await seed(world, 'shop', 'orders', 5, 10_000);
    await cdc(owner);
    expect((await pipe(owner)).state).toBe('Running');
    expect(await liveRows(world, 'shop', 'orders')).toBe(205);
  });

  it('a table that exists in ClickHouse without an owner is refused with a clear message and left as it is', async () => {
    const handmade = { database: DATABASE, table: 'handmade' };
    await world.destination.createTable(handmade, { useJsonNativeFormat: true, deleteOnMerge: false });
    await world.destination.insertRows({
      ...handmade,
      rows: [{ table: 'handmade', _id: 'mine', doc: '{}', _peerdb_version: 1n, _peerdb_is_deleted: 0 }],
      deduplicationToken: 'by-hand',
      useJsonNativeFormat: true,
    });
    const pipeId = await pipeOnto([{ db: 'shop', coll: 'customers', table: 'handmade' }]);
    await run(world, 'create', pipeId);
    const refused = await pipe(pipeId);
    expect(refused.state).toBe('Failed');
    expect(refused.lastError).toMatchObject({
      name: 'TableBelongsToNoPipeError',
      message: expect.stringContaining(
        `${DATABASE}.handmade exists and belongs to no pipe: drop it or pick another name`,
      ),
    });
    expect(await allRows(handmade)).toBe(1);
    expect(await world.store.getTableClaim(handmade)).toBeNull();
  });

  it('a SetUpDestination re-run after its createTable landed goes through on its own claim', async () => {
    const pipeId = await pipeOnto([{ db: 'shop', coll: 'customers', table: 'shop_customers' }]);
    world.faults.failOnceAfterCall(
      'destination',
      'createTable',
      new DestinationUnavailableError('lost reply'),
    );
    expect(await run(world, 'create', pipeId)).toMatchObject({ status: 'SUCCEEDED' });
    expect(world.faults.thrown).toContain('destination.createTable');
    expect((await pipe(pipeId)).state).toBe('Running');
    expect(await liveRows(world, 'shop', 'customers')).toBe(50);
    expect(await world.store.listTableClaims(pipeId)).toEqual([
      expect.objectContaining({ database: DATABASE, table: 'shop_customers', pipeId }),
    ]);
  });

  it('a pipe cannot drop another pipe table with dropTables; the owner keeps its table', async () => {
    const other = await pipeOnto([{ db: 'other', coll: 'orders', table: 'other_orders' }]);
    expect(await run(world, 'create', other)).toMatchObject({ status: 'SUCCEEDED' });
    // A mapping record pointing at the owner's table (a pipe from before the claims, a hand edit).
    await world.store.putTableMapping(
      other,
      { sourceDatabaseName: 'other', sourceCollection: 'orders', targetTable: 'shop_orders' },
      'Replicating',
    );
    await run(world, 'removeTables', other, {
      expectedState: 'Running',
      tables: ['other.orders'],
      dropTables: true,
    });
    expect(await world.destination.tableExists(orders)).toBe(true);
    expect(await liveRows(world, 'shop', 'orders')).toBe(205);
    expect((await pipe(other)).lastError).toMatchObject({ name: 'TableOwnedByAnotherPipeError' });
    expect((await world.store.getTableClaim(orders))?.pipeId).toBe(owner);
    await seed(world, 'shop', 'orders', 5, 20_000);
    await cdc(owner);
    expect(await liveRows(world, 'shop', 'orders')).toBe(210);
  });

  it('removing a table keeps its claim until it is dropped: nobody else takes it, its pipe can add it back', async () => {
    const customers = { database: DATABASE, table: 'shop_customers' };
    const holder = (await world.store.getTableClaim(customers))?.pipeId as string;
    expect(
      await run(world, 'removeTables', holder, { expectedState: 'Running', tables: ['shop.customers'] }),
    ).toMatchObject({ status: 'SUCCEEDED' });
    expect(await world.destination.tableExists(customers)).toBe(true);
    expect((await world.store.getTableClaim(customers))?.pipeId).toBe(holder);

    const latecomer = await pipeOnto([{ db: 'other', coll: 'orders', table: 'shop_customers' }]);
    await run(world, 'create', latecomer);
    expect((await pipe(latecomer)).lastError).toMatchObject({ name: 'TableOwnedByAnotherPipeError' });

    expect(
      await run(world, 'addTables', holder, { expectedState: 'Running', tables: ['shop.customers'] }),
    ).toMatchObject({ status: 'SUCCEEDED' });
    expect(await liveRows(world, 'shop', 'customers')).toBe(50);

    expect(
      await run(world, 'removeTables', holder, {
        expectedState: 'Running',
        tables: ['shop.customers'],
        dropTables: true,
      }),
    ).toMatchObject({ status: 'SUCCEEDED' });
    expect(await world.destination.tableExists(customers)).toBe(false);
    expect(await world.store.getTableClaim(customers)).toBeNull();
    expect(await world.store.listTableClaims(holder)).toEqual([]);
  });

  it('a resync of x leaves a pre-existing x_swapped_out alone', async () => {
    const beside = { database: DATABASE, table: 'shop_orders_swapped_out' };
    await world.destination.createTable(beside, { useJsonNativeFormat: true, deleteOnMerge: false });
    await world.destination.insertRows({
      ...beside,
      rows: Array.from({ length: 1000 }, (_, n) => ({
        table: beside.table,
        _id: `foreign-${n}`,
        doc: '{}',
        _peerdb_version: 1n,
        _peerdb_is_deleted: 0 as const,
      })),
      deduplicationToken: 'foreign',
      useJsonNativeFormat: true,
    });
    expect(
      await run(world, 'resync', owner, { expectedState: 'Running', tables: ['shop.orders'] }),
    ).toMatchObject({ status: 'SUCCEEDED' });
    expect((await pipe(owner)).state).toBe('Running');
    expect(await allRows(beside)).toBe(1000);
    expect(await compareWithSource(world, 'shop', 'orders')).toMatchObject({
      count: 210,
      missing: [],
      extra: [],
      different: [],
    });
  });

  it('deleting a pipe releases its claims; its kept tables then belong to no pipe until dropped', async () => {
    expect(await run(world, 'delete', owner)).toMatchObject({ status: 'SUCCEEDED' });
    expect(await world.destination.tableExists(orders)).toBe(true);
    expect(await world.store.getTableClaim(orders)).toBeNull();
    expect(await world.store.listTableClaims(owner)).toEqual([]);

    const next = await pipeOnto([{ db: 'shop', coll: 'orders', table: 'shop_orders' }]);
    await run(world, 'create', next);
    expect((await pipe(next)).lastError).toMatchObject({ name: 'TableBelongsToNoPipeError' });
    expect(await allRows(orders)).toBeGreaterThanOrEqual(210);

    await world.destination.dropTable(orders);
    const again = await pipeOnto([{ db: 'shop', coll: 'orders', table: 'shop_orders' }]);
    expect(await run(world, 'create', again)).toMatchObject({ status: 'SUCCEEDED' });
    expect(await liveRows(world, 'shop', 'orders')).toBe(210);
    expect((await world.store.getTableClaim(orders))?.pipeId).toBe(again);
  });
});

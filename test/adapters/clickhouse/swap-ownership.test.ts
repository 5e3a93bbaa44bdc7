import { type ClickHouseClient, createClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClickHouseDestination } from '../../../functions/adapters/clickhouse/destination.js';
import { SWAPPED_OUT_MARKER } from '../../../functions/adapters/clickhouse/swap.js';
import type { TableRef } from '../../../functions/ports/destination.js';
import { startTestClickHouse, type TestClickHouse } from '../../support/clickhouse.js';
import { generatedRows } from './fixtures.js';

/**
 * Issue 14, finding 3: the swap and the resync table's creation look at what exists and drop only
 * what they made. A `<t>_swapped_out` or `<t>_resync` the product did not create (a user's
 * table, another pipe's mapping from before the names were reserved) keeps its rows.
 */

let clickhouse: TestClickHouse;
let destination: ClickHouseDestination;
let admin: ClickHouseClient;
const options = { useJsonNativeFormat: true, deleteOnMerge: false };

beforeAll(async () => {
  clickhouse = await startTestClickHouse();
  destination = ClickHouseDestination.connect({ url: clickhouse.url });
  admin = createClient({ url: clickhouse.url });
  await destination.ensureDatabase('owned');
  await admin.command({
    query: 'CREATE DATABASE IF NOT EXISTS owned_legacy ENGINE = Ordinary',
    clickhouse_settings: { allow_deprecated_database_ordinary: 1 },
  });
});

afterAll(async () => {
  await admin?.close();
  await destination?.close();
  await clickhouse?.remove();
});

async function fill(ref: TableRef, rows: number, token: string): Promise<void> {
  await destination.insertRows({
    ...ref,
    rows: generatedRows(rows, 100),
    deduplicationToken: token,
    useJsonNativeFormat: true,
  });
}

/** A table the product did not create: plain MergeTree, the user's own rows. */
async function foreignTable(ref: TableRef, rows: number): Promise<void> {
  await admin.command({
    query: `CREATE TABLE ${ref.database}.${ref.table} (n UInt64) ENGINE = MergeTree ORDER BY n`,
  });
  await admin.command({
    query: `INSERT INTO ${ref.database}.${ref.table} SELECT number FROM numbers(${rows})`,
  });
}

async function loadedResync(ref: TableRef, live: number, loaded: number): Promise<void> {
  await destination.createTable(ref, options);
  await fill(ref, live, `${ref.table}-live`);
  const resync = await destination.createResyncTable(ref, options);
  await fill({ database: ref.database, table: resync }, loaded, `${ref.table}-resync`);
}

describe('the swap drops only what it set aside', () => {
  it('a resync of x swaps and cleans up around a pre-existing x_swapped_out, which keeps its rows', async () => {
    const ref = { database: 'owned', table: 'x' };
    await foreignTable({ database: 'owned', table: 'x_swapped_out' }, 1000);
    await loadedResync(ref, 10, 20);
    expect(await destination.swapResyncTable(ref)).toBe('exchange');
    await destination.dropSwappedOutTable(ref);
    expect(await destination.countRows(ref)).toBe(20);
    expect(await destination.tableExists({ database: 'owned', table: 'x_resync' })).toBe(false);
    expect(await destination.countRows({ database: 'owned', table: 'x_swapped_out' })).toBe(1000);
  });

  it('an x_swapped_out that appears between the EXCHANGE and the clean-up is not dropped', async () => {
    const ref = { database: 'owned', table: 'y' };
    await loadedResync(ref, 5, 7);
    expect(await destination.swapResyncTable(ref)).toBe('exchange');
    await foreignTable({ database: 'owned', table: 'y_swapped_out' }, 1000);
    await destination.dropSwappedOutTable(ref);
    expect(await destination.countRows(ref)).toBe(7);
    expect(await destination.tableExists({ database: 'owned', table: 'y_resync' })).toBe(false);
    expect(await destination.countRows({ database: 'owned', table: 'y_swapped_out' })).toBe(1000);
  });

  it('without EXCHANGE, a foreign z_swapped_out stops the swap before anything moves or is dropped', async () => {
    const ref = { database: 'owned_legacy', table: 'z' };
    await foreignTable({ database: 'owned_legacy', table: 'z_swapped_out' }, 1000);
    await loadedResync(ref, 3, 4);
    await expect(destination.swapResyncTable(ref)).rejects.toMatchObject({
      name: 'DestinationFatalError',
      message: expect.stringMatching(/z_swapped_out exists and was not created by a resync/),
    });
    await destination.dropSwappedOutTable(ref);
    expect(await destination.countRows(ref)).toBe(3);
    expect(await destination.countRows({ database: 'owned_legacy', table: 'z_resync' })).toBe(4);
    expect(await destination.countRows({ database: 'owned_legacy', table: 'z_swapped_out' })).toBe(1000);
  });

  it('the rename fallback still drops the x_swapped_out it made itself, also after a crash half way', async () => {
    const ref = { database: 'owned_legacy', table: 'w' };
    await loadedResync(ref, 3, 6);
    expect(await destination.swapResyncTable(ref)).toBe('rename');
    expect(await destination.countRows({ database: 'owned_legacy', table: 'w_swapped_out' })).toBe(3);
    await destination.dropSwappedOutTable(ref);
    expect(await destination.tableExists({ database: 'owned_legacy', table: 'w_swapped_out' })).toBe(false);
    expect(await destination.countRows(ref)).toBe(6);

    // A crash between the two renames of a non-atomic database: the live table was marked, then
    // renamed aside; the retry completes the rename and the clean-up drops it.
    const crashed = { database: 'owned_legacy', table: 'half' };
    await loadedResync(crashed, 2, 9);
    await admin.command({ query: `ALTER TABLE owned_legacy.half MODIFY COMMENT '${SWAPPED_OUT_MARKER}'` });
    await admin.command({ query: 'RENAME TABLE owned_legacy.half TO owned_legacy.half_swapped_out' });
    expect(await destination.swapResyncTable(crashed)).toBe('rename');
    expect(await destination.swapResyncTable(crashed)).toBe('already-swapped');
    await destination.dropSwappedOutTable(crashed);
    expect(await destination.countRows(crashed)).toBe(9);
    expect(await destination.tableExists({ database: 'owned_legacy', table: 'half_swapped_out' })).toBe(
      false,
    );
  });
});

describe('a resync table is created only where no foreign table stands', () => {
  it('refuses to drop a v_resync the product did not create', async () => {
    const ref = { database: 'owned', table: 'v' };
    await destination.createTable(ref, options);
    await foreignTable({ database: 'owned', table: 'v_resync' }, 1000);
    await expect(destination.createResyncTable(ref, options)).rejects.toMatchObject({
      name: 'DestinationFatalError',
      message: expect.stringMatching(/v_resync exists and was not created by a resync/),
    });
    expect(await destination.countRows({ database: 'owned', table: 'v_resync' })).toBe(1000);
  });

  it('replaces its own leftovers: an abandoned resync table, and old rows an EXCHANGE set aside', async () => {
    const abandoned = { database: 'owned', table: 'u' };
    await loadedResync(abandoned, 2, 3);
    await destination.createResyncTable(abandoned, options);
    expect(await destination.countRows({ database: 'owned', table: 'u_resync' })).toBe(0);

    const exchanged = { database: 'owned', table: 't' };
    await loadedResync(exchanged, 2, 5);
    expect(await destination.swapResyncTable(exchanged)).toBe('exchange');
    // The clean-up never ran: t_resync holds the old rows, t the marked new table.
    await destination.createResyncTable(exchanged, options);
    expect(await destination.countRows({ database: 'owned', table: 't_resync' })).toBe(0);
    expect(await destination.countRows(exchanged)).toBe(5);
  });
});

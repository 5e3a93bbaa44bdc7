import { type ClickHouseClient, createClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClickHouseDestination } from '../../../functions/adapters/clickhouse/destination.js';
import { SWAPPED_OUT_MARKER, swappedOutTableName } from '../../../functions/adapters/clickhouse/swap.js';
import type { TableRef } from '../../../functions/ports/destination.js';
import { startTestClickHouse, type TestClickHouse } from '../../support/clickhouse.js';
import { generatedRows } from './fixtures.js';

let clickhouse: TestClickHouse;
let destination: ClickHouseDestination;
let reader: ClickHouseClient;
const options = { useJsonNativeFormat: true, deleteOnMerge: false };

beforeAll(async () => {
  clickhouse = await startTestClickHouse();
  destination = ClickHouseDestination.connect({ url: clickhouse.url });
  reader = createClient({ url: clickhouse.url });
  await destination.ensureDatabase('swaps');
  await reader.command({
    query: 'CREATE DATABASE IF NOT EXISTS legacy ENGINE = Ordinary',
    clickhouse_settings: { allow_deprecated_database_ordinary: 1 },
  });
});

afterAll(async () => {
  await reader?.close();
  await destination?.close();
  await clickhouse?.remove();
});

async function prepare(ref: TableRef, liveRows: number, resyncRows: number): Promise<void> {
  await destination.createTable(ref, options);
  await destination.insertRows({
    ...ref,
    rows: generatedRows(liveRows, 200),
    deduplicationToken: `${ref.table}-live`,
    useJsonNativeFormat: true,
  });
  const resync = await destination.createResyncTable(ref, options);
  await destination.insertRows({
    database: ref.database,
    table: resync,
    rows: generatedRows(resyncRows, 200),
    deduplicationToken: `${ref.table}-resync`,
    useJsonNativeFormat: true,
  });
}

async function finalCount(ref: TableRef): Promise<number> {
  const result = await reader.query({
    query: `SELECT toString(count()) AS n FROM ${ref.database}.${ref.table} FINAL`,
    format: 'JSONEachRow',
  });
  const [row] = await result.json<{ n: string }>();
  return Number(row?.n);
}

describe('resync swap', () => {
  it('readers never see the table missing or empty while EXCHANGE swaps it', async () => {
    const ref = { database: 'swaps', table: 'accounts' };
    await prepare(ref, 1000, 2000);
    const seen = new Map<string, number>();
    let swapped = false;
    let readsAfterSwap = 0;
    const readLoop = async () => {
      // Bounded: stops a few reads after the swap, or after 5000 reads whatever happens.
      for (let i = 0; i < 5000 && readsAfterSwap < 30; i++) {
        const outcome = await finalCount(ref).then(String, (err: Error) => `error: ${err.message}`);
        seen.set(outcome, (seen.get(outcome) ?? 0) + 1);
        if (swapped) readsAfterSwap++;
      }
    };
    const readers = Promise.all([readLoop(), readLoop(), readLoop()]);
    // The swap waits (bounded) until the readers have seen the old table, however slow they start.
    for (let i = 0; i < 1000 && !seen.has('1000'); i++)
      await new Promise((resolve) => setTimeout(resolve, 10));
    expect(await destination.swapResyncTable(ref)).toBe('exchange');
    swapped = true;
    await readers;
    console.log('reads during the EXCHANGE swap, by outcome:', Object.fromEntries(seen));
    expect([...seen.keys()].sort()).toEqual(['1000', '2000']);
    expect(await destination.countRows(ref)).toBe(2000);
    // The old rows wait beside it (CDC may still write there) until the caller drops them.
    expect(await destination.countRows({ database: 'swaps', table: 'accounts_resync' })).toBe(1000);
    await destination.dropSwappedOutTable(ref);
    expect(await destination.tableExists({ database: 'swaps', table: 'accounts_resync' })).toBe(false);
    expect(await destination.countRows(ref)).toBe(2000);
  });

  it('finishes a swap that crashed after EXCHANGE, and a repeated call is harmless', async () => {
    const ref = { database: 'swaps', table: 'crashed' };
    await prepare(ref, 10, 30);
    await reader.command({ query: 'EXCHANGE TABLES swaps.crashed AND swaps.crashed_resync' });
    expect(await destination.swapResyncTable(ref)).toBe('already-swapped');
    expect(await destination.countRows(ref)).toBe(30);
    await destination.dropSwappedOutTable(ref);
    expect(await destination.tableExists({ database: 'swaps', table: 'crashed_resync' })).toBe(false);
    expect(await destination.swapResyncTable(ref)).toBe('already-swapped');
    await destination.dropSwappedOutTable(ref);
    expect(await destination.countRows(ref)).toBe(30);
  });

  it('drops nothing beside a live table no swap marked', async () => {
    const ref = { database: 'swaps', table: 'unmarked' };
    await prepare(ref, 4, 6);
    await destination.dropSwappedOutTable(ref);
    expect(await destination.countRows({ database: 'swaps', table: 'unmarked_resync' })).toBe(6);
    expect(await destination.countRows(ref)).toBe(4);
  });

  it('falls back to RENAME where the database engine has no EXCHANGE, and resumes it', async () => {
    const ref = { database: 'legacy', table: 'events' };
    await prepare(ref, 5, 8);
    expect(await destination.swapResyncTable(ref)).toBe('rename');
    expect(await destination.countRows(ref)).toBe(8);
    expect(await destination.countRows({ database: 'legacy', table: swappedOutTableName('events') })).toBe(5);
    await destination.dropSwappedOutTable(ref);
    const leftovers = ['events_resync', swappedOutTableName('events')];
    for (const table of leftovers)
      expect(await destination.tableExists({ database: 'legacy', table })).toBe(false);

    const crashed = { database: 'legacy', table: 'halfway' };
    await prepare(crashed, 5, 9);
    // A crash between the two renames of a non-atomic database: live name missing (the swap
    // marks the live table before it renames it aside, so its clean-up knows the table is its own).
    await reader.command({ query: `ALTER TABLE legacy.halfway MODIFY COMMENT '${SWAPPED_OUT_MARKER}'` });
    await reader.command({
      query: `RENAME TABLE legacy.halfway TO legacy.${swappedOutTableName('halfway')}`,
    });
    expect(await destination.swapResyncTable(crashed)).toBe('rename');
    expect(await destination.swapResyncTable(crashed)).toBe('already-swapped');
    await destination.dropSwappedOutTable(crashed);
    expect(await destination.countRows(crashed)).toBe(9);
    expect(await destination.tableExists({ database: 'legacy', table: swappedOutTableName('halfway') })).toBe(
      false,
    );
  });

  it('a fresh resync table replaces a leftover from an abandoned resync', async () => {
    const ref = { database: 'swaps', table: 'abandoned' };
    await prepare(ref, 3, 4);
    await destination.createResyncTable(ref, options);
    expect(await destination.countRows({ database: 'swaps', table: 'abandoned_resync' })).toBe(0);
  });
});

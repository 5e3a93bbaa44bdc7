import type { ClickHouseClient } from '@clickhouse/client';
import { classifyDestinationError } from '../../core/classify.js';
import { DestinationFatalError } from '../../core/errors.js';
import { resyncTableName } from '../../core/table-schema.js';
import type { SwapMethod, TableRef } from '../../ports/destination.js';
import { destinationCall } from './client.js';
import { describeTables, qualifiedName, RESYNC_MARKER, setTableComment } from './tables.js';

/** Where the rename fallback parks the old table until it is dropped. */
export function swappedOutTableName(table: string): string {
  return `${table}_swapped_out`;
}

/** Codes with which a server or database engine says it has no EXCHANGE: NOT_IMPLEMENTED, SYNTAX_ERROR. */
const NO_EXCHANGE_CODES = new Set(['48', '62']);

/**
 * Replace `<table>` by `<table>_resync`, setting the old rows aside (in `_resync` after EXCHANGE,
 * in `_swapped_out` after the rename fallback) until dropSwappedOutTable: CDC may still write to
 * both until the caller has stopped it, so nothing is dropped here. Resumes whatever a crashed
 * attempt left undone; state is read from the tables themselves:
 * - the live table carries RESYNC_MARKER → the swap happened (only the drop may be left);
 * - `_swapped_out` exists and the live table does not → the rename fallback stopped half way;
 * - `_resync` exists → EXCHANGE TABLES (or the rename fallback);
 * - only the live table exists → a previous call completed; nothing to do.
 */
export async function swapResyncTable(client: ClickHouseClient, ref: TableRef): Promise<SwapMethod> {
  const { live, resync, swappedOut, present } = await swapTables(client, ref);
  if (live?.comment === RESYNC_MARKER) return 'already-swapped';
  if (present.has(swappedOut.table)) {
    if (live === undefined && present.has(resync.table)) {
      await renameTables(client, [[resync, ref]]);
      return 'rename';
    }
    throw new DestinationFatalError(
      `${ref.table} has ${swappedOut.table} but no swap in progress: resolve by hand`,
    );
  }
  if (!present.has(resync.table)) {
    // Live table and no resync table: a previous call finished everything but could not report it.
    if (live !== undefined) return 'already-swapped';
    throw new DestinationFatalError(
      `cannot swap ${ref.database}.${ref.table}: neither it nor ${resync.table} exists`,
    );
  }
  if (live === undefined) {
    await renameTables(client, [[resync, ref]]);
    return 'rename';
  }
  try {
    await client.command({ query: `EXCHANGE TABLES ${qualifiedName(ref)} AND ${qualifiedName(resync)}` });
    return 'exchange';
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code !== 'string' || !NO_EXCHANGE_CODES.has(code)) throw classifyDestinationError(err);
    await renameTables(client, [
      [ref, swappedOut],
      [resync, ref],
    ]);
    return 'rename';
  }
}

/**
 * After a swap: drop the old rows it set aside, then clear the marker. A live table without the
 * marker has nothing set aside (or a previous call finished), and nothing is dropped: a
 * `_resync` table next to an unmarked live table is not ours to remove.
 */
export async function dropSwappedOutTable(client: ClickHouseClient, ref: TableRef): Promise<void> {
  const { live, resync, swappedOut } = await swapTables(client, ref);
  if (live?.comment !== RESYNC_MARKER) return;
  for (const old of [resync, swappedOut])
    await destinationCall(() => client.command({ query: `DROP TABLE IF EXISTS ${qualifiedName(old)}` }));
  await setTableComment(client, ref, '');
}

async function swapTables(client: ClickHouseClient, ref: TableRef) {
  const resync: TableRef = { database: ref.database, table: resyncTableName(ref.table) };
  const swappedOut: TableRef = { database: ref.database, table: swappedOutTableName(ref.table) };
  const present = new Map(
    (await describeTables(client, ref.database, [ref.table, resync.table, swappedOut.table])).map((table) => [
      table.name,
      table,
    ]),
  );
  return { live: present.get(ref.table), resync, swappedOut, present };
}

function renameTables(client: ClickHouseClient, pairs: [TableRef, TableRef][]) {
  return destinationCall(() =>
    client.command({
      query: `RENAME TABLE ${pairs.map(([from, to]) => `${qualifiedName(from)} TO ${qualifiedName(to)}`).join(', ')}`,
    }),
  );
}

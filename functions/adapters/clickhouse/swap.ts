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
 * Replace `<table>` by `<table>_resync` and drop the old rows, resuming whatever a crashed
 * attempt left undone. State is read from the tables themselves:
 * - the live table carries RESYNC_MARKER → EXCHANGE happened; drop `_resync` (the old rows), unmark;
 * - `_swapped_out` exists → the rename fallback ran; finish it and drop the old rows;
 * - `_resync` exists → EXCHANGE TABLES (or the rename fallback), then clean up;
 * - only the live table exists → a previous call completed; nothing to do.
 */
export async function swapResyncTable(client: ClickHouseClient, ref: TableRef): Promise<SwapMethod> {
  const resync: TableRef = { database: ref.database, table: resyncTableName(ref.table) };
  const swappedOut: TableRef = { database: ref.database, table: swappedOutTableName(ref.table) };
  const present = new Map(
    (await describeTables(client, ref.database, [ref.table, resync.table, swappedOut.table])).map((table) => [
      table.name,
      table,
    ]),
  );
  const live = present.get(ref.table);
  const drop = (target: TableRef) =>
    destinationCall(() => client.command({ query: `DROP TABLE IF EXISTS ${qualifiedName(target)}` }));
  const rename = (pairs: [TableRef, TableRef][]) =>
    destinationCall(() =>
      client.command({
        query: `RENAME TABLE ${pairs.map(([from, to]) => `${qualifiedName(from)} TO ${qualifiedName(to)}`).join(', ')}`,
      }),
    );

  if (live?.comment === RESYNC_MARKER) {
    await drop(resync);
    await setTableComment(client, ref, '');
    return 'already-swapped';
  }
  if (present.has(swappedOut.table)) {
    if (live === undefined && present.has(resync.table)) await rename([[resync, ref]]);
    await drop(swappedOut);
    if (present.has(resync.table) && live !== undefined) {
      throw new DestinationFatalError(
        `${ref.table} has both ${resync.table} and ${swappedOut.table}: resolve by hand`,
      );
    }
    await clearMarker(client, ref);
    return 'already-swapped';
  }
  if (!present.has(resync.table)) {
    // Live table and no resync table: a previous call finished everything but could not report it.
    if (live !== undefined) return 'already-swapped';
    throw new DestinationFatalError(
      `cannot swap ${ref.database}.${ref.table}: neither it nor ${resync.table} exists`,
    );
  }
  if (live === undefined) {
    await rename([[resync, ref]]);
    await clearMarker(client, ref);
    return 'rename';
  }
  let method: SwapMethod = 'exchange';
  try {
    await client.command({ query: `EXCHANGE TABLES ${qualifiedName(ref)} AND ${qualifiedName(resync)}` });
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code !== 'string' || !NO_EXCHANGE_CODES.has(code)) throw classifyDestinationError(err);
    await rename([
      [ref, swappedOut],
      [resync, ref],
    ]);
    method = 'rename';
  }
  await drop(method === 'exchange' ? resync : swappedOut);
  await clearMarker(client, ref);
  return method;
}

async function clearMarker(client: ClickHouseClient, ref: TableRef): Promise<void> {
  const [live] = await describeTables(client, ref.database, [ref.table]);
  if (live?.comment === RESYNC_MARKER) await setTableComment(client, ref, '');
}

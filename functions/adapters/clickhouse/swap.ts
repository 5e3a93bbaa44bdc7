import type { ClickHouseClient } from '@clickhouse/client';
import { classifyDestinationError } from '../../core/classify.js';
import { DestinationFatalError } from '../../core/errors.js';
import { qualifiedTableName } from '../../core/table-key.js';
import { resyncTableName, swappedOutTableName } from '../../core/table-schema.js';
import type { SwapMethod, TableRef } from '../../ports/destination.js';
import { destinationCall } from './client.js';
import { describeTables, qualifiedName, RESYNC_MARKER, setTableComment } from './tables.js';

export { swappedOutTableName };

/**
 * The comment the rename fallback puts on the live table just before it renames it to
 * `<table>_swapped_out`: the only `_swapped_out` table the clean-up drops is one carrying it. A
 * `<table>_swapped_out` without it (a user's table, a mapping from before the suffix was
 * reserved) is never renamed over, dropped or read as a swap in progress.
 */
export const SWAPPED_OUT_MARKER =
  'mongo-clickhouse-pipes: old rows set aside by a resync swap, to be dropped';

/** Codes with which a server or database engine says it has no EXCHANGE: NOT_IMPLEMENTED, SYNTAX_ERROR. */
const NO_EXCHANGE_CODES = new Set(['48', '62']);

/**
 * Replace `<table>` by `<table>_resync`, setting the old rows aside (in `_resync` after EXCHANGE,
 * in `_swapped_out` after the rename fallback) until dropSwappedOutTable: CDC may still write to
 * both until the caller has stopped it, so nothing is dropped here. Resumes whatever a crashed
 * attempt left undone; state is read from the tables themselves:
 * - the live table carries RESYNC_MARKER → the swap happened (only the drop may be left);
 * - `_swapped_out` carries SWAPPED_OUT_MARKER and the live table is missing → the rename
 *   fallback stopped half way;
 * - `_resync` exists → EXCHANGE TABLES (or the rename fallback);
 * - only the live table exists → a previous call completed; nothing to do.
 * A `_swapped_out` without the marker is not the swap's: it is left alone, and only stops the
 * rename fallback, which would need its name.
 */
export async function swapResyncTable(client: ClickHouseClient, ref: TableRef): Promise<SwapMethod> {
  const { live, resync, swappedOut, present } = await swapTables(client, ref);
  if (live?.comment === RESYNC_MARKER) return 'already-swapped';
  const aside = present.get(swappedOut.table);
  if (aside?.comment === SWAPPED_OUT_MARKER) {
    if (live === undefined && present.has(resync.table)) {
      await renameTables(client, [[resync, ref]]);
      return 'rename';
    }
    throw new DestinationFatalError(
      `${ref.table} has ${swappedOut.table} set aside by an earlier swap but no swap in progress: resolve by hand`,
    );
  }
  if (!present.has(resync.table)) {
    // Live table and no resync table: a previous call finished everything but could not report it.
    if (live !== undefined) return 'already-swapped';
    throw new DestinationFatalError(
      `cannot swap ${qualifiedTableName(ref)}: neither it nor ${resync.table} exists`,
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
    if (aside !== undefined) {
      throw new DestinationFatalError(
        `cannot swap ${qualifiedTableName(ref)} without EXCHANGE: ${swappedOut.table} exists and was not ` +
          'created by a resync swap (its name is reserved for one); rename or drop it, then resync again',
      );
    }
    // Marked before the rename, so the table it becomes is recognisably the swap's own.
    await setTableComment(client, ref, SWAPPED_OUT_MARKER);
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
 * `_resync` table next to an unmarked live table is not ours to remove. Beside a marked live
 * table, `_resync` holds the old rows an EXCHANGE set aside; `_swapped_out` is dropped only when
 * it carries SWAPPED_OUT_MARKER (the rename fallback's), never when someone else made it.
 */
export async function dropSwappedOutTable(client: ClickHouseClient, ref: TableRef): Promise<void> {
  const { live, resync, swappedOut, present } = await swapTables(client, ref);
  if (live?.comment !== RESYNC_MARKER) return;
  const setAside = [resync].filter((table) => present.has(table.table));
  if (present.get(swappedOut.table)?.comment === SWAPPED_OUT_MARKER) setAside.push(swappedOut);
  for (const old of setAside)
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

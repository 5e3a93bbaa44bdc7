import { TableBelongsToNoPipeError, TableOwnedByAnotherPipeError } from '../core/errors.js';
import type { Destination, TableRef } from '../ports/destination.js';
import type { PipeStore, TableClaimRecord } from '../ports/pipe-store.js';

/**
 * Destination table ownership (issue 14; docs/pipe-store.md, "Table claims"): a table belongs
 * to exactly one pipe, which alone creates, writes, swaps or drops it. The claim on
 * `<database>.<table>` covers `<table>_resync` and `<table>_swapped_out` too (their suffixes
 * are reserved for the product, so no mapping can name them).
 */

export type ClaimStore = Pick<PipeStore, 'claimTable' | 'getTableClaim'>;

function ownedElsewhere(
  pipeId: string | null,
  ref: TableRef,
  claim: TableClaimRecord,
): TableOwnedByAnotherPipeError {
  return new TableOwnedByAnotherPipeError(ref.database, ref.table, claim.pipeId, pipeId);
}

/**
 * Before a pipe creates tables for new mappings (SetUpDestination, AddTables): each table must be
 * the pipe's already (a re-run of the step), or free in the store AND absent from ClickHouse. A
 * table another pipe owns → TableOwnedByAnotherPipeError; a table that exists with no owner
 * (made by hand, or kept when its pipe was deleted) → TableBelongsToNoPipeError. Every table is
 * checked before any is claimed, so a refused mapping leaves no claim behind; ClickHouse is
 * asked before a claim is written, so a crash in between leaves nothing to undo. A claim the
 * pipe holds always names a table it may create or already made: its re-runs pass on it.
 */
export async function claimNewTables(
  deps: { store: ClaimStore; destination: Pick<Destination, 'tableExists'> },
  pipeId: string,
  refs: readonly TableRef[],
): Promise<void> {
  const free: TableRef[] = [];
  for (const ref of refs) {
    const current = await deps.store.getTableClaim(ref);
    if (current?.pipeId === pipeId) continue;
    if (current) throw ownedElsewhere(pipeId, ref, current);
    if (await deps.destination.tableExists(ref)) throw new TableBelongsToNoPipeError(ref.database, ref.table);
    free.push(ref);
  }
  // Of pipes racing for one free table, the conditional write lets exactly one through.
  for (const ref of free) await requireOwnedTable(deps.store, pipeId, ref);
}

/**
 * Before a pipe drops, truncates, exchanges or swaps a table of one of its mappings (RemoveTables
 * with dropTables, a resync's `_resync` table, its swap and clean-up): the table must be the
 * pipe's, else TableOwnedByAnotherPipeError and nothing is touched. A mapped table nobody
 * claims is a pipe's from before claims existed, set up when the mapping was made: the pipe
 * claims it now (of two such pipes on one table, the first to ask keeps it).
 */
export async function requireOwnedTable(store: ClaimStore, pipeId: string, ref: TableRef): Promise<void> {
  const claim = await store.claimTable(pipeId, ref);
  if (claim.pipeId !== pipeId) throw ownedElsewhere(pipeId, ref, claim);
}

/** requireOwnedTable for each table, all checked before the caller changes anything. */
export async function requireOwnedTables(
  store: ClaimStore,
  pipeId: string,
  refs: readonly TableRef[],
): Promise<void> {
  for (const ref of refs) await requireOwnedTable(store, pipeId, ref);
}

/**
 * For the API, before it accepts a create or a table change (a 409 at request time rather
 * than a Failed pipe later): throws TableOwnedByAnotherPipeError for the first table another
 * pipe owns. `pipeId` is the pipe the request is for (null for a create), whose own claims pass.
 * Writes nothing; the machine's Task claims for real.
 */
export async function refuseTablesOwnedElsewhere(
  store: Pick<PipeStore, 'getTableClaim'>,
  pipeId: string | null,
  refs: readonly TableRef[],
): Promise<void> {
  for (const ref of refs) {
    const claim = await store.getTableClaim(ref);
    if (claim && claim.pipeId !== pipeId) throw ownedElsewhere(pipeId, ref, claim);
  }
}

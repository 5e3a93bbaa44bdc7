import { TableOwnedByAnotherPipeError } from '../core/errors.js';
import { qualifiedTableName } from '../core/table-key.js';
import type { TableRef } from '../ports/destination.js';
import type { PipeStore } from '../ports/pipe-store.js';
import type { PreflightCheck } from './preflight-check.js';

/** A target table the new pipe could not take: another pipe's (`ownerPipeId`), or present with no owner (null). */
export interface TableConflict {
  ref: TableRef;
  ownerPipeId: string | null;
}

export type ClaimReader = Pick<PipeStore, 'getTableClaim' | 'getPipe'>;

/**
 * The target tables a new pipe may not take (docs/pipe-store.md, "Table claims"): claimed by
 * another pipe, or, when `existing` lists the destination's tables, present without a claim
 * (SetUpDestination refuses those). A claim of a pipe named `ownName` is a retry of the same
 * create (names are unique) and passes. Reads only.
 */
export async function tableConflicts(
  store: ClaimReader,
  refs: readonly TableRef[],
  options: { ownName: string | null; existing: readonly TableRef[] | null },
): Promise<TableConflict[]> {
  const present = new Set((options.existing ?? []).map(qualifiedTableName));
  const conflicts: TableConflict[] = [];
  for (const ref of refs) {
    const claim = await store.getTableClaim(ref);
    if (!claim) {
      if (present.has(qualifiedTableName(ref))) conflicts.push({ ref, ownerPipeId: null });
      continue;
    }
    const owner = options.ownName === null ? null : await store.getPipe(claim.pipeId).catch(() => null);
    if (owner !== null && owner.name === options.ownName) continue;
    conflicts.push({ ref, ownerPipeId: claim.pipeId });
  }
  return conflicts;
}

/** The create path: a 409 before anything is stored when a target table is another pipe's. */
export async function refuseTablesOfOtherPipes(
  store: ClaimReader,
  refs: readonly TableRef[],
  ownName: string,
): Promise<void> {
  const [first] = await tableConflicts(store, refs, { ownName, existing: null });
  if (first?.ownerPipeId)
    throw new TableOwnedByAnotherPipeError(first.ref.database, first.ref.table, first.ownerPipeId, null);
}

/** The pre-flight's report of the same rule; `existing` is null when the destination could not be read. */
export async function tableOwnershipCheck(
  store: ClaimReader,
  refs: readonly TableRef[],
  existing: readonly TableRef[] | null,
): Promise<PreflightCheck> {
  const conflicts = await tableConflicts(store, refs, { ownName: null, existing });
  const unread = existing === null ? ' (claims only: the destination could not be read)' : '';
  if (conflicts.length === 0)
    return {
      id: 'tables.ownership',
      status: 'passed',
      message: `${refs.map(qualifiedTableName).join(', ')}: free for this pipe${unread}`,
      advice: null,
    };
  const lines = conflicts.map(({ ref, ownerPipeId }) =>
    ownerPipeId === null
      ? `table ${qualifiedTableName(ref)} exists and belongs to no pipe`
      : `table ${qualifiedTableName(ref)} belongs to pipe ${ownerPipeId}`,
  );
  return {
    id: 'tables.ownership',
    status: 'failed',
    message: `${lines.join('; ')}${unread}`,
    advice:
      'a table belongs to one pipe, which alone creates, writes and drops it: map these collections to ' +
      'other targetTable names (or another targetDatabase), or drop a table no pipe owns first',
  };
}

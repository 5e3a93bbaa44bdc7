import { randomUUID } from 'node:crypto';
import { resyncTableName, tableOptionsFor } from '../core/table-schema.js';
import type { CdcTrigger } from '../ports/lifecycle.js';
import { CDC_LEASE, type PipeStore, type TableMappingRecord } from '../ports/pipe-store.js';
import type { StartPointInput } from '../ports/source.js';
import type { ResyncTableOps } from './destination-needs.js';
import { loadPipeContext, loadTable, tableRefOf } from './table-context.js';
import { type ClaimStore, requireOwnedTables } from './table-ownership.js';

export interface CdcRestartDeps {
  store: Pick<PipeStore, 'revokeLease'>;
  /** Starts the next run at once; absent: the schedule starts it within one interval. */
  trigger?: CdcTrigger;
}

/**
 * After a step changed which tables CDC writes to (a table added, put in or out of resync,
 * removed): the running CDC run, which read the tables when it began, must not commit a resume
 * point past events it routed the old way. Revoking its lease makes its next fenced write fail,
 * so it ends there; the next run reads the tables as they are now and replays from the last
 * commit, which came before this revoke (docs/engines.md). `start` starts that run at once.
 */
export async function restartCdc(
  deps: CdcRestartDeps,
  pipeId: string,
  reason: string,
  start: boolean,
): Promise<void> {
  await deps.store.revokeLease(pipeId, CDC_LEASE, reason);
  if (start) await deps.trigger?.runSoon(pipeId, 'restart');
}

export interface ResyncDeps extends CdcRestartDeps {
  store: CdcRestartDeps['store'] &
    ClaimStore &
    Pick<
      PipeStore,
      | 'getPipe'
      | 'getTableMapping'
      | 'setTableState'
      | 'deletePartitionPlan'
      | 'acquireLease'
      | 'releaseLease'
    >;
  destination: ResyncTableOps;
}

/**
 * Step 1 of a resync: an empty `<table>_resync` per table, each table's old plan forgotten and
 * the table in Resync, so CDC writes its events to the live table and `_resync` alike and the
 * next plan + snapshotChunk load into `_resync`. CDC is restarted before this returns, so the
 * load (which comes after) reads nothing older than the point from which CDC fills `_resync`.
 * A table already in Resync (a resync of a resync) first goes back to its live table alone,
 * and CDC restarts, before its `_resync` is recreated: no run may still write to the old one.
 */
export async function prepareResyncTables(
  deps: ResyncDeps,
  input: { pipeId: string; tableKeys: readonly string[]; startCdc: boolean },
): Promise<{ resyncTables: string[] }> {
  const context = await loadPipeContext(deps.store, input.pipeId);
  const mappings: TableMappingRecord[] = [];
  for (const tableKey of input.tableKeys) mappings.push(await loadTable(deps.store, input.pipeId, tableKey));
  // `<table>_resync` is dropped and recreated below: only for tables this pipe owns.
  await requireOwnedTables(
    deps.store,
    input.pipeId,
    mappings.map((mapping) => tableRefOf(context, mapping)),
  );
  const reloading = mappings.filter((mapping) => mapping.state === 'Resync');
  for (const mapping of reloading)
    await deps.store.setTableState(input.pipeId, mapping.tableKey, { state: 'Replicating' });
  if (reloading.length > 0) await restartCdc(deps, input.pipeId, 'a resync starts over', false);
  for (const mapping of mappings) {
    await deps.destination.createResyncTable(
      tableRefOf(context, mapping),
      tableOptionsFor(context.tableOptions, mapping, context.settings),
    );
    await deps.store.deletePartitionPlan(input.pipeId, mapping.tableKey);
    await deps.store.setTableState(input.pipeId, mapping.tableKey, { state: 'Resync' });
  }
  await restartCdc(deps, input.pipeId, 'tables entered resync', input.startCdc);
  return { resyncTables: mappings.map((mapping) => resyncTableName(mapping.targetTable)) };
}

/** Longest a swap holds the CDC lease; a swap that dies holds CDC up for at most this long. */
const SWAP_LEASE_MS = 5 * 60_000;

/**
 * Last step: each loaded `<table>_resync` swapped in and the table marked Replicating, then the
 * old rows the swap set aside dropped. The swap holds the CDC lease meanwhile (revoking the
 * running run first): EXCHANGE renames the tables under a run that writes both, and a run
 * that wrote a batch to the live table just before it and to `_resync` just after would have
 * put both copies in the old table, then committed past them. Holding the lease, no run can
 * commit until the table is Replicating; a revoked run's rows are replayed by the next run
 * from the last commit. The table stays in Resync until its swap returned, so a crash re-runs
 * the swap, which is safe to repeat; the old rows are dropped only after the lease is released
 * and the next run writes the live tables alone (docs/engines.md).
 */
export async function finishResync(
  deps: ResyncDeps,
  input: { pipeId: string; tableKeys: readonly string[]; startCdc: boolean },
): Promise<{ swapped: string[] }> {
  const context = await loadPipeContext(deps.store, input.pipeId);
  const swapped: string[] = [];
  const refs = [];
  // EXCHANGE, the rename fallback and the drop of the old rows touch only tables this pipe
  // owns: checked for every table before the lease is taken or anything is renamed.
  const owned = [];
  for (const tableKey of input.tableKeys)
    owned.push(tableRefOf(context, await loadTable(deps.store, input.pipeId, tableKey)));
  await requireOwnedTables(deps.store, input.pipeId, owned);
  await deps.store.revokeLease(input.pipeId, CDC_LEASE, 'resync tables are being swapped in');
  const holder = `swap-${randomUUID()}`;
  const lease = await deps.store.acquireLease(input.pipeId, CDC_LEASE, holder, SWAP_LEASE_MS);
  try {
    for (const tableKey of input.tableKeys) {
      const mapping = await loadTable(deps.store, input.pipeId, tableKey);
      const ref = tableRefOf(context, mapping);
      refs.push(ref);
      if (mapping.state !== 'Resync') continue;
      await deps.destination.swapResyncTable(ref);
      await deps.store.setTableState(input.pipeId, tableKey, { state: 'Replicating' });
      swapped.push(mapping.targetTable);
    }
  } finally {
    await deps.store.releaseLease(input.pipeId, CDC_LEASE, holder, lease.fence);
  }
  if (input.startCdc) await deps.trigger?.runSoon(input.pipeId, 'restart');
  for (const ref of refs) await deps.destination.dropSwappedOutTable(ref);
  return { swapped };
}

const RESET_LEASE_MS = 60_000;

/**
 * A whole-pipe resync of a pipe whose resume point may be gone (it was Failed or Paused): CDC
 * moves to the new start point, recorded after the tables entered Resync, so every `_resync`
 * table gets every change from there on. The move takes the CDC lease like a run (revoking the
 * running one first); a run that takes it in between makes this a LeaseHeldError, retried.
 */
export async function resetResumePoint(
  store: Pick<PipeStore, 'revokeLease' | 'acquireLease' | 'commitResumePoint' | 'releaseLease'>,
  pipeId: string,
  point: StartPointInput,
): Promise<boolean> {
  // Without a cluster time the start point cannot be a resume point; CDC then replays from the
  // older one, which versions make correct (only longer).
  if (!point.clusterTime) return false;
  await store.revokeLease(pipeId, CDC_LEASE, 'the resume point moves to the resync start point');
  const holder = `resync-${randomUUID()}`;
  const lease = await store.acquireLease(pipeId, CDC_LEASE, holder, RESET_LEASE_MS);
  try {
    await store.commitResumePoint(
      pipeId,
      { token: point.token, clusterTime: point.clusterTime },
      lease.fence,
    );
  } finally {
    await store.releaseLease(pipeId, CDC_LEASE, holder, lease.fence);
  }
  return true;
}

import { randomUUID } from 'node:crypto';
import { resyncTableName } from '../core/table-schema.js';
import { CDC_LEASE, type PipeStore } from '../ports/pipe-store.js';
import type { ResyncTableOps } from './destination-needs.js';
import { loadPipeContext, loadTable, tableRefOf } from './table-context.js';

export interface ResyncDeps {
  store: Pick<PipeStore, 'getPipe' | 'getTableMapping' | 'setTableState' | 'deletePartitionPlan'>;
  destination: ResyncTableOps;
}

/**
 * Step 1 of a table resync: an empty `<table>_resync`, the old plan forgotten and the table in
 * Resync, so the next plan + snapshotChunk load into `<table>_resync`. Re-running it restarts
 * the load from an empty table, which is what a resync of a resync means.
 */
export async function prepareResyncTable(
  deps: ResyncDeps,
  input: { pipeId: string; tableKey: string },
): Promise<{ resyncTable: string }> {
  const context = await loadPipeContext(deps.store, input.pipeId);
  const mapping = await loadTable(deps.store, input.pipeId, input.tableKey);
  await deps.destination.createResyncTable(tableRefOf(context, mapping), context.tableOptions);
  await deps.store.deletePartitionPlan(input.pipeId, input.tableKey);
  if (mapping.state !== 'Resync')
    await deps.store.setTableState(input.pipeId, input.tableKey, { state: 'Resync' });
  return { resyncTable: resyncTableName(mapping.targetTable) };
}

/**
 * Last step: swap the loaded `<table>_resync` in and mark the table Replicating. The table
 * stays in Resync until the swap returned, so a crash mid-swap re-runs the swap, and the
 * destination's swap is safe to repeat (see docs/engines.md).
 */
export async function swapResyncTable(
  deps: ResyncDeps,
  input: { pipeId: string; tableKey: string },
): Promise<{ table: string; swapped: boolean }> {
  const context = await loadPipeContext(deps.store, input.pipeId);
  const mapping = await loadTable(deps.store, input.pipeId, input.tableKey);
  if (mapping.state !== 'Resync') return { table: mapping.targetTable, swapped: false };
  await deps.destination.swapResyncTable(tableRefOf(context, mapping));
  await deps.store.setTableState(input.pipeId, input.tableKey, { state: 'Replicating' });
  return { table: mapping.targetTable, swapped: true };
}

const MOVE_LEASE_MS = 60_000;

/**
 * After a whole-pipe resync: CDC resumes at the start point recorded before the reload. The move
 * takes the CDC lease like a batch does, so it waits out (LeaseHeldError, retried) a batch still
 * in flight, and a batch of the old run can never commit over it.
 */
export async function moveResumePointToStart(
  store: Pick<PipeStore, 'getStartPoint' | 'acquireLease' | 'commitResumePoint' | 'releaseLease'>,
  pipeId: string,
): Promise<void> {
  const start = await store.getStartPoint(pipeId);
  // Without a cluster time the start point cannot be a resume point; CDC then replays from the
  // older one, which versions make correct (only longer).
  if (!start?.clusterTime) return;
  const holder = `resync-${randomUUID()}`;
  const lease = await store.acquireLease(pipeId, CDC_LEASE, holder, MOVE_LEASE_MS);
  try {
    await store.commitResumePoint(
      pipeId,
      { token: start.token, clusterTime: start.clusterTime },
      lease.fence,
    );
  } finally {
    await store.releaseLease(pipeId, CDC_LEASE, holder, lease.fence);
  }
}

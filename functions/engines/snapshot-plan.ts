import { encodePartitionBounds } from '../core/partition-plan.js';
import type { PartitionRecord, PipeStore } from '../ports/pipe-store.js';
import type { SnapshotSource } from '../ports/source.js';
import { loadPipeContext, loadTable, namespaceOf } from './table-context.js';

export interface PlanTableSnapshotDeps {
  store: Pick<PipeStore, 'getPipe' | 'getTableMapping' | 'savePartitionPlan' | 'setTableEstimate'>;
  source: Pick<SnapshotSource, 'planPartitions'>;
}

export interface PlannedTable {
  tableKey: string;
  strategy: string;
  /** Why this strategy (for a sharded source: whether and why the chunks were followed). */
  reason: string;
  partitions: PartitionRecord[];
}

/**
 * Plans one table's snapshot and saves the plan. The store keeps the first plan saved, so a
 * re-run after a crash gets the same partitions with their checkpoints, never a new split.
 */
export async function planTableSnapshot(
  deps: PlanTableSnapshotDeps,
  input: { pipeId: string; tableKey: string },
): Promise<PlannedTable> {
  const { settings } = await loadPipeContext(deps.store, input.pipeId);
  const mapping = await loadTable(deps.store, input.pipeId, input.tableKey);
  const plan = await deps.source.planPartitions(namespaceOf(mapping), {
    targetRowsPerPartition: settings.snapshotNumRowsPerPartition,
  });
  const partitions = await deps.store.savePartitionPlan(
    input.pipeId,
    input.tableKey,
    plan.partitions.map((bounds, index) => ({ index, bounds: encodePartitionBounds(bounds) })),
  );
  await deps.store.setTableEstimate(input.pipeId, input.tableKey, plan.estimatedCount);
  return { tableKey: input.tableKey, strategy: plan.strategy, reason: plan.reason, partitions };
}

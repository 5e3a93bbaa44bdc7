export type { Budget } from './budget.js';
export { DEFAULT_SAFETY_MARGIN_MS } from './budget.js';
export type {
  CdcBatchApplied,
  CdcBatchDeps,
  CdcBatchInput,
  CdcBatchResult,
  CdcBatchSkipped,
} from './cdc-batch.js';
export { cdcBatch, DEFAULT_CDC_MAX_BYTES } from './cdc-batch.js';
export { CDC_TABLE_STATES, holdBackTrailingTransaction } from './cdc-rows.js';
export { deduplicationToken } from './dedup-token.js';
export type { ResyncTableOps, RowSink } from './destination-needs.js';
export type { ResyncDeps } from './resync.js';
export { moveResumePointToStart, prepareResyncTable, swapResyncTable } from './resync.js';
export type { SnapshotChunkDeps, SnapshotChunkInput, SnapshotChunkResult } from './snapshot-chunk.js';
export { PartitionNotPlannedError, snapshotChunk } from './snapshot-chunk.js';
export type { PlannedTable, PlanTableSnapshotDeps } from './snapshot-plan.js';
export { planTableSnapshot } from './snapshot-plan.js';
export { MissingTargetDatabaseError, TableNotMappedError } from './table-context.js';

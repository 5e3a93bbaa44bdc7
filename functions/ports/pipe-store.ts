import type { CdcMode } from '../core/cdc-mode.js';
import type { PipeEvent, PipeState } from '../core/lifecycle.js';
import type { TableRef } from './destination.js';
import type { ClusterTime, SourceHealth, StartPointInput } from './source.js';

/**
 * The pipe store port: everything a pipe remembers between Lambda invocations. Pipe state and
 * its history, per-table mappings and progress, snapshot partition checkpoints, the change
 * stream resume point and the leases that keep one writer per pipe. Settings, source and
 * destination descriptors are opaque here: the core validates them, the store only keeps them.
 */

/** The last error a pipe hit, as shown in its status. */
export interface PipeErrorRecord {
  name: string;
  message: string;
  /** Epoch milliseconds. */
  at: number;
}

/** One state change, as written to the pipe's history (newest first when listed). */
export interface HistoryEntry {
  /** The pipe version this change produced; versions start at 1 (the create). */
  version: number;
  from: PipeState | null;
  to: PipeState;
  event: PipeEvent;
  reason: string;
  actor: string;
  at: number;
  /** The request (operation) that made this change, when the caller named one: a retry recognises its own change by it. */
  requestId?: string;
}

export interface PipeRecord {
  id: string;
  name: string;
  state: PipeState;
  settings: unknown;
  source: unknown;
  destination: unknown;
  createdAt: number;
  updatedAt: number;
  lastError: PipeErrorRecord | null;
  /** Optimistic concurrency: bumped by every state change, by nothing else. */
  version: number;
  idempotencyKey: string | null;
}

export interface CreatePipeInput {
  /** Generated when absent. Letters, digits, '-' and '_' only. */
  id?: string;
  /** Unique per deployment. Without an idempotency key, reusing a name with the same request returns the existing pipe. */
  name: string;
  idempotencyKey?: string;
  settings: unknown;
  source: unknown;
  destination: unknown;
  actor: string;
  reason?: string;
}

export interface CreatePipeResult {
  pipe: PipeRecord;
  /** False when an identical earlier request already created this pipe. */
  created: boolean;
}

export interface SettingsUpdateExpectation {
  state: PipeState;
  version: number;
}

export interface ApplyEventOptions {
  /** Refuse the change unless the pipe is in this state (the API passes what the user saw). */
  expectedState?: PipeState;
  reason: string;
  actor: string;
  /** The operation's request id, kept on the history entry (`HistoryEntry.requestId`). */
  requestId?: string;
}

export interface Page<T> {
  items: T[];
  /** Opaque; pass back to get the next page. Null when there is none. */
  nextCursor: string | null;
}

export interface ListOptions {
  limit?: number;
  cursor?: string | null;
}

export const TABLE_STATES = ['Pending', 'Snapshot', 'Replicating', 'Resync', 'Stopped', 'Removed'] as const;
export type TableState = (typeof TABLE_STATES)[number];

/** Why a table stopped replicating without the user asking. */
export const TABLE_STOP_REASONS = [
  'dropped',
  'renamed',
  'databaseDropped',
  'invalidated',
  /** A typed column's value did not convert under `onTypeMismatch: 'fail'` (docs/table-schema.md). */
  'typeMismatch',
] as const;
export type TableStopReason = (typeof TABLE_STOP_REASONS)[number];

export interface TableProgress {
  documentsCopied: number;
  documentsEstimated: number;
  partitionsDone: number;
  partitionsTotal: number;
}

export interface TableMappingInput {
  sourceDatabaseName: string;
  sourceCollection: string;
  targetTable: string;
}

export interface TableMappingRecord extends TableMappingInput {
  pipeId: string;
  /** `<database>.<collection>`: unambiguous because database names cannot contain dots. */
  tableKey: string;
  state: TableState;
  stopReason: TableStopReason | null;
  stopMessage: string | null;
  progress: TableProgress;
  /**
   * Values of typed columns that did not convert, per column name (docs/table-schema.md): the
   * snapshot's (summed from its partitions) plus CDC's. Absent or empty when there were none.
   */
  typeMismatches?: Record<string, number>;
  updatedAt: number;
}

export interface TableStateChange {
  state: TableState;
  stopReason?: TableStopReason;
  stopMessage?: string;
}

export interface PartitionPlanEntry {
  index: number;
  /** Opaque to the store (the planner's bounds, e.g. EJSON strings). */
  bounds: unknown;
}

export interface PartitionRecord {
  pipeId: string;
  tableKey: string;
  index: number;
  bounds: unknown;
  /** The last `_id` copied, serialized by the caller; null before the first batch. */
  checkpoint: string | null;
  rowsCopied: number;
  /** Increases with every checkpoint; a write with a seq not above the stored one is refused. */
  seq: number;
  done: boolean;
  /** Typed column values of the partition that did not convert, per column (cumulative). */
  typeMismatches?: Record<string, number>;
  /**
   * The batch after the checkpoint whose end was fixed before its insert was let end (absent
   * when none): a chunk that finds it replays exactly that batch, under the same token.
   */
  pending?: PendingBatch;
  /**
   * Names the plan this partition belongs to: each saved plan gets a fresh one, so a writer that
   * loaded the partition of an earlier plan is refused (PlanFence). Absent on partitions saved
   * before plan ids existed.
   */
  planId?: string;
  updatedAt: number;
}

/**
 * The plan a partition writer loaded its partition from. A write that carries it is refused
 * (CheckpointRegressionError) once the table was planned again (a resync, or the table removed
 * and added back), so a chunk still running from an earlier plan cannot move the new plan's
 * partition. Every partition write carries one.
 */
export interface PlanFence {
  /** The loaded partition's `planId`; null when it had none (saved before plan ids). */
  planId: string | null;
}

/**
 * A snapshot batch recorded before its streamed insert is ended: where it starts (the
 * partition's checkpoint, null at the partition's start), where it ends (the serialized `_id` of
 * its last document) and the seq its checkpoint will carry (the stored seq + 1).
 */
export interface PendingBatch {
  seq: number;
  start: string | null;
  end: string;
}

export interface PartitionCheckpoint {
  seq: number;
  checkpoint: string;
  /** Cumulative for the partition (not a delta), so a replayed checkpoint is harmless. */
  rowsCopied: number;
  done?: boolean;
  /** Typed column mismatches of the partition so far, per column; cumulative like rowsCopied. */
  typeMismatches?: Record<string, number>;
}

export interface ResumePointInput {
  /** The change stream resume token, serialized by the caller; null when moving to a start point that only has a cluster time. */
  token: string | null;
  clusterTime: ClusterTime;
  /**
   * CDC lag when this point was committed: now − its cluster time while events were still
   * pending, 0 when the stream was caught up. Absent when the writer does not know (a reset).
   */
  lagMs?: number;
}

export interface ResumePointRecord extends ResumePointInput {
  fence: number;
  committedAt: number;
  lagMs?: number;
}

export interface StartPointRecord extends StartPointInput {
  recordedAt: number;
}

export interface LeaseRecord {
  name: string;
  holder: string;
  fence: number;
  expiresAt: number;
}

/** The lease that guards a pipe's resume point: only its current fence may commit tokens. */
export const CDC_LEASE = 'cdc';

/** Why a CDC run ended (docs/engines.md). */
export const CDC_RUN_ENDINGS = [
  'caught-up',
  'budget',
  'pipe-state',
  'lease-lost',
  'max-batches',
  'error',
] as const;
export type CdcRunEnding = (typeof CDC_RUN_ENDINGS)[number];

/** The last CDC run of a pipe, as its status shows it; rewritten while a long run goes on. */
export interface CdcRunRecord {
  holder: string;
  mode: CdcMode;
  startedAt: number;
  /** Null while the run goes on. */
  endedAt: number | null;
  batches: number;
  events: number;
  /** Events applied per second of the run so far. */
  eventsPerSecond: number;
  endedBecause: CdcRunEnding | null;
  /** The run ended on its budget with work left and started the next run at once. */
  handedOver: boolean;
  /** The source's topology and member states, read during the run; null when it could not be read. */
  source: SourceHealth | null;
}

/**
 * One point of a pipe's recent CDC history, taken each time its run record is written (about
 * every minute of a run and at its end): what the status page and `pipes watch` chart.
 */
export interface CdcSample {
  /** Epoch milliseconds. */
  at: number;
  /** The run this sample belongs to (its `startedAt`): `events` counts from there. */
  runStartedAt: number;
  /** CDC lag at the run's last committed batch; null before the run committed one. */
  lagMs: number | null;
  /** Events the run applied so far. */
  events: number;
  /** Events applied per second of the run so far. */
  eventsPerSecond: number;
}

/** How many samples a pipe's CDC history keeps: at most one per minute, so about two hours of a running pipe. */
export const CDC_HISTORY_LENGTH = 120;

export interface PipeRecords {
  createPipe(input: CreatePipeInput): Promise<CreatePipeResult>;
  /** Throws PipeNotFoundError. */
  getPipe(pipeId: string): Promise<PipeRecord>;
  listPipes(options?: ListOptions): Promise<Page<PipeRecord>>;
  listPipesByState(state: PipeState, options?: ListOptions): Promise<Page<PipeRecord>>;
  /** Removes the pipe and every item it owns. Deleting a missing pipe is not an error. */
  deletePipe(pipeId: string): Promise<void>;
  /** Throws IllegalTransitionError, StateConflictError or PipeNotFoundError. */
  applyEvent(pipeId: string, event: PipeEvent, options: ApplyEventOptions): Promise<PipeRecord>;
  listHistory(pipeId: string, options?: ListOptions): Promise<Page<HistoryEntry>>;
  recordError(pipeId: string, error: { name: string; message: string }): Promise<void>;
  clearError(pipeId: string): Promise<void>;
  /** Replaces the settings if the pipe is still in the state and version the caller read (StateConflictError otherwise). */
  updateSettings(pipeId: string, settings: unknown, expected: SettingsUpdateExpectation): Promise<PipeRecord>;
}

export interface TableMappings {
  putTableMapping(
    pipeId: string,
    mapping: TableMappingInput,
    state?: TableState,
  ): Promise<TableMappingRecord>;
  getTableMapping(pipeId: string, tableKey: string): Promise<TableMappingRecord | null>;
  listTableMappings(pipeId: string): Promise<TableMappingRecord[]>;
  setTableState(pipeId: string, tableKey: string, change: TableStateChange): Promise<TableMappingRecord>;
  setTableEstimate(pipeId: string, tableKey: string, documentsEstimated: number): Promise<TableMappingRecord>;
  /** Recomputes copied rows and partition counts from the partition items (the source of truth). */
  refreshTableProgress(pipeId: string, tableKey: string): Promise<TableMappingRecord>;
  /**
   * Adds CDC's typed column mismatches of a batch to the table's counts (per column name). A
   * batch replayed after a crash counts again: CDC's figures are at least the true ones.
   */
  addTypeMismatches(pipeId: string, tableKey: string, counts: Record<string, number>): Promise<void>;
}

export interface SnapshotPartitions {
  /**
   * Saves the plan once, each of its partitions under a fresh plan id; a repeated call returns the
   * plan already saved (its checkpoints and plan id intact).
   */
  savePartitionPlan(pipeId: string, tableKey: string, plan: PartitionPlanEntry[]): Promise<PartitionRecord[]>;
  listPartitions(pipeId: string, tableKey: string): Promise<PartitionRecord[]>;
  /** Forgets a table's plan and checkpoints (before a table resync plans again). */
  deletePartitionPlan(pipeId: string, tableKey: string): Promise<void>;
  /**
   * Throws CheckpointRegressionError when `seq` is not above the stored one, or when `fence`
   * names another plan than the partition's (it was planned again).
   */
  checkpointPartition(
    pipeId: string,
    tableKey: string,
    index: number,
    checkpoint: PartitionCheckpoint,
    fence: PlanFence,
  ): Promise<PartitionRecord>;
  /** Throws CheckpointRegressionError when `fence` names another plan than the partition's. */
  markPartitionDone(
    pipeId: string,
    tableKey: string,
    index: number,
    fence: PlanFence,
  ): Promise<PartitionRecord>;
  /**
   * Records the batch after the checkpoint before its insert is ended. Refused
   * (CheckpointRegressionError) unless the partition is open, at seq `pending.seq - 1`, at
   * checkpoint `pending.start`, holds no pending batch, and is of the plan `fence` names.
   * checkpointPartition and markPartitionDone clear it.
   */
  recordPendingBatch(
    pipeId: string,
    tableKey: string,
    index: number,
    pending: PendingBatch,
    fence: PlanFence,
  ): Promise<PartitionRecord>;
}

export interface ResumePoints {
  recordStartPoint(pipeId: string, point: StartPointInput): Promise<StartPointRecord>;
  getStartPoint(pipeId: string): Promise<StartPointRecord | null>;
  /** Succeeds only while `fence` is the current fence of the pipe's CDC lease; else StaleFenceError. */
  commitResumePoint(pipeId: string, point: ResumePointInput, fence: number): Promise<ResumePointRecord>;
  getResumePoint(pipeId: string): Promise<ResumePointRecord | null>;
  /** Keeps the newest run (by startedAt): an older run's late write is ignored. */
  recordCdcRun(pipeId: string, run: CdcRunRecord): Promise<void>;
  getCdcRun(pipeId: string): Promise<CdcRunRecord | null>;
  /**
   * Adds a sample to the pipe's recent CDC history, which keeps one per minute (the newest of
   * that minute) and at most CDC_HISTORY_LENGTH: an older sample's late write is ignored.
   */
  recordCdcSample(pipeId: string, sample: CdcSample): Promise<void>;
  /** The pipe's recent CDC history, oldest first; empty when no run wrote one. */
  listCdcSamples(pipeId: string): Promise<CdcSample[]>;
}

export interface Leases {
  /** Throws LeaseHeldError while another holder's lease is live. A takeover increments the fence. */
  acquireLease(pipeId: string, name: string, holder: string, ttlMs: number): Promise<LeaseRecord>;
  /** Throws StaleFenceError when the lease is no longer (holder, fence). */
  renewLease(
    pipeId: string,
    name: string,
    holder: string,
    fence: number,
    ttlMs: number,
  ): Promise<LeaseRecord>;
  /** Expires the lease but keeps its fence, so fences never go back. Throws StaleFenceError. */
  releaseLease(pipeId: string, name: string, holder: string, fence: number): Promise<void>;
  /**
   * Takes the lease from whoever holds it and leaves it expired, with a higher fence: the holder's
   * next fenced write (a resume point commit, a renewal) fails with StaleFenceError. For the CDC
   * lease the resume point is fenced too before this returns. Returns the new (expired) record.
   */
  revokeLease(pipeId: string, name: string, reason: string): Promise<LeaseRecord>;
  getLease(pipeId: string, name: string): Promise<LeaseRecord | null>;
}

/** A destination table a pipe owns: only that pipe creates, writes, swaps or drops it. */
export interface TableClaimRecord extends TableRef {
  pipeId: string;
  claimedAt: number;
}

/**
 * Destination table ownership (docs/pipe-store.md, "Table claims"). A claim on
 * `<database>.<table>` also covers the tables the product makes beside it (`<table>_resync`,
 * `<table>_swapped_out`): their suffixes are reserved, so no other pipe can map onto them.
 */
export interface TableClaims {
  /**
   * Claims the table for the pipe unless another pipe that still exists holds it; a claim whose
   * pipe is gone is taken over. Returns the claim as it stands after the call: its `pipeId` is
   * the caller's when it won or already held it, the owner's otherwise. It does not look at
   * ClickHouse: refusing a table that exists without a claim is the caller's (engines/table-ownership.ts).
   */
  claimTable(pipeId: string, table: TableRef): Promise<TableClaimRecord>;
  /** The claim on the table, or null: never claimed, released, or its pipe no longer exists. */
  getTableClaim(table: TableRef): Promise<TableClaimRecord | null>;
  /** Releases the pipe's claim; a claim held by another pipe, or none, is left as it is. */
  releaseTableClaim(pipeId: string, table: TableRef): Promise<void>;
  /** Every table the pipe holds a claim on. `deletePipe` releases them all. */
  listTableClaims(pipeId: string): Promise<TableClaimRecord[]>;
}

export interface PipeStore
  extends PipeRecords,
    TableMappings,
    SnapshotPartitions,
    ResumePoints,
    Leases,
    TableClaims {}

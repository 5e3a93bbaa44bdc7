import { FatalError } from '../core/errors.js';
import { decodePartitionBounds } from '../core/partition-plan.js';
import { resyncTableName } from '../core/table-schema.js';
import { TypeMismatchError, tableShapeFor } from '../core/table-shape.js';
import type { Clock } from '../ports/clock.js';
import type { PartitionRecord, PendingBatch, PipeStore } from '../ports/pipe-store.js';
import type { ClusterTime, SnapshotReadOptions, SnapshotSource, SourceNamespace } from '../ports/source.js';
import { type Budget, hasTimeLeft, validateBudget } from './budget.js';
import type { StreamedSink } from './destination-needs.js';
import { type BatchBounds, pieceBounds } from './snapshot-batches.js';
import { type ChunkTarget, partitionWrites, streamBatches } from './snapshot-stream.js';
import { PieceReader } from './streamed-batch.js';
import { loadPipeContext, loadTable, namespaceOf, tableRefOf } from './table-context.js';

export interface SnapshotChunkDeps {
  store: Pick<
    PipeStore,
    | 'getPipe'
    | 'getTableMapping'
    | 'listPartitions'
    | 'checkpointPartition'
    | 'markPartitionDone'
    | 'refreshTableProgress'
    | 'getStartPoint'
    | 'getResumePoint'
    | 'setTableState'
    | 'recordPendingBatch'
  >;
  source: Pick<SnapshotSource, 'readPartition'>;
  destination: StreamedSink;
  clock: Clock;
}

export interface SnapshotChunkInput {
  pipeId: string;
  /** The table key (`<database>.<collection>`). */
  table: string;
  partitionIndex: number;
  budget: Budget;
}

export interface SnapshotChunkResult {
  /** True once the whole partition is in the destination; false: call again (budget ran out). */
  done: boolean;
  /** Rows inserted by this call. */
  rowsCopied: number;
  /** Rows of the partition copied so far, across calls. */
  partitionRowsCopied: number;
  batches: number;
  bytes: number;
  targetTable: string;
  checkpoint: string | null;
  /**
   * Set when a typed column's value did not convert under `onTypeMismatch: 'fail'`: the table is
   * Stopped (reason typeMismatch) with this message, and the partition is left as it was.
   */
  stoppedTable?: string;
}

export class PartitionNotPlannedError extends FatalError {
  constructor(
    readonly tableKey: string,
    readonly partitionIndex: number,
  ) {
    super(`table ${tableKey} has no planned partition ${partitionIndex}: plan the snapshot first`);
  }
}

/**
 * Copies one snapshot partition, batch by batch, from its checkpoint on: a pending batch left by
 * an earlier call first (replayed through its recorded end), then batches streamed into their
 * inserts as the source's raw BSON is transcoded, the next one sent while one finishes
 * (snapshot-stream.ts says why a crash at any point is safe). No whole body is held.
 */
export async function snapshotChunk(
  deps: SnapshotChunkDeps,
  input: SnapshotChunkInput,
): Promise<SnapshotChunkResult> {
  const budget = validateBudget(input.budget, 'snapshotChunk');
  if (!Number.isInteger(input.partitionIndex) || input.partitionIndex < 0) {
    throw new RangeError(
      `snapshotChunk: partitionIndex must be a non-negative integer, got ${input.partitionIndex}`,
    );
  }
  const context = await loadPipeContext(deps.store, input.pipeId);
  const { settings } = context;
  const mapping = await loadTable(deps.store, input.pipeId, input.table);
  const live = tableRefOf(context, mapping);
  const { pipeId, table, partitionIndex } = input;
  const partition = await findPartition(deps.store, input.pipeId, input.table, input.partitionIndex);
  const target: ChunkTarget = {
    pipeId,
    table,
    partitionIndex,
    database: live.database,
    targetTable: mapping.state === 'Resync' ? resyncTableName(live.table) : live.table,
    useJsonNativeFormat: context.tableOptions.useJsonNativeFormat,
    shape: tableShapeFor(settings, mapping),
    planId: partition.planId ?? null,
  };
  const result: SnapshotChunkResult = {
    done: partition.done,
    rowsCopied: 0,
    partitionRowsCopied: partition.rowsCopied,
    batches: 0,
    bytes: 0,
    targetTable: target.targetTable,
    checkpoint: partition.checkpoint,
  };
  // A table stopped on a type mismatch loads no further: its partitions are left for a resync.
  if (mapping.state === 'Stopped') return { ...result, done: true };
  if (partition.done || !hasTimeLeft(deps.clock, budget)) return result;

  const bounds = { maxRows: settings.snapshotBatchMaxRows, maxBytes: settings.snapshotBatchMaxBytes };
  const read: ReadPlan = {
    namespace: namespaceOf(mapping),
    options: {
      bounds: decodePartitionBounds(partition.bounds),
      checkpoint: partition.checkpoint,
      ...pieceBounds(bounds),
      afterClusterTime: await readAfter(deps.store, input.pipeId),
    },
  };
  let copied: { partition: PartitionRecord; exhausted: boolean };
  try {
    copied = await copyPartition(deps, target, { partition, read, bounds, budget, result });
  } catch (error) {
    if (!(error instanceof TypeMismatchError)) throw error;
    await deps.store.setTableState(input.pipeId, input.table, {
      state: 'Stopped',
      stopReason: 'typeMismatch',
      stopMessage: error.message,
    });
    await deps.store.refreshTableProgress(input.pipeId, input.table);
    return { ...result, done: true, stoppedTable: error.message };
  }
  const last = copied.exhausted ? await partitionWrites(deps.store, target).markDone() : copied.partition;
  await deps.store.refreshTableProgress(input.pipeId, input.table);
  result.done = last.done;
  result.partitionRowsCopied = last.rowsCopied;
  result.checkpoint = last.checkpoint;
  return result;
}

interface ReadPlan {
  namespace: SourceNamespace;
  options: SnapshotReadOptions;
}

/**
 * The partition's pending batch replayed first when there is one (a chunk stopped after
 * recording it, its insert maybe committed), then batches from the checkpoint on.
 */
async function copyPartition(
  deps: SnapshotChunkDeps,
  target: ChunkTarget,
  run: {
    partition: PartitionRecord;
    read: ReadPlan;
    bounds: BatchBounds;
    budget: Required<Budget>;
    result: SnapshotChunkResult;
  },
): Promise<{ partition: PartitionRecord; exhausted: boolean }> {
  let { partition } = run;
  const pending = pendingAfter(partition);
  if (pending !== null) {
    partition = await replayPending(deps, target, { ...run, partition }, pending);
    if (!hasTimeLeft(deps.clock, run.budget)) return { partition, exhausted: false };
  }
  const pieces = deps.source.readPartition(run.read.namespace, {
    ...run.read.options,
    checkpoint: partition.checkpoint,
  });
  return streamBatches(deps, target, {
    partition,
    reader: new PieceReader(pieces[Symbol.asyncIterator]()),
    bounds: run.bounds,
    replay: null,
    budget: run.budget,
    result: run.result,
  });
}

/** The partition's pending batch when it is the one after its checkpoint, else null. */
function pendingAfter(partition: PartitionRecord): PendingBatch | null {
  const { pending } = partition;
  if (pending === undefined) return null;
  return pending.seq === partition.seq + 1 && pending.start === partition.checkpoint ? pending : null;
}

/**
 * The pending batch again, from its start through its recorded end in one insert under its
 * token, then checkpointed at that end (also when nothing is left in its range to send).
 */
async function replayPending(
  deps: SnapshotChunkDeps,
  target: ChunkTarget,
  run: { partition: PartitionRecord; read: ReadPlan; budget: Required<Budget>; result: SnapshotChunkResult },
  pending: PendingBatch,
): Promise<PartitionRecord> {
  const pieces = deps.source.readPartition(run.read.namespace, {
    ...run.read.options,
    checkpoint: pending.start,
    end: pending.end,
  });
  const replayed = await streamBatches(deps, target, {
    partition: run.partition,
    reader: new PieceReader(pieces[Symbol.asyncIterator]()),
    bounds: null,
    replay: pending,
    budget: run.budget,
    result: run.result,
  });
  if (replayed.partition.seq === pending.seq) return replayed.partition;
  return partitionWrites(deps.store, target).checkpoint(
    { seq: pending.seq, checkpoint: pending.end, rowsCopied: run.partition.rowsCopied },
    () => run.partition.typeMismatches ?? {},
  );
}

/**
 * The cluster time a (secondary) read must not predate: the start point, or the resume point CDC
 * has committed since, whichever is later. CDC replays a table's changes from the resume point
 * it had when the table's load began (docs/engines.md), so a read older than that could miss a
 * change CDC never replays.
 */
async function readAfter(
  store: Pick<PipeStore, 'getStartPoint' | 'getResumePoint'>,
  pipeId: string,
): Promise<ClusterTime | null> {
  const [start, resume] = await Promise.all([store.getStartPoint(pipeId), store.getResumePoint(pipeId)]);
  const times = [start?.clusterTime, resume?.clusterTime].filter((time): time is ClusterTime => !!time);
  return times.reduce<ClusterTime | null>(
    (latest, time) =>
      latest === null ||
      time.seconds > latest.seconds ||
      (time.seconds === latest.seconds && time.increment > latest.increment)
        ? time
        : latest,
    null,
  );
}

async function findPartition(
  store: Pick<PipeStore, 'listPartitions'>,
  pipeId: string,
  tableKey: string,
  index: number,
): Promise<PartitionRecord> {
  const partitions = await store.listPartitions(pipeId, tableKey);
  const partition = partitions.find((candidate) => candidate.index === index);
  if (!partition) throw new PartitionNotPlannedError(tableKey, index);
  return partition;
}

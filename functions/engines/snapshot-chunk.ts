import { FatalError } from '../core/errors.js';
import { decodePartitionBounds } from '../core/partition-plan.js';
import { ChunkBuffers } from '../core/snapshot-lines.js';
import { resyncTableName } from '../core/table-schema.js';
import { shapeColumnNames, type TableShape, TypeMismatchError, tableShapeFor } from '../core/table-shape.js';
import type { Clock } from '../ports/clock.js';
import type { PartitionRecord, PipeStore } from '../ports/pipe-store.js';
import type { ClusterTime, SnapshotSource } from '../ports/source.js';
import { type Budget, hasTimeLeft, validateBudget } from './budget.js';
import { deduplicationToken } from './dedup-token.js';
import type { EncodedSink } from './destination-needs.js';
import { ReadAhead } from './read-ahead.js';
import { type EncodedBatch, encodedBatches, pieceBounds } from './snapshot-batches.js';
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
  >;
  source: Pick<SnapshotSource, 'readPartition'>;
  destination: EncodedSink;
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
 * Copies one snapshot partition, batch by batch, from its checkpoint on. Each batch is inserted
 * with a token that names the batch (partition and the checkpoints around it) and only then is
 * the checkpoint written, so a crash at any point either replays a batch ClickHouse drops as a
 * duplicate, or resumes after it. The source is read in pieces whose raw BSON becomes JSONEachRow
 * lines as it arrives, without decoding (snapshot-batches.ts), and the next batch is read while
 * one is inserted: memory holds at most two batches' bodies and one piece.
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
  const target: ChunkTarget = {
    pipeId,
    table,
    partitionIndex,
    database: live.database,
    targetTable: mapping.state === 'Resync' ? resyncTableName(live.table) : live.table,
    useJsonNativeFormat: context.tableOptions.useJsonNativeFormat,
    shape: tableShapeFor(settings, mapping),
  };
  const partition = await findPartition(deps.store, input.pipeId, input.table, input.partitionIndex);
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
  const pieces = deps.source.readPartition(namespaceOf(mapping), {
    bounds: decodePartitionBounds(partition.bounds),
    checkpoint: partition.checkpoint,
    ...pieceBounds(bounds),
    afterClusterTime: await readAfter(deps.store, input.pipeId),
  });
  // Chunk buffers go back to the pool once their insert has answered: bodies reuse them.
  const buffers = new ChunkBuffers();
  const batches = encodedBatches(pieces, bounds, target.useJsonNativeFormat, buffers, target.shape);
  let copied: { partition: PartitionRecord; exhausted: boolean };
  try {
    copied = await copyBatches(deps, target, { partition, batches, buffers, budget, result });
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
  const last = copied.exhausted
    ? await deps.store.markPartitionDone(input.pipeId, input.table, input.partitionIndex)
    : copied.partition;
  await deps.store.refreshTableProgress(input.pipeId, input.table);
  result.done = last.done;
  result.partitionRowsCopied = last.rowsCopied;
  result.checkpoint = last.checkpoint;
  return result;
}

/** One chunk's partition and where its rows go. */
interface ChunkTarget {
  pipeId: string;
  /** The table key. */
  table: string;
  partitionIndex: number;
  database: string;
  /** The live table, or its `_resync` table while the table is in Resync. */
  targetTable: string;
  useJsonNativeFormat: boolean;
  /** The table's typed columns and excluded fields, or null. */
  shape: TableShape | null;
}

/**
 * Inserts each batch, then checkpoints after it, until the reader is exhausted or the budget
 * runs out (checked after each write, so every call that starts makes progress and stops on a
 * checkpoint). The next batch is read and encoded while one is inserted (a one-batch
 * read-ahead), so what is alive is at most two bodies and the piece being read. Checkpoints stay
 * in order and after their insert; on a stop or a failure the read-ahead is dropped and the
 * reader closed. Counts what it copied into `result`.
 */
async function copyBatches(
  deps: SnapshotChunkDeps,
  target: ChunkTarget,
  run: {
    partition: PartitionRecord;
    batches: AsyncIterable<EncodedBatch>;
    buffers: ChunkBuffers;
    budget: Required<Budget>;
    result: SnapshotChunkResult;
  },
): Promise<{ partition: PartitionRecord; exhausted: boolean }> {
  let { partition } = run;
  const reader = new ReadAhead(run.batches[Symbol.asyncIterator]());
  try {
    for (;;) {
      const read = await reader.next();
      if (read.done) return { partition, exhausted: true };
      const batch = read.value;
      reader.start();
      if (batch.rows > 0) {
        partition = await copyBatch(deps, target, partition, batch);
        run.buffers.release(batch.body);
        run.result.rowsCopied += batch.rows;
        run.result.batches += 1;
        run.result.bytes += batch.bytes;
      }
      if (!hasTimeLeft(deps.clock, run.budget)) return { partition, exhausted: false };
    }
  } finally {
    await reader.close();
  }
}

/** One batch: inserted under a token naming it, then the partition's checkpoint moved past it. */
async function copyBatch(
  deps: SnapshotChunkDeps,
  target: ChunkTarget,
  partition: PartitionRecord,
  batch: EncodedBatch,
): Promise<PartitionRecord> {
  const token = deduplicationToken('snapshot', [
    target.pipeId,
    target.table,
    target.targetTable,
    target.partitionIndex,
    partition.checkpoint,
    batch.checkpoint,
  ]);
  await deps.destination.insertEncoded({
    database: target.database,
    table: target.targetTable,
    body: batch.body,
    rows: batch.rows,
    deduplicationToken: token,
    ...(target.shape === null ? {} : { columns: shapeColumnNames(target.shape) }),
  });
  return deps.store.checkpointPartition(target.pipeId, target.table, target.partitionIndex, {
    seq: partition.seq + 1,
    checkpoint: batch.checkpoint,
    rowsCopied: partition.rowsCopied + batch.rows,
    ...(target.shape === null
      ? {}
      : { typeMismatches: addedCounts(partition.typeMismatches, batch.mismatches) }),
  });
}

/** The partition's mismatch counts with a batch's added (cumulative, like rowsCopied). */
function addedCounts(
  before: Record<string, number> | undefined,
  batch: Record<string, number>,
): Record<string, number> {
  const sums = { ...(before ?? {}) };
  for (const [column, count] of Object.entries(batch)) sums[column] = (sums[column] ?? 0) + count;
  return sums;
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

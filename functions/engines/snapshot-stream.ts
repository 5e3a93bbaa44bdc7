/**
 * A partition copied batch by batch, each batch's body streamed into its insert (streamed-batch.ts)
 * while the insert before it finishes: at most two inserts are in flight, one still being sent
 * and one ended and waiting for its answer, and the process holds neither body whole.
 *
 * Crash safety: a batch's insert is deduplicated under a token naming its start (the partition's
 * checkpoint before it, and its seq). Its end is recorded as the partition's pending batch before
 * its body may end, so before ClickHouse can commit it, and only after the batch before it is
 * checkpointed; its own checkpoint is written once its insert has answered. A crash before the
 * pending batch is recorded leaves an insert that never ended: nothing committed. A crash after
 * it leaves the pending batch, which the next chunk replays exactly (from its start through its
 * end, under the same token: ClickHouse drops it if the first insert committed) before anything
 * else, then checkpoints at its end. The token and every partition write also carry the id of
 * the plan the partition was loaded from, so a chunk left running from an earlier plan of the
 * table (resynced, or removed and added back) is refused and never repeats a new plan's tokens.
 */
import type { TableShape } from '../core/table-shape.js';
import { shapeColumnNames } from '../core/table-shape.js';
import type { Clock } from '../ports/clock.js';
import type { PartitionRecord, PendingBatch, PipeStore, PlanFence } from '../ports/pipe-store.js';
import { type Budget, hasTimeLeft } from './budget.js';
import { deduplicationToken } from './dedup-token.js';
import type { StreamedSink } from './destination-needs.js';
import type { BatchBounds } from './snapshot-batches.js';
import { type BatchStart, type PieceReader, StreamedBatch } from './streamed-batch.js';

/** One chunk's partition and where its rows go. */
export interface ChunkTarget {
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
  /** The plan the partition was loaded from (its `planId`); null for a partition saved without one. */
  planId: string | null;
}

type PartitionWriter = Pick<PipeStore, 'checkpointPartition' | 'recordPendingBatch' | 'markPartitionDone'>;

/**
 * The chunk's writes to its partition, each held to the plan the chunk loaded it from; a
 * checkpoint carries the type mismatch counts only when the table has a shape.
 */
export function partitionWrites(store: PartitionWriter, target: ChunkTarget) {
  const { pipeId, table, partitionIndex } = target;
  const fence: PlanFence = { planId: target.planId };
  return {
    recordPending: (pending: PendingBatch) =>
      store.recordPendingBatch(pipeId, table, partitionIndex, pending, fence),
    checkpoint: (
      at: { seq: number; checkpoint: string; rowsCopied: number },
      typeMismatches: () => Record<string, number>,
    ) =>
      store.checkpointPartition(
        pipeId,
        table,
        partitionIndex,
        { ...at, ...(target.shape === null ? {} : { typeMismatches: typeMismatches() }) },
        fence,
      ),
    markDone: () => store.markPartitionDone(pipeId, table, partitionIndex, fence),
  };
}

export interface StreamDeps {
  store: PartitionWriter;
  destination: StreamedSink;
  clock: Clock;
}

/** What a chunk copied: each batch is counted once it is checkpointed. */
export interface CopiedCounts {
  rowsCopied: number;
  batches: number;
  /** BSON bytes read. */
  bytes: number;
}

export interface StreamRun {
  /** The partition as stored before the first batch. */
  partition: PartitionRecord;
  reader: PieceReader;
  /** null: one batch of everything the reader has (the replay of a pending batch). */
  bounds: BatchBounds | null;
  /** The pending batch replayed: already recorded, and its checkpoint is its recorded end. */
  replay: PendingBatch | null;
  budget: Required<Budget>;
  result: CopiedCounts;
}

/**
 * Streams batches until the reader is exhausted or the budget runs out (checked once each body
 * has ended, so every call that starts makes progress and stops on a checkpoint). On a failure,
 * the insert that ended before it is let finish and checkpoint first; the reader is closed.
 */
export async function streamBatches(
  deps: StreamDeps,
  target: ChunkTarget,
  run: StreamRun,
): Promise<{ partition: PartitionRecord; exhausted: boolean }> {
  let committed: Promise<PartitionRecord> = Promise.resolve(run.partition);
  let start: BatchStart = { checkpoint: run.partition.checkpoint, seq: run.partition.seq + 1 };
  try {
    for (;;) {
      if (!(await run.reader.hasMore())) return { partition: await committed, exhausted: true };
      const batch = new StreamedBatch(start, run.bounds, target.useJsonNativeFormat, target.shape);
      ({ checkpointed: committed } = await sendBatch(deps, target, run, batch, committed));
      start = { checkpoint: run.replay?.end ?? batch.end, seq: start.seq + 1 };
      if (!hasTimeLeft(deps.clock, run.budget)) return { partition: await committed, exhausted: false };
    }
  } catch (error) {
    await committed.catch(() => undefined);
    throw error;
  } finally {
    await run.reader.close();
  }
}

/**
 * Sends one batch: resolves once its body has ended, with the promise of its checkpoint (written
 * after its insert answers and after the batch before it is checkpointed; in an object, or
 * awaiting this would wait for it). Throws what stopped the body, or the insert's failure before
 * the body ended (the insert is then aborted).
 */
async function sendBatch(
  deps: StreamDeps,
  target: ChunkTarget,
  run: StreamRun,
  batch: StreamedBatch,
  previous: Promise<PartitionRecord>,
): Promise<{ checkpointed: Promise<PartitionRecord> }> {
  const body = batch.lines(run.reader, async () => {
    await previous;
    if (run.replay !== null) return;
    await partitionWrites(deps.store, target).recordPending({
      seq: batch.start.seq,
      start: batch.start.checkpoint,
      end: batch.end,
    });
  });
  const insert = deps.destination.insertStreamed({
    database: target.database,
    table: target.targetTable,
    body,
    deduplicationToken: batchToken(target, batch.start),
    ...(target.shape === null ? {} : { columns: shapeColumnNames(target.shape) }),
  });
  // `ended` never rejects; the insert rejects with what the body threw (the port's promise), or
  // with its own failure, and this race is what handles it.
  await Promise.race([batch.ended, insert.then(answeredEarly)]);
  const checkpointed = checkpointAfter(deps, target, run, batch, insert, previous);
  // Awaited by the next batch's body or at the end; a failure meanwhile is not unhandled.
  checkpointed.catch(() => undefined);
  return { checkpointed };
}

function answeredEarly(): never {
  throw new Error('the insert answered before its body ended');
}

async function checkpointAfter(
  deps: StreamDeps,
  target: ChunkTarget,
  run: StreamRun,
  batch: StreamedBatch,
  insert: Promise<void>,
  previous: Promise<PartitionRecord>,
): Promise<PartitionRecord> {
  await insert;
  const before = await previous;
  const record = await partitionWrites(deps.store, target).checkpoint(
    {
      seq: batch.start.seq,
      checkpoint: run.replay?.end ?? batch.end,
      rowsCopied: before.rowsCopied + batch.rows,
    },
    () => addedCounts(before.typeMismatches, batch.mismatches()),
  );
  run.result.rowsCopied += batch.rows;
  run.result.batches += 1;
  run.result.bytes += batch.bytes;
  return record;
}

/**
 * The insert's deduplication token: the batch's plan, start and seq, the same for its replay.
 * Its end is not in it (the token is sent before the body); the pending batch pins the end
 * instead. The plan id keeps a table planned again (removed and added back while its ClickHouse
 * table and its deduplication log stay) from repeating the earlier load's tokens.
 */
export function batchToken(target: ChunkTarget, start: BatchStart): string {
  return deduplicationToken('snapshot', [
    target.pipeId,
    target.table,
    target.targetTable,
    target.partitionIndex,
    target.planId,
    start.checkpoint,
    start.seq,
  ]);
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

import type { ChunkBuffers } from '../core/snapshot-lines.js';
import { namespaceKey, qualifiedTableName } from '../core/table-key.js';
import type { TypeMismatchError } from '../core/table-shape.js';
import type { Clock } from '../ports/clock.js';
import type {
  LeaseRecord,
  PipeStore,
  ResumePointInput,
  StartPointRecord,
  TableMappingRecord,
} from '../ports/pipe-store.js';
import type { ChangeBatch, ChangeBatchEnd, ChangeSource, ResumeMethod } from '../ports/source.js';
import { holdBackTrailingTransaction, linesByTable, stopReasonOf } from './cdc-rows.js';
import { deduplicationToken } from './dedup-token.js';
import type { EncodedSink } from './destination-needs.js';
import type { PipeContext } from './table-context.js';

/** What one batch needs from the outside; a run passes its own deps through. */
export interface ChangeBatchDeps {
  store: Pick<PipeStore, 'setTableState' | 'commitResumePoint' | 'addTypeMismatches'>;
  source: Pick<ChangeSource, 'readBatch'>;
  destination: EncodedSink;
  clock: Clock;
}

/**
 * What a run knows between its batches. Loaded once under the lease: the tables and the resume
 * point change only through the run itself or through a step that first revokes the lease
 * (docs/engines.md), so a run never has to read them again.
 */
export interface RunPosition {
  pipeId: string;
  lease: LeaseRecord;
  context: PipeContext;
  mappings: TableMappingRecord[];
  /** Where the next batch starts: the last point committed or read, null before the first commit. */
  resumePoint: ResumePointInput | null;
  startPoint: StartPointRecord | null;
  /** Epoch ms of the last commit of this run (0 before its first). */
  lastCommitAt: number;
  /** The insert bodies' buffers, reused from one batch of the run to the next. */
  buffers: ChunkBuffers;
}

export interface ChangeBatchBounds {
  maxEvents: number;
  maxBytes: number;
  maxWaitMs: number;
  /** Epoch ms by which the read ends. */
  readDeadline: number;
  stopWhenCaughtUp: boolean;
  /** Commit even when the batch applied nothing (false: an idle batch only moves the run's position). */
  commitWhenIdle: boolean;
}

export interface CdcBatchApplied {
  status: 'applied';
  events: number;
  /** Events that shared the batch's last cluster time, left to the next batch whole. */
  heldBackEvents: number;
  rowsPerTable: Record<string, number>;
  bytes: number;
  durationMs: number;
  /**
   * now − cluster time of the committed resume point while events are pending; 0 when the batch
   * ended caught up; null when nothing was committed.
   */
  lagMs: number | null;
  resumedWith: ResumeMethod;
  /** The resume point written, null when an idle batch skipped its commit. */
  committed: ResumePointInput | null;
  /** Table keys stopped by drop / rename / dropDatabase / invalidate in this batch. */
  tablesStopped: string[];
  endedBy: ChangeBatchEnd;
}

/**
 * One batch of a run: read from the run's position, insert the collapsed rows per table, mark
 * tables a drop or rename ended, and only then commit the new resume point under the lease's
 * fence (StaleFenceError when the lease was taken over or revoked). A crash before the commit
 * replays the same events; their rows carry the same versions and the same deduplication
 * tokens, so the replay changes nothing.
 */
export async function applyChangeBatch(
  deps: ChangeBatchDeps,
  run: RunPosition,
  bounds: ChangeBatchBounds,
): Promise<CdcBatchApplied> {
  const startedAt = deps.clock.now();
  const { settings } = run.context;
  const batch = await deps.source.readBatch({
    resumePoint: run.resumePoint
      ? { token: run.resumePoint.token, clusterTime: run.resumePoint.clusterTime }
      : null,
    startPoint: run.startPoint
      ? { token: run.startPoint.token, clusterTime: run.startPoint.clusterTime }
      : null,
    maxEvents: settings.pullBatchSize,
    maxBytes: bounds.maxBytes,
    maxWaitMs: Math.max(0, Math.min(bounds.maxWaitMs, bounds.readDeadline - deps.clock.now())),
    deadline: bounds.readDeadline,
    stopWhenCaughtUp: bounds.stopWhenCaughtUp,
  });

  // Only a batch cut by a bound can end inside a transaction: one that ended because the stream
  // was caught up, or at a table-ending event, holds whole transactions (docs/engines.md).
  const cutByBound = batch.endedBy !== 'caught-up' && batch.endedBy !== 'table-stopped';
  const cut = cutByBound ? holdBackTrailingTransaction(batch.events) : { kept: batch.events, heldBack: 0 };
  const rowsPerTable = await insertRows(deps, run, cut.kept);
  const tablesStopped = await markStoppedTables(deps, run, batch);
  const next = nextResumePoint(batch, cut);
  const caughtUp = batch.endedBy === 'caught-up';
  const idle = cut.kept.length === 0 && tablesStopped.length === 0;
  let committed: ResumePointInput | null = null;
  if (!idle || bounds.commitWhenIdle) {
    const now = deps.clock.now();
    const lagMs = caughtUp ? 0 : Math.max(0, now - next.clusterTime.seconds * 1000);
    committed = { ...next, lagMs };
    await deps.store.commitResumePoint(run.pipeId, committed, run.lease.fence);
    run.lastCommitAt = now;
  }
  run.resumePoint = next;
  return {
    status: 'applied',
    events: cut.kept.length,
    heldBackEvents: cut.heldBack,
    rowsPerTable,
    bytes: batch.bytes,
    durationMs: deps.clock.now() - startedAt,
    lagMs: committed?.lagMs ?? null,
    resumedWith: batch.resumedWith,
    committed,
    tablesStopped,
    endedBy: batch.endedBy,
  };
}

async function insertRows(
  deps: ChangeBatchDeps,
  run: RunPosition,
  kept: ChangeBatch['events'],
): Promise<Record<string, number>> {
  const rowsPerTable: Record<string, number> = {};
  const first = kept[0];
  const last = kept.at(-1);
  if (!first || !last) return rowsPerTable;
  for (const table of linesByTable(kept, run.mappings, run.context, run.buffers)) {
    if (table.stopped !== null) {
      await stopOnMismatch(deps, run, table.tableKey, table.stopped);
      continue;
    }
    for (const ref of table.refs) {
      const token = deduplicationToken('cdc', [run.pipeId, ref.database, ref.table, first.token, last.token]);
      await deps.destination.insertEncoded({
        ...ref,
        body: table.lines.chunks,
        rows: table.lines.rows,
        deduplicationToken: token,
        ...(table.columns.length > 0 ? { columns: table.columns } : {}),
      });
      rowsPerTable[qualifiedTableName(ref)] = table.lines.rows;
    }
    run.buffers.release(table.lines.chunks);
    // Counted once the rows are in; a batch replayed after a crash counts its mismatches again.
    if (Object.keys(table.mismatches).length > 0)
      await deps.store.addTypeMismatches(run.pipeId, table.tableKey, table.mismatches);
  }
  return rowsPerTable;
}

/**
 * `onTypeMismatch: 'fail'`: the table stops with the message naming the document, path and type;
 * its rows of this batch are not written, and the resume point moves on (a resync reloads it).
 */
async function stopOnMismatch(
  deps: ChangeBatchDeps,
  run: RunPosition,
  tableKey: string,
  mismatch: TypeMismatchError,
): Promise<void> {
  const index = run.mappings.findIndex((candidate) => candidate.tableKey === tableKey);
  run.mappings[index] = await deps.store.setTableState(run.pipeId, tableKey, {
    state: 'Stopped',
    stopReason: 'typeMismatch',
    stopMessage: mismatch.message,
  });
}

/** After the whole batch: the batch's own resume point; after a held-back tail: the last kept event. */
function nextResumePoint(
  batch: ChangeBatch,
  cut: ReturnType<typeof holdBackTrailingTransaction>,
): ResumePointInput {
  const last = cut.kept.at(-1);
  if (cut.heldBack === 0 || !last) return { token: batch.resumeToken, clusterTime: batch.resumeClusterTime };
  return { token: last.token, clusterTime: last.clusterTime };
}

/** Written before the resume point moves past the ending event, so a crash cannot lose the stop. */
async function markStoppedTables(
  deps: ChangeBatchDeps,
  run: RunPosition,
  batch: ChangeBatch,
): Promise<string[]> {
  const stopped: string[] = [];
  for (const ended of batch.tablesStopped) {
    const key = namespaceKey(ended.namespace);
    const index = run.mappings.findIndex((candidate) => candidate.tableKey === key);
    const mapping = run.mappings[index];
    if (!mapping || mapping.state === 'Stopped' || mapping.state === 'Removed') continue;
    run.mappings[index] = await deps.store.setTableState(run.pipeId, key, {
      state: 'Stopped',
      stopReason: stopReasonOf(ended),
      stopMessage: ended.reason,
    });
    stopped.push(key);
  }
  return stopped;
}

import { LeaseHeldError, StaleFenceError } from '../core/errors.js';
import type { Clock } from '../ports/clock.js';
import { CDC_LEASE, type LeaseRecord, type PipeStore, type ResumePointInput } from '../ports/pipe-store.js';
import type { ChangeBatch, ChangeSource, ResumeMethod } from '../ports/source.js';
import { type Budget, hasTimeLeft, validateBudget } from './budget.js';
import { eventClusterTime, holdBackTrailingTransaction, rowsByTable, stopReasonOf } from './cdc-rows.js';
import { deduplicationToken } from './dedup-token.js';
import type { RowSink } from './destination-needs.js';
import { loadPipeContext, namespaceKey } from './table-context.js';

export interface CdcBatchDeps {
  store: Pick<
    PipeStore,
    | 'getPipe'
    | 'listTableMappings'
    | 'setTableState'
    | 'getResumePoint'
    | 'getStartPoint'
    | 'commitResumePoint'
    | 'acquireLease'
    | 'releaseLease'
  >;
  source: Pick<ChangeSource, 'readBatch'>;
  destination: RowSink;
  clock: Clock;
}

export interface CdcBatchInput {
  pipeId: string;
  /** Who runs this batch (e.g. the Lambda request id): the lease holder. */
  holder: string;
  budget: Budget;
  /** Byte bound of one read (default 32 MiB): bounds the run's memory with pullBatchSize. */
  maxBytes?: number;
  /** Longest wait for events once caught up (default 1 s, never past the budget). */
  maxWaitMs?: number;
}

export interface CdcBatchApplied {
  status: 'applied';
  events: number;
  /** Events that shared the batch's last cluster time, left to the next run whole. */
  heldBackEvents: number;
  rowsPerTable: Record<string, number>;
  bytes: number;
  durationMs: number;
  /** now − cluster time of the last applied event; null when no event was applied. */
  lagMs: number | null;
  resumedWith: ResumeMethod;
  committed: ResumePointInput;
  /** Table keys stopped by drop / rename / dropDatabase / invalidate in this batch. */
  tablesStopped: string[];
}

export interface CdcBatchSkipped {
  status: 'skipped';
  reason: string;
}

export type CdcBatchResult = CdcBatchApplied | CdcBatchSkipped;

export const DEFAULT_CDC_MAX_BYTES = 32 * 1024 * 1024;
const DEFAULT_MAX_WAIT_MS = 1_000;
/** The lease outlives the budget by this much, so a slow final write still holds it. */
const LEASE_GRACE_MS = 30_000;
/** No run is longer than a Lambda's 15 minutes; a lease is never held longer than this. */
const MAX_LEASE_MS = 15 * 60_000 + LEASE_GRACE_MS;

/**
 * One CDC run: hold the pipe's lease, read one bounded batch from the resume point, insert the
 * collapsed rows per table, and only then commit the new resume point under the lease's fence.
 * A crash before the commit replays the same events; their rows carry the same versions and
 * the same deduplication tokens, so the replay changes nothing.
 */
export async function cdcBatch(deps: CdcBatchDeps, input: CdcBatchInput): Promise<CdcBatchResult> {
  const budget = validateBudget(input.budget, 'cdcBatch');
  if (!input.holder) throw new RangeError('cdcBatch: holder must be a non-empty string');
  if (!hasTimeLeft(deps.clock, budget))
    return { status: 'skipped', reason: 'the time budget is already spent' };
  const startedAt = deps.clock.now();
  const ttlMs = Math.min(Math.max(Math.ceil(budget.deadline - startedAt), 0) + LEASE_GRACE_MS, MAX_LEASE_MS);
  let lease: LeaseRecord;
  try {
    lease = await deps.store.acquireLease(input.pipeId, CDC_LEASE, input.holder, ttlMs);
  } catch (error) {
    if (error instanceof LeaseHeldError) {
      return { status: 'skipped', reason: `another run holds the lease (${error.message})` };
    }
    throw error;
  }
  try {
    return await runLeased(deps, input, budget, lease, startedAt);
  } finally {
    await releaseQuietly(deps, input.pipeId, lease);
  }
}

async function runLeased(
  deps: CdcBatchDeps,
  input: CdcBatchInput,
  budget: Required<Budget>,
  lease: LeaseRecord,
  startedAt: number,
): Promise<CdcBatchApplied> {
  const context = await loadPipeContext(deps.store, input.pipeId);
  const { settings } = context;
  const mappings = await deps.store.listTableMappings(input.pipeId);
  const resumePoint = await deps.store.getResumePoint(input.pipeId);
  const startPoint = await deps.store.getStartPoint(input.pipeId);
  const readDeadline = budget.deadline - budget.safetyMarginMs;
  const batch = await deps.source.readBatch({
    resumePoint: resumePoint ? { token: resumePoint.token, clusterTime: resumePoint.clusterTime } : null,
    startPoint: startPoint ? { token: startPoint.token, clusterTime: startPoint.clusterTime } : null,
    maxEvents: settings.pullBatchSize,
    maxBytes: input.maxBytes ?? DEFAULT_CDC_MAX_BYTES,
    maxWaitMs: Math.max(0, Math.min(input.maxWaitMs ?? DEFAULT_MAX_WAIT_MS, readDeadline - deps.clock.now())),
    deadline: readDeadline,
  });

  // Only a batch cut by a bound can end inside a transaction: one that ended because the stream
  // was caught up, or at a table-ending event, holds whole transactions (docs/engines.md).
  const maxBytes = input.maxBytes ?? DEFAULT_CDC_MAX_BYTES;
  const cutByBound =
    batch.events.length >= settings.pullBatchSize ||
    batch.bytes >= maxBytes ||
    deps.clock.now() >= readDeadline;
  const cut =
    cutByBound && batch.tablesStopped.length === 0
      ? holdBackTrailingTransaction(batch.events)
      : { kept: batch.events, heldBack: 0 };
  const rowsPerTable: Record<string, number> = {};
  const first = cut.kept[0];
  const last = cut.kept.at(-1);
  if (first && last) {
    for (const { ref, rows } of rowsByTable(cut.kept, mappings, context)) {
      const token = deduplicationToken('cdc', [
        input.pipeId,
        ref.database,
        ref.table,
        first.token,
        last.token,
      ]);
      await deps.destination.insertRows({
        ...ref,
        rows,
        deduplicationToken: token,
        useJsonNativeFormat: context.tableOptions.useJsonNativeFormat,
      });
      rowsPerTable[`${ref.database}.${ref.table}`] = rows.length;
    }
  }

  const tablesStopped = await markStoppedTables(deps, input.pipeId, batch, mappings);
  const committed = nextResumePoint(batch, cut);
  await deps.store.commitResumePoint(input.pipeId, committed, lease.fence);
  return {
    status: 'applied',
    events: cut.kept.length,
    heldBackEvents: cut.heldBack,
    rowsPerTable,
    bytes: batch.bytes,
    durationMs: deps.clock.now() - startedAt,
    lagMs: last ? deps.clock.now() - eventClusterTime(last).seconds * 1000 : null,
    resumedWith: batch.resumedWith,
    committed,
    tablesStopped,
  };
}

/** After the whole batch: the batch's own resume point; after a held-back tail: the last kept event. */
function nextResumePoint(
  batch: ChangeBatch,
  cut: ReturnType<typeof holdBackTrailingTransaction>,
): ResumePointInput {
  const last = cut.kept.at(-1);
  if (cut.heldBack === 0 || !last) return { token: batch.resumeToken, clusterTime: batch.resumeClusterTime };
  return { token: last.token, clusterTime: eventClusterTime(last) };
}

/** Written before the resume point moves past the ending event, so a crash cannot lose the stop. */
async function markStoppedTables(
  deps: CdcBatchDeps,
  pipeId: string,
  batch: ChangeBatch,
  mappings: Awaited<ReturnType<CdcBatchDeps['store']['listTableMappings']>>,
): Promise<string[]> {
  const stopped: string[] = [];
  for (const ended of batch.tablesStopped) {
    const key = namespaceKey(ended.namespace);
    const mapping = mappings.find((candidate) => candidate.tableKey === key);
    if (!mapping || mapping.state === 'Stopped' || mapping.state === 'Removed') continue;
    await deps.store.setTableState(pipeId, key, {
      state: 'Stopped',
      stopReason: stopReasonOf(ended),
      stopMessage: ended.reason,
    });
    stopped.push(key);
  }
  return stopped;
}

/** A lease lost to a takeover needs no release; any other release failure is worth surfacing. */
async function releaseQuietly(deps: CdcBatchDeps, pipeId: string, lease: LeaseRecord): Promise<void> {
  try {
    await deps.store.releaseLease(pipeId, CDC_LEASE, lease.holder, lease.fence);
  } catch (error) {
    if (!(error instanceof StaleFenceError)) throw error;
  }
}

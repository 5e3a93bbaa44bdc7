import { type CdcMode, cdcModeOf, cdcRunsIn } from '../core/cdc-mode.js';
import { LeaseHeldError, PipeNotFoundError, StaleFenceError } from '../core/errors.js';
import { ChunkBuffers } from '../core/snapshot-lines.js';
import {
  CDC_LEASE,
  type CdcRunEnding,
  type CdcRunRecord,
  type LeaseRecord,
  type PipeStore,
} from '../ports/pipe-store.js';
import type { SourceHealth, SourceMonitor } from '../ports/source.js';
import { type Budget, hasTimeLeft, validateBudget } from './budget.js';
import {
  applyChangeBatch,
  type CdcBatchApplied,
  type ChangeBatchBounds,
  type ChangeBatchDeps,
  type RunPosition,
} from './cdc-batch.js';
import { contextOfPipe } from './table-context.js';

export interface CdcRunDeps extends ChangeBatchDeps {
  store: ChangeBatchDeps['store'] &
    Pick<
      PipeStore,
      | 'getPipe'
      | 'listTableMappings'
      | 'getResumePoint'
      | 'getStartPoint'
      | 'acquireLease'
      | 'renewLease'
      | 'releaseLease'
      | 'getLease'
      | 'recordCdcRun'
      | 'recordCdcSample'
    >;
  /** Reads the source's member states for the pipe status; absent: not recorded. */
  monitor?: SourceMonitor;
  /** Told about every batch (the CloudWatch metrics, the local console). */
  observer?: CdcObserver;
}

export interface CdcObserver {
  batchApplied(pipeId: string, batch: CdcBatchApplied): void;
}

export interface CdcRunInput {
  pipeId: string;
  /** Who runs (e.g. the Lambda request id): the lease holder. */
  holder: string;
  budget: Budget;
  /** Byte bound of one batch's read (default 32 MiB): bounds memory with pullBatchSize. */
  maxBytes?: number;
  /** Scheduled mode: longest wait for events once caught up (default 1 s, never past the budget). */
  maxWaitMs?: number;
  /** Ends the run after this many batches (tests and benchmarks step CDC one batch at a time). */
  maxBatches?: number;
}

export interface CdcRunResult {
  status: 'ran';
  mode: CdcMode;
  batches: number;
  events: number;
  bytes: number;
  durationMs: number;
  endedBecause: CdcRunEnding;
  /** The next run should start now: the budget ended with events left, or the run is continuous. */
  handOver: boolean;
  /** Lag at the run's last commit (0 when caught up), null when it committed nothing. */
  lagMs: number | null;
  /** The last batch applied, null when none was. */
  lastBatch: CdcBatchApplied | null;
}

export interface CdcRunSkipped {
  status: 'skipped';
  reason: string;
}

export type CdcRunOutcome = CdcRunResult | CdcRunSkipped;

export const DEFAULT_CDC_MAX_BYTES = 32 * 1024 * 1024;
const DEFAULT_MAX_WAIT_MS = 1_000;
/**
 * The lease covers at most this much of the run ahead and is renewed as the run goes on, so a
 * run that dies (a killed Lambda) blocks the next one for minutes, not for its whole budget.
 */
const LEASE_WINDOW_MS = 3 * 60_000;
/** The lease outlives its window by this much, so a slow final write still holds it. */
const LEASE_GRACE_MS = 30_000;
/** A continuous run commits an idle position at least this often (the oplog keeps moving). */
const IDLE_COMMIT_MS = 30_000;
/** A long run rewrites its status record (events/s, source members) this often. */
const RUN_RECORD_INTERVAL_MS = 60_000;

/**
 * One CDC run under the pipe's lease: batch after batch (each inserts, then commits its own
 * resume point under the lease's fence) until caught up (scheduled mode) or until the budget
 * ends (then `handOver` tells the caller to start the next run at once). Between batches it
 * re-reads the pipe, so a pause, a failure or a delete ends it; a step that changes the tables
 * revokes the lease, and the run ends at its next fenced write (docs/engines.md).
 */
export async function cdcRun(deps: CdcRunDeps, input: CdcRunInput): Promise<CdcRunOutcome> {
  const budget = validateBudget(input.budget, 'cdcRun');
  if (!input.holder) throw new RangeError('cdcRun: holder must be a non-empty string');
  if (input.maxBatches !== undefined && !(Number.isInteger(input.maxBatches) && input.maxBatches >= 1))
    throw new RangeError('cdcRun: maxBatches must be a whole number ≥ 1');
  if (!hasTimeLeft(deps.clock, budget))
    return { status: 'skipped', reason: 'the time budget is already spent' };
  let lease: LeaseRecord;
  try {
    lease = await deps.store.acquireLease(
      input.pipeId,
      CDC_LEASE,
      input.holder,
      leaseTtl(budget, deps.clock.now()),
    );
  } catch (error) {
    if (error instanceof LeaseHeldError)
      return { status: 'skipped', reason: `another run holds the lease (${error.message})` };
    throw error;
  }
  const tally = new RunTally(deps, input, lease);
  try {
    const run = await openRun(deps, input.pipeId, lease);
    tally.mode = cdcModeOf(run.context.settings.syncIntervalSeconds);
    tally.source = await readHealth(deps);
    const ending = await runBatches(deps, input, budget, run, tally);
    return await tally.finish(ending);
  } catch (error) {
    if (await leaseLost(deps, input.pipeId, lease, error)) return await tally.finish('lease-lost');
    await tally.record(null, true).catch(() => undefined);
    throw error;
  } finally {
    await releaseQuietly(deps, input.pipeId, lease);
  }
}

async function openRun(deps: CdcRunDeps, pipeId: string, lease: LeaseRecord): Promise<RunPosition> {
  const pipe = await deps.store.getPipe(pipeId);
  const [mappings, resumePoint, startPoint] = await Promise.all([
    deps.store.listTableMappings(pipeId),
    deps.store.getResumePoint(pipeId),
    deps.store.getStartPoint(pipeId),
  ]);
  return {
    pipeId,
    lease,
    context: contextOfPipe(pipe),
    mappings,
    resumePoint: resumePoint ? { token: resumePoint.token, clusterTime: resumePoint.clusterTime } : null,
    startPoint,
    lastCommitAt: 0,
    buffers: new ChunkBuffers(),
  };
}

async function runBatches(
  deps: CdcRunDeps,
  input: CdcRunInput,
  budget: Required<Budget>,
  run: RunPosition,
  tally: RunTally,
): Promise<CdcRunEnding> {
  let leaseRenewedAt = deps.clock.now();
  for (;;) {
    if (input.maxBatches !== undefined && tally.batches >= input.maxBatches) return 'max-batches';
    if (!hasTimeLeft(deps.clock, budget)) return 'budget';
    // The caller checked the state before the run; between batches the run checks it itself.
    if (tally.batches > 0 && !(await stillRuns(deps, run.pipeId, tally))) return 'pipe-state';
    const batch = await applyChangeBatch(deps, run, batchBounds(deps, input, budget, run, tally.mode));
    // An idle batch that skipped its commit made no fenced write: ask the lease itself.
    if (batch.committed === null) await ensureLeaseHeld(deps, run);
    tally.add(batch);
    deps.observer?.batchApplied(run.pipeId, batch);
    if (tally.mode === 'scheduled' && batch.endedBy === 'caught-up') return 'caught-up';
    const now = deps.clock.now();
    if (now - leaseRenewedAt >= LEASE_WINDOW_MS / 2) {
      run.lease = await deps.store.renewLease(
        run.pipeId,
        CDC_LEASE,
        run.lease.holder,
        run.lease.fence,
        leaseTtl(budget, now),
      );
      leaseRenewedAt = now;
    }
    await tally.recordIfDue();
  }
}

/** False once a pause, a failure or a delete took the pipe out of the states CDC runs in. */
async function stillRuns(deps: CdcRunDeps, pipeId: string, tally: RunTally): Promise<boolean> {
  try {
    return cdcRunsIn((await deps.store.getPipe(pipeId)).state);
  } catch (error) {
    if (!(error instanceof PipeNotFoundError)) throw error;
    tally.pipeGone = true;
    return false;
  }
}

/** Scheduled: read until caught up, commit every batch. Continuous: read one flush interval. */
function batchBounds(
  deps: CdcRunDeps,
  input: CdcRunInput,
  budget: Required<Budget>,
  run: RunPosition,
  mode: CdcMode,
): ChangeBatchBounds {
  const now = deps.clock.now();
  const budgetEnd = budget.deadline - budget.safetyMarginMs;
  const common = {
    maxEvents: run.context.settings.pullBatchSize,
    maxBytes: input.maxBytes ?? DEFAULT_CDC_MAX_BYTES,
  };
  if (mode === 'scheduled') {
    return {
      ...common,
      maxWaitMs: input.maxWaitMs ?? DEFAULT_MAX_WAIT_MS,
      readDeadline: budgetEnd,
      stopWhenCaughtUp: true,
      commitWhenIdle: true,
    };
  }
  const flushMs = run.context.settings.syncIntervalSeconds * 1000;
  return {
    ...common,
    maxWaitMs: flushMs,
    readDeadline: Math.min(now + flushMs, budgetEnd),
    stopWhenCaughtUp: false,
    commitWhenIdle: now - run.lastCommitAt >= IDLE_COMMIT_MS,
  };
}

async function ensureLeaseHeld(deps: CdcRunDeps, run: RunPosition): Promise<void> {
  const current = await deps.store.getLease(run.pipeId, CDC_LEASE);
  if (current?.fence !== run.lease.fence) throw new StaleFenceError(CDC_LEASE, run.lease.fence);
}

function leaseTtl(budget: Required<Budget>, now: number): number {
  return Math.max(0, Math.min(Math.ceil(budget.deadline - now), LEASE_WINDOW_MS)) + LEASE_GRACE_MS;
}

/** A reading is status, never worth holding a run up: one that takes longer is skipped. */
const HEALTH_TIMEOUT_MS = 5_000;

async function readHealth(deps: CdcRunDeps): Promise<SourceHealth | null> {
  if (!deps.monitor) return null;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), HEALTH_TIMEOUT_MS);
  });
  try {
    return await Promise.race([deps.monitor.health().catch(() => null), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A run whose lease was taken over or revoked ends quietly whatever it hit: its next fenced
 * write was refused, or its insert met a table a revoking step dropped. Its inserted rows are
 * replays for the next holder, harmless by their versions and tokens.
 */
async function leaseLost(
  deps: CdcRunDeps,
  pipeId: string,
  lease: LeaseRecord,
  error: unknown,
): Promise<boolean> {
  if (error instanceof StaleFenceError) return true;
  try {
    const current = await deps.store.getLease(pipeId, CDC_LEASE);
    return current !== null && current.fence !== lease.fence;
  } catch {
    return false;
  }
}

/** A lease lost to a takeover needs no release; any other release failure is worth surfacing. */
async function releaseQuietly(deps: CdcRunDeps, pipeId: string, lease: LeaseRecord): Promise<void> {
  try {
    await deps.store.releaseLease(pipeId, CDC_LEASE, lease.holder, lease.fence);
  } catch (error) {
    if (!(error instanceof StaleFenceError)) throw error;
  }
}

/** What the run did so far, and its status record in the store. */
class RunTally {
  mode: CdcMode = 'scheduled';
  source: SourceHealth | null = null;
  batches = 0;
  events = 0;
  bytes = 0;
  lagMs: number | null = null;
  lastBatch: CdcBatchApplied | null = null;
  /** The pipe was deleted under the run: nothing of it may be written again. */
  pipeGone = false;
  private readonly startedAt: number;
  private recordedAt: number;

  constructor(
    private readonly deps: CdcRunDeps,
    private readonly input: CdcRunInput,
    private readonly lease: LeaseRecord,
  ) {
    this.startedAt = deps.clock.now();
    this.recordedAt = this.startedAt;
  }

  add(batch: CdcBatchApplied): void {
    this.batches += 1;
    this.events += batch.events;
    this.bytes += batch.bytes;
    if (batch.lagMs !== null) this.lagMs = batch.lagMs;
    this.lastBatch = batch;
  }

  async recordIfDue(): Promise<void> {
    if (this.deps.clock.now() - this.recordedAt < RUN_RECORD_INTERVAL_MS) return;
    this.source = (await readHealth(this.deps)) ?? this.source;
    await this.record(null, false);
  }

  async finish(ending: CdcRunEnding): Promise<CdcRunResult> {
    const handOver =
      ending === 'budget' && (this.mode === 'continuous' || this.lastBatch?.endedBy !== 'caught-up');
    await this.record(ending, false, handOver);
    return {
      status: 'ran',
      mode: this.mode,
      batches: this.batches,
      events: this.events,
      bytes: this.bytes,
      durationMs: this.deps.clock.now() - this.startedAt,
      endedBecause: ending,
      handOver,
      lagMs: this.lagMs,
      lastBatch: this.lastBatch,
    };
  }

  async record(ending: CdcRunEnding | null, failed: boolean, handedOver = false): Promise<void> {
    if (this.pipeGone) return;
    const now = this.deps.clock.now();
    this.recordedAt = now;
    const seconds = Math.max(now - this.startedAt, 1) / 1000;
    const run: CdcRunRecord = {
      holder: this.lease.holder,
      mode: this.mode,
      startedAt: this.startedAt,
      endedAt: ending !== null || failed ? now : null,
      batches: this.batches,
      events: this.events,
      eventsPerSecond: Math.round((this.events / seconds) * 10) / 10,
      endedBecause: failed ? 'error' : ending,
      handedOver,
      source: this.source,
    };
    await this.deps.store.recordCdcRun(this.input.pipeId, run);
    await this.deps.store.recordCdcSample(this.input.pipeId, {
      at: now,
      runStartedAt: this.startedAt,
      lagMs: this.lagMs,
      events: this.events,
      eventsPerSecond: run.eventsPerSecond,
    });
  }
}

/**
 * One batch under the lease, as a run of one batch: what tests, benchmarks and the fault matrix
 * step CDC with. A run that lost its lease before committing reports it as skipped.
 */
export async function cdcBatch(
  deps: CdcRunDeps,
  input: Omit<CdcRunInput, 'maxBatches'>,
): Promise<CdcBatchApplied | CdcRunSkipped> {
  const outcome = await cdcRun(deps, { ...input, maxBatches: 1 });
  if (outcome.status === 'skipped') return outcome;
  return (
    outcome.lastBatch ?? {
      status: 'skipped',
      reason: `the run ended before its batch (${outcome.endedBecause})`,
    }
  );
}

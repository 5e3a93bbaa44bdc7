import { z } from 'zod';
import { cdcRunsIn } from '../core/cdc-mode.js';
import { PipeError } from '../core/errors.js';
import { type CdcRunOutcome, cdcRun } from '../engines/cdc-run.js';
import type { CdcMetrics } from '../ports/metrics.js';
import { CDC_LEASE } from '../ports/pipe-store.js';
import { failPipe } from './fail-pipe.js';
import { type LoadedPipe, loadPipe, withConnections } from './pipe-runtime.js';
import { defineTask, namedError, remainingMs } from './task.js';

/** `trigger` tells a hand-over or a restart from the schedule's own `{pipeId}` (logs only). */
const input = z.object({ pipeId: z.string().min(1), trigger: z.string().optional() });

/** The run reads until this long before its budget ends: room for the last batch's insert and commit. */
const SAFETY_MARGIN_MS = 15_000;

/**
 * A CDC run of one pipe, started by its schedule (EventBridge Scheduler → `{pipeId}`), by the
 * run before it (hand-over) or by a step that restarted CDC. It runs while the pipe is in
 * Snapshot, Resync, Modifying or Running, never for a snapshot-only pipe. A trigger that finds a
 * live lease ends after one read, without connecting. No machine Catch sits behind it, so a
 * fatal error marks the pipe Failed here; a transient one is thrown and the next trigger retries.
 */
export const cdcBatchTask = defineTask('CdcBatch', input, async (runtime, command, context) => {
  const loaded = await loadPipe(runtime, command.pipeId);
  const refusal = await whyNotNow(runtime.store, loaded, runtime.clock.now());
  if (refusal) return { status: 'skipped' as const, reason: refusal };
  const budgetMs = Math.min(
    remainingMs(context, Number.POSITIVE_INFINITY),
    loaded.settings.cdcTimeBudgetSeconds * 1000,
  );
  const holder = context.awsRequestId ?? `cdc-${command.pipeId}-${runtime.clock.now()}`;
  let outcome: CdcRunOutcome;
  try {
    outcome = await withConnections(runtime, loaded, async ({ changeSource, destination, monitor }) => {
      if (!changeSource) return { status: 'skipped' as const, reason: 'the pipe maps no table' };
      return cdcRun(
        {
          store: runtime.store,
          source: changeSource,
          destination,
          clock: runtime.clock,
          monitor,
          ...(runtime.cdcMetrics ? { observer: batchObserver(runtime.cdcMetrics) } : {}),
        },
        {
          pipeId: command.pipeId,
          holder,
          budget: { deadline: runtime.clock.now() + budgetMs, safetyMarginMs: SAFETY_MARGIN_MS },
        },
      );
    });
  } catch (error) {
    const named = namedError(error);
    if (named instanceof PipeError && named.disposition !== 'retry') {
      await failPipe(runtime, command.pipeId, { name: named.name, message: named.message }, 'cdc-batch');
      runtime.cdcMetrics?.pipeFailed(command.pipeId);
    }
    throw named;
  }
  if (outcome.status === 'ran' && outcome.handOver)
    await runtime.cdcTrigger?.runSoon(command.pipeId, 'hand-over');
  return outcome;
});

/** Why this trigger does nothing: the pipe's state or mode, or a run that holds the lease. */
async function whyNotNow(
  store: Parameters<typeof loadPipe>[0]['store'],
  loaded: LoadedPipe,
  now: number,
): Promise<string | null> {
  if (loaded.settings.replicationMode === 'snapshot') return 'a snapshot-only pipe has no CDC';
  if (!cdcRunsIn(loaded.pipe.state)) return `pipe is ${loaded.pipe.state}`;
  const lease = await store.getLease(loaded.pipe.id, CDC_LEASE);
  if (lease && lease.expiresAt > now) return `another run holds the lease (${lease.holder})`;
  return null;
}

function batchObserver(metrics: CdcMetrics) {
  return {
    batchApplied: (
      pipeId: string,
      batch: { events: number; rowsPerTable: Record<string, number>; bytes: number; lagMs: number | null },
    ) =>
      metrics.batchApplied(pipeId, {
        events: batch.events,
        rows: Object.values(batch.rowsPerTable).reduce((sum, count) => sum + count, 0),
        bytes: batch.bytes,
        lagMs: batch.lagMs,
      }),
  };
}

export const handler = cdcBatchTask.handler;

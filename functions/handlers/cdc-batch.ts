import { z } from 'zod';
import { PipeError } from '../core/errors.js';
import { cdcBatch } from '../engines/cdc-batch.js';
import { defineTask, namedError, remainingMs } from './task.js';
import { loadPipe, withConnections } from './tasks/common.js';
import { failPipe } from './tasks/fail-pipe.js';

const input = z.object({ pipeId: z.string().min(1) });

const SAFETY_MARGIN_MS = 5_000;

/**
 * The scheduled CDC run (EventBridge Scheduler → `{pipeId}`). It only runs while the pipe is
 * Running: a pause or resync moves the pipe first, so a late trigger is a no-op. No machine
 * Catch sits behind it, so a fatal error marks the pipe Failed here; a transient one is thrown
 * and the next trigger tries again.
 */
export const cdcBatchTask = defineTask('CdcBatch', input, async (runtime, command, context) => {
  const loaded = await loadPipe(runtime, command.pipeId);
  if (loaded.pipe.state !== 'Running')
    return { status: 'skipped' as const, reason: `pipe is ${loaded.pipe.state}` };
  const budgetMs = Math.min(
    remainingMs(context, Number.POSITIVE_INFINITY),
    loaded.settings.cdcTimeBudgetSeconds * 1000,
  );
  const holder = context.awsRequestId ?? `cdc-${command.pipeId}-${runtime.clock.now()}`;
  try {
    return await withConnections(runtime, loaded, async ({ changeSource, destination }) => {
      if (!changeSource) return { status: 'skipped' as const, reason: 'the pipe maps no table' };
      return cdcBatch(
        { store: runtime.store, source: changeSource, destination, clock: runtime.clock },
        {
          pipeId: command.pipeId,
          holder,
          budget: { deadline: runtime.clock.now() + budgetMs, safetyMarginMs: SAFETY_MARGIN_MS },
        },
      );
    });
  } catch (error) {
    const named = namedError(error);
    if (named instanceof PipeError && named.disposition !== 'retry')
      await failPipe(runtime, command.pipeId, { name: named.name, message: named.message }, 'cdc-batch');
    throw named;
  }
});

export const handler = cdcBatchTask.handler;

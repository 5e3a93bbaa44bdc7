import { randomUUID } from 'node:crypto';
import { cdcBatchTask } from '../../functions/handlers/cdc-batch.js';
import type { Runtime } from '../../functions/handlers/runtime.js';
import type { CdcBatchMetrics, CdcMetrics } from '../../functions/ports/metrics.js';
import type { CdcInvoker } from './schedule.js';

/** The deployed CDC function's timeout (infra/pipe-function.ts, HEAVY): a local run gets the same time. */
export const CDC_FUNCTION_TIMEOUT_MS = 15 * 60_000;

/**
 * Invokes the CDC handler as Lambda does: a fresh request id as the lease holder, and the time
 * left of a function with the deployed timeout, so the run's budget and hand-over are AWS's.
 */
export function localCdcInvoker(runtime: Runtime, timeoutMs = CDC_FUNCTION_TIMEOUT_MS): CdcInvoker {
  return async (pipeId, trigger) => {
    const deadline = Date.now() + timeoutMs;
    return cdcBatchTask.invoke(
      runtime,
      { pipeId, trigger },
      { getRemainingTimeInMillis: () => deadline - Date.now(), awsRequestId: `local-cdc-${randomUUID()}` },
    );
  };
}

/** CdcMetrics on the local console: one line per batch that applied events, and failures. */
export function consoleCdcMetrics(
  line: (text: string) => void,
  nameOf: (pipeId: string) => string,
): CdcMetrics {
  return {
    batchApplied(pipeId: string, batch: CdcBatchMetrics) {
      if (batch.events === 0) return;
      const lag = batch.lagMs === null ? '' : `, lag ${(batch.lagMs / 1000).toFixed(1)} s`;
      line(`pipe ${nameOf(pipeId)}: CDC ${batch.events} events, ${batch.rows} rows${lag}`);
    },
    pipeFailed(pipeId: string) {
      line(`pipe ${nameOf(pipeId)}: CDC failed the pipe (GET /pipes/${pipeId} shows why)`);
    },
  };
}

import { PipeError } from '../../functions/core/errors.js';
import { cdcBatchTask } from '../../functions/handlers/cdc-batch.js';
import type { LambdaContext } from '../../functions/handlers/task.js';

/** CloudWatch namespace of the product's own metrics (alarms and the dashboard read it). */
export const METRIC_NAMESPACE = 'MongoClickHousePipes';

export const METRICS = {
  events: 'CdcEvents',
  rows: 'CdcRows',
  bytes: 'CdcBytes',
  lagMs: 'CdcLagMs',
  pipesFailed: 'PipesFailed',
} as const;

/**
 * One CloudWatch Embedded Metric Format line: metrics per pipe and, through the empty dimension
 * set, for the whole deployment. Written to stdout directly, not through console.log, so the
 * Lambda JSON log format does not wrap it and CloudWatch extracts the metrics.
 */
export function emfLine(pipeId: string, values: Partial<Record<keyof typeof METRICS, number>>, at: number) {
  const entries = Object.entries(values).filter(([, value]) => typeof value === 'number');
  return JSON.stringify({
    _aws: {
      Timestamp: at,
      CloudWatchMetrics: [
        {
          Namespace: METRIC_NAMESPACE,
          Dimensions: [['PipeId'], []],
          Metrics: entries.map(([key]) => ({
            Name: METRICS[key as keyof typeof METRICS],
            Unit: key === 'lagMs' ? 'Milliseconds' : key === 'bytes' ? 'Bytes' : 'Count',
          })),
        },
      ],
    },
    PipeId: pipeId,
    ...Object.fromEntries(entries.map(([key, value]) => [METRICS[key as keyof typeof METRICS], value])),
  });
}

function pipeIdOf(event: unknown): string {
  const id = (event as { pipeId?: unknown } | null)?.pipeId;
  return typeof id === 'string' && id.length > 0 ? id.slice(0, 128) : 'unknown';
}

/**
 * The deployed CDC entry point: the handler of functions/handlers/cdc-batch.ts, plus one metrics
 * line per run (events, rows, bytes, lag) and one when a fatal error failed the pipe.
 */
export async function handler(event: unknown, context?: LambdaContext) {
  const pipeId = pipeIdOf(event);
  try {
    const result = (await cdcBatchTask.handler(event, context)) as {
      status: string;
      events?: number;
      rowsPerTable?: Record<string, number>;
      bytes?: number;
      lagMs?: number | null;
    };
    if (result.status === 'applied') {
      const rows = Object.values(result.rowsPerTable ?? {}).reduce((sum, count) => sum + count, 0);
      const metrics = {
        events: result.events ?? 0,
        rows,
        bytes: result.bytes ?? 0,
        ...(typeof result.lagMs === 'number' ? { lagMs: result.lagMs } : {}),
      };
      process.stdout.write(`${emfLine(pipeId, metrics, Date.now())}\n`);
    }
    return result;
  } catch (error) {
    // cdc-batch.ts fails the pipe itself on every error that is not retried.
    if (error instanceof PipeError && error.disposition !== 'retry')
      process.stdout.write(`${emfLine(pipeId, { pipesFailed: 1 }, Date.now())}\n`);
    throw error;
  }
}

import type { CdcBatchMetrics, CdcMetrics } from '../../ports/metrics.js';

/** CloudWatch namespace of the product's own metrics (alarms and the dashboard read it). */
export const METRIC_NAMESPACE = 'MongoClickHousePipes';

export const METRICS = {
  events: 'CdcEvents',
  rows: 'CdcRows',
  bytes: 'CdcBytes',
  lagMs: 'CdcLagMs',
  pipesFailed: 'PipesFailed',
} as const;

type MetricValues = Partial<Record<keyof typeof METRICS, number>>;

/**
 * One CloudWatch Embedded Metric Format line: metrics per pipe and, through the empty dimension
 * set, for the whole deployment.
 */
export function emfLine(pipeId: string, values: MetricValues, at: number): string {
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
    PipeId: pipeId.slice(0, 128),
    ...Object.fromEntries(entries.map(([key, value]) => [METRICS[key as keyof typeof METRICS], value])),
  });
}

/**
 * CdcMetrics as EMF lines on stdout, written directly rather than through console.log so the
 * Lambda JSON log format does not wrap them and CloudWatch extracts the metrics. One line per
 * batch, so a continuous run reports its lag every flush, not once per run.
 */
export class EmfCdcMetrics implements CdcMetrics {
  constructor(
    private readonly write: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
    private readonly now: () => number = Date.now,
  ) {}

  batchApplied(pipeId: string, metrics: CdcBatchMetrics): void {
    const { events, rows, bytes, lagMs } = metrics;
    this.write(emfLine(pipeId, { events, rows, bytes, ...(lagMs === null ? {} : { lagMs }) }, this.now()));
  }

  pipeFailed(pipeId: string): void {
    this.write(emfLine(pipeId, { pipesFailed: 1 }, this.now()));
  }
}

import type { Metrics } from '@aws-lambda-powertools/metrics';

type MetricUnit = Parameters<Metrics['addMetric']>[1];

/**
 * The names the CDC metrics are published under and the alarms and dashboard read
 * (infra/monitoring.ts): one list for both sides, so they cannot drift apart. No runtime import,
 * so the CDK app reads it without loading Powertools.
 */
export const METRIC_NAMESPACE = 'MongoClickHousePipes';

/** Each value is published per pipe (this dimension) and for the whole deployment (no dimension). */
export const PIPE_DIMENSION = 'PipeId';

export const CDC_METRICS = {
  events: { name: 'CdcEvents', unit: 'Count' },
  rows: { name: 'CdcRows', unit: 'Count' },
  bytes: { name: 'CdcBytes', unit: 'Bytes' },
  lagMs: { name: 'CdcLagMs', unit: 'Milliseconds' },
  pipesFailed: { name: 'PipesFailed', unit: 'Count' },
} as const satisfies Record<string, { name: string; unit: MetricUnit }>;

export type CdcMetricKey = keyof typeof CDC_METRICS;

/** The metric names by key (`METRICS.lagMs` is `'CdcLagMs'`). */
export const METRICS = Object.fromEntries(
  Object.entries(CDC_METRICS).map(([key, metric]) => [key, metric.name]),
) as { readonly [Key in CdcMetricKey]: (typeof CDC_METRICS)[Key]['name'] };

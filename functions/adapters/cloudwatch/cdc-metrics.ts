import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { CdcBatchMetrics, CdcMetrics } from '../../ports/metrics.js';
import { CDC_METRICS, type CdcMetricKey, PIPE_DIMENSION } from './metric-names.js';

/**
 * CdcMetrics on Powertools Metrics: one CloudWatch Embedded Metric Format line per call (so a
 * continuous run reports its lag every flush, not once per run), in METRIC_NAMESPACE, each value
 * per pipe (dimension PipeId) and for the whole deployment (the empty dimension set), which is
 * what the alarms and the dashboard read (infra/monitoring.ts). Powertools' default `service`
 * dimension is removed: it would change the dimension sets those read. The instance must be
 * built with `namespace: METRIC_NAMESPACE` (Powertools fixes the namespace at construction).
 */
export class PowertoolsCdcMetrics implements CdcMetrics {
  constructor(private readonly metrics: Metrics) {
    metrics.clearDefaultDimensions();
  }

  batchApplied(pipeId: string, batch: CdcBatchMetrics): void {
    const { events, rows, bytes, lagMs } = batch;
    this.publish(pipeId, { events, rows, bytes, ...(lagMs === null ? {} : { lagMs }) });
  }

  pipeFailed(pipeId: string): void {
    this.publish(pipeId, { pipesFailed: 1 });
  }

  /** Synchronous from the first add to the flush, so concurrent runs never mix their values. */
  private publish(pipeId: string, values: Partial<Record<CdcMetricKey, number>>): void {
    this.metrics.addDimension(PIPE_DIMENSION, pipeId.slice(0, 128));
    this.metrics.addDimensions({});
    for (const [key, value] of Object.entries(values)) {
      const metric = CDC_METRICS[key as CdcMetricKey];
      this.metrics.addMetric(metric.name, metric.unit, value);
    }
    this.metrics.publishStoredMetrics();
  }
}

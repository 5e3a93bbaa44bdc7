import { Metrics } from '@aws-lambda-powertools/metrics';
import { describe, expect, it } from 'vitest';
import { PowertoolsCdcMetrics } from '../../functions/adapters/cloudwatch/cdc-metrics.js';
import { CDC_METRICS, METRIC_NAMESPACE } from '../../functions/adapters/cloudwatch/metric-names.js';
import { metrics as productMetrics } from '../../functions/handlers/observability.js';
import { emfLinesOf } from '../support/output.js';

describe('CDC metrics on Powertools (CloudWatch Embedded Metric Format)', () => {
  it('publishes each value per pipe and for the deployment, in the namespace the alarms read', async () => {
    // The deployed wiring: the product's Metrics instance (functions/handlers/observability.ts).
    const cdcMetrics = new PowertoolsCdcMetrics(productMetrics);
    const before = Date.now();
    const [line, ...more] = await emfLinesOf(() =>
      cdcMetrics.batchApplied('orders', { events: 12, rows: 10, bytes: 2048, lagMs: 1500 }),
    );
    expect(more).toEqual([]);
    expect(line?._aws.Timestamp).toBeGreaterThanOrEqual(before);
    expect(line?._aws.CloudWatchMetrics).toEqual([
      {
        // Pinned: deployed alarms and dashboards read these.
        Namespace: 'MongoClickHousePipes',
        Dimensions: [['PipeId'], []],
        Metrics: [
          { Name: 'CdcEvents', Unit: 'Count' },
          { Name: 'CdcRows', Unit: 'Count' },
          { Name: 'CdcBytes', Unit: 'Bytes' },
          { Name: 'CdcLagMs', Unit: 'Milliseconds' },
        ],
      },
    ]);
    const { _aws, ...values } = line ?? { _aws: null };
    // No `service` dimension or key: it would change the dimension sets the alarms read.
    expect(values).toEqual({ PipeId: 'orders', CdcEvents: 12, CdcRows: 10, CdcBytes: 2048, CdcLagMs: 1500 });
    expect(METRIC_NAMESPACE).toBe('MongoClickHousePipes');
  });

  it('writes one line per batch (lag 0 when caught up, none when nothing was committed) and one per failed pipe', async () => {
    const cdcMetrics = new PowertoolsCdcMetrics(new Metrics({ namespace: METRIC_NAMESPACE }));
    const lines = await emfLinesOf(() => {
      cdcMetrics.batchApplied('p', { events: 3, rows: 3, bytes: 900, lagMs: 0 });
      cdcMetrics.batchApplied('p', { events: 0, rows: 0, bytes: 0, lagMs: null });
      cdcMetrics.pipeFailed('p');
    });
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatchObject({ PipeId: 'p', CdcEvents: 3, CdcRows: 3, CdcBytes: 900, CdcLagMs: 0 });
    expect(lines[1]).toMatchObject({ PipeId: 'p', CdcEvents: 0 });
    expect(lines[1]).not.toHaveProperty('CdcLagMs');
    expect(lines[2]).toMatchObject({ PipeId: 'p', PipesFailed: 1 });
    expect(lines[2]?._aws.CloudWatchMetrics[0]?.Metrics).toEqual([{ Name: 'PipesFailed', Unit: 'Count' }]);
    for (const line of lines) {
      expect(line._aws.CloudWatchMetrics[0]?.Dimensions).toEqual([['PipeId'], []]);
      expect(line).not.toHaveProperty('service');
    }
  });

  it('publishes under every name of the one list, and only those', async () => {
    const cdcMetrics = new PowertoolsCdcMetrics(new Metrics({ namespace: METRIC_NAMESPACE }));
    const lines = await emfLinesOf(() => {
      cdcMetrics.batchApplied('p', { events: 1, rows: 1, bytes: 1, lagMs: 1 });
      cdcMetrics.pipeFailed('p');
    });
    const names = lines.flatMap((line) =>
      line._aws.CloudWatchMetrics.flatMap((d) => d.Metrics.map((m) => m.Name)),
    );
    expect(names.sort()).toEqual(
      Object.values(CDC_METRICS)
        .map((metric) => metric.name)
        .sort(),
    );
  });
});

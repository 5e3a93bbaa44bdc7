import { describe, expect, it } from 'vitest';
import { emfLine, METRIC_NAMESPACE } from '../../functions/adapters/cloudwatch/emf-metrics.js';

describe('CDC metrics line (CloudWatch Embedded Metric Format)', () => {
  it('declares each value per pipe and for the deployment', () => {
    const line = JSON.parse(emfLine('orders', { events: 12, rows: 10, lagMs: 1500 }, 1_700_000_000_000));
    expect(line._aws.Timestamp).toBe(1_700_000_000_000);
    const [directive] = line._aws.CloudWatchMetrics;
    expect(directive.Namespace).toBe(METRIC_NAMESPACE);
    expect(directive.Dimensions).toEqual([['PipeId'], []]);
    expect(directive.Metrics).toEqual([
      { Name: 'CdcEvents', Unit: 'Count' },
      { Name: 'CdcRows', Unit: 'Count' },
      { Name: 'CdcLagMs', Unit: 'Milliseconds' },
    ]);
    expect(line).toMatchObject({ PipeId: 'orders', CdcEvents: 12, CdcRows: 10, CdcLagMs: 1500 });
  });
});

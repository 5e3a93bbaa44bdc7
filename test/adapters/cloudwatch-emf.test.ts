import { describe, expect, it } from 'vitest';
import { EmfCdcMetrics, emfLine, METRIC_NAMESPACE } from '../../functions/adapters/cloudwatch/emf-metrics.js';

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

  it('writes one line per batch (lag 0 when caught up, none when nothing was committed) and one per failed pipe', () => {
    const lines: string[] = [];
    const metrics = new EmfCdcMetrics(
      (line) => lines.push(line),
      () => 42,
    );
    metrics.batchApplied('p', { events: 3, rows: 3, bytes: 900, lagMs: 0 });
    metrics.batchApplied('p', { events: 0, rows: 0, bytes: 0, lagMs: null });
    metrics.pipeFailed('p');
    const parsed = lines.map((line) => JSON.parse(line));
    expect(parsed[0]).toMatchObject({ CdcEvents: 3, CdcRows: 3, CdcBytes: 900, CdcLagMs: 0 });
    expect(parsed[1]).not.toHaveProperty('CdcLagMs');
    expect(parsed[2]).toMatchObject({ PipeId: 'p', PipesFailed: 1 });
    expect(parsed.map((line) => line._aws.Timestamp)).toEqual([42, 42, 42]);
  });
});

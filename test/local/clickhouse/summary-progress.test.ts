import { type ClickHouseClient, createClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestClickHouse, type TestClickHouse } from '../../support/clickhouse.js';

/**
 * X-ClickHouse-Summary's read figures for streamed SELECTs: what the query has read when the
 * headers go out (system.processes), as a server's summary holds its progress at that moment.
 */

let clickhouse: TestClickHouse;
let client: ClickHouseClient;

beforeAll(async () => {
  clickhouse = await startTestClickHouse();
  client = createClient({ url: clickhouse.url });
});

afterAll(async () => {
  await client?.close();
  await clickhouse?.remove();
});

function summaryOf(header: string | string[] | null | undefined): Record<string, string> {
  return JSON.parse(String(header ?? '{}')) as Record<string, string>;
}

describe('X-ClickHouse-Summary of a streamed SELECT', () => {
  it('counts the rows an aggregation read before its first output (raw HTTP)', async () => {
    const query = 'SELECT count() FROM numbers(2000000)';
    const response = await fetch(`${clickhouse.url}/?${new URLSearchParams({ query })}`);
    expect(await response.text()).toBe('2000000\n');
    const summary = summaryOf(response.headers.get('x-clickhouse-summary'));
    expect(summary.read_rows).toBe('2000000');
    expect(Number(summary.read_bytes)).toBe(16000000);
  });

  it('reports what a long stream has read so far, and progress when asked (@clickhouse/client)', async () => {
    const result = await client.query({
      query: 'SELECT number FROM numbers(3000000)',
      format: 'TabSeparated',
      clickhouse_settings: { max_block_size: '10000', send_progress_in_http_headers: 1 },
    });
    const summary = summaryOf(result.response_headers['x-clickhouse-summary']);
    expect(Number(summary.read_rows)).toBeGreaterThan(0);
    expect(Number(summary.read_rows)).toBeLessThanOrEqual(3000000);
    expect(Number(summary.read_bytes)).toBe(Number(summary.read_rows) * 8);
    expect(summaryOf(result.response_headers['x-clickhouse-progress']).read_rows).toBe(summary.read_rows);
    expect((await result.text()).split('\n')).toHaveLength(3000001);
  });
});

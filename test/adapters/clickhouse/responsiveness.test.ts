import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClickHouseDestination } from '../../../functions/adapters/clickhouse/destination.js';
import { startTestClickHouse, type TestClickHouse } from '../../support/clickhouse.js';
import { generatedRows } from './fixtures.js';

let clickhouse: TestClickHouse;
let destination: ClickHouseDestination;

beforeAll(async () => {
  clickhouse = await startTestClickHouse();
  destination = ClickHouseDestination.connect({ url: clickhouse.url });
  await destination.ensureDatabase('load');
});

afterAll(async () => {
  await destination?.close();
  await clickhouse?.remove();
});

describe('a big insert', () => {
  it('leaves this event loop and the front responsive, and every row lands', async () => {
    const ref = { database: 'load', table: 'big' };
    await destination.createTable(ref, { useJsonNativeFormat: true, deleteOnMerge: false });
    const rows = 60_000;
    let maxTimerLagMs = 0;
    let expected = performance.now() + 10;
    const timer = setInterval(() => {
      const now = performance.now();
      maxTimerLagMs = Math.max(maxTimerLagMs, now - expected);
      expected = now + 10;
    }, 10);
    const pingMs: number[] = [];
    let inserting = true;
    const pinger = (async () => {
      for (let i = 0; i < 2000 && inserting; i++) {
        const started = performance.now();
        const response = await fetch(`${clickhouse.url}/ping`);
        await response.text();
        pingMs.push(performance.now() - started);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    const started = performance.now();
    try {
      const result = await destination.insertRows({
        ...ref,
        rows: generatedRows(rows, 1000),
        deduplicationToken: 'big-1',
        useJsonNativeFormat: true,
      });
      expect(result.rows).toBe(rows);
    } finally {
      inserting = false;
      clearInterval(timer);
      await pinger;
    }
    const seconds = (performance.now() - started) / 1000;
    const worstPing = Math.max(...pingMs);
    console.log(
      `big insert: ${rows} rows of ~1 KB in ${seconds.toFixed(2)} s (${Math.round(rows / seconds)} rows/s); ` +
        `max timer lag here ${maxTimerLagMs.toFixed(0)} ms; front /ping answered ${pingMs.length} times, worst ${worstPing.toFixed(0)} ms`,
    );
    expect(await destination.countRows(ref)).toBe(rows);
    // Loose bounds: the engine works in another process; only a blocked loop would come near these.
    expect(pingMs.length).toBeGreaterThan(0);
    expect(worstPing).toBeLessThan(2000);
    expect(maxTimerLagMs).toBeLessThan(2000);
  });
});

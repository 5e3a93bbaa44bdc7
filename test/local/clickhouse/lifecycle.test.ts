import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@clickhouse/client';
import { afterAll, describe, expect, it } from 'vitest';
import { startTestClickHouse } from '../../support/clickhouse.js';

const dataDir = mkdtempSync(join(tmpdir(), 'clickhouse-restart-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe('embedded engine lifecycle', () => {
  it('keeps data across a stop and a start on the same data directory', async () => {
    const first = await startTestClickHouse({ dataDir });
    try {
      const client = createClient({ url: first.url });
      await client.command({ query: 'CREATE TABLE kept (n UInt32) ENGINE = MergeTree ORDER BY n' });
      await client.insert({ table: 'kept', values: [{ n: 1 }, { n: 2 }, { n: 3 }], format: 'JSONEachRow' });
      await client.close();
    } finally {
      await first.stop();
    }
    const second = await startTestClickHouse({ dataDir });
    try {
      const client = createClient({ url: second.url });
      const result = await client.query({ query: 'SELECT sum(n) AS total FROM kept', format: 'JSONEachRow' });
      expect(await result.json()).toEqual([{ total: 6 }]);
      await client.close();
    } finally {
      await second.stop();
    }
    // A clean exit: the engine closed the data directory rather than being killed.
    expect(await second.exited).toEqual({ code: 0, signal: null });
  });

  it('refuses a second engine on a directory that is in use', async () => {
    const owner = await startTestClickHouse({ dataDir });
    try {
      await expect(startTestClickHouse({ dataDir })).rejects.toThrow(/failed to start|exited/);
    } finally {
      await owner.stop();
    }
  });
});

import { Readable } from 'node:stream';
import { type ClickHouseClient, createClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestClickHouse, type TestClickHouse } from '../../support/clickhouse.js';

let clickhouse: TestClickHouse;
let client: ClickHouseClient;

beforeAll(async () => {
  clickhouse = await startTestClickHouse();
  client = createClient({ url: clickhouse.url, compression: { response: true, request: true } });
});

afterAll(async () => {
  await client?.close();
  await clickhouse?.remove();
});

describe('the embedded front through @clickhouse/client', () => {
  it('answers ping and reports the real engine version', async () => {
    expect(await client.ping()).toEqual({ success: true });
    expect(clickhouse.version).toMatch(/^26\./);
  });

  it('runs queries in JSONEachRow and JSON with query parameters', async () => {
    const rows = await client.query({
      query: 'SELECT number AS n, {label:String} AS label FROM numbers(3) WHERE number >= {from:UInt8}',
      query_params: { label: "tab\tquote'", from: 1 },
      format: 'JSONEachRow',
      clickhouse_settings: { output_format_json_quote_64bit_integers: 1 },
    });
    expect(await rows.json()).toEqual([
      { n: '1', label: "tab\tquote'" },
      { n: '2', label: "tab\tquote'" },
    ]);
    const json = await client.query({ query: 'SELECT 41 + 1 AS answer', format: 'JSON' });
    const parsed = await json.json<{ answer: number }>();
    expect(parsed.data).toEqual([{ answer: 42 }]);
    expect(parsed.rows).toBe(1);
  });

  it('applies the database parameter and settings per request only', async () => {
    await client.command({ query: 'CREATE DATABASE IF NOT EXISTS other' });
    const inOther = createClient({ url: clickhouse.url, database: 'other' });
    try {
      const current = await inOther.query({
        query: "SELECT currentDatabase() AS db, getSetting('max_threads') AS threads",
        format: 'JSONEachRow',
        clickhouse_settings: { max_threads: 3 },
      });
      expect(await current.json()).toEqual([{ db: 'other', threads: 3 }]);
    } finally {
      await inOther.close();
    }
    const after = await client.query({
      query: "SELECT currentDatabase() AS db, getSetting('max_threads') != 3 AS reset",
      format: 'JSONEachRow',
    });
    expect(await after.json()).toEqual([{ db: 'default', reset: 1 }]);
  });

  it('inserts values and streams, and commands/exec work', async () => {
    await client.command({
      query: 'CREATE TABLE IF NOT EXISTS kv (k String, v UInt64) ENGINE = MergeTree ORDER BY k',
    });
    await client.insert({
      table: 'kv',
      values: [
        { k: 'a', v: 1 },
        { k: 'b', v: 2 },
      ],
      format: 'JSONEachRow',
    });
    await client.insert({
      table: 'kv',
      values: Readable.from([{ k: 'c', v: 3 }], { objectMode: true }),
      format: 'JSONEachRow',
    });
    const exec = await client.exec({ query: 'SELECT sum(v) FROM kv FORMAT TabSeparated' });
    let text = '';
    for await (const chunk of exec.stream) text += String(chunk);
    expect(text).toBe('6\n');
    const result = await client.query({ query: 'SELECT k FROM kv ORDER BY k', format: 'JSONEachRow' });
    expect(await result.json()).toEqual([{ k: 'a' }, { k: 'b' }, { k: 'c' }]);
  });

  it('turns engine errors into ClickHouseError with code and type', async () => {
    const failure = await client.query({ query: 'SELECT * FROM missing_table' }).catch((err: unknown) => err);
    expect(failure).toMatchObject({ code: '60', type: 'UNKNOWN_TABLE' });
    // Not `SELEC 1`: the engine's message then quotes `(SELEC)`, which the client's parser takes
    // for the type (a server's message is the same).
    const syntax = await client.command({ query: 'SELECT 1 +' }).catch((err: unknown) => err);
    expect(syntax).toMatchObject({ code: '62', type: 'SYNTAX_ERROR' });
  });
});

import { Readable } from 'node:stream';
import {
  type ClickHouseClient,
  ClickHouseError,
  type ClickHouseSettings,
  createClient,
  TupleParam,
} from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestClickHouse, type TestClickHouse } from '../../support/clickhouse.js';

/**
 * ClickHouse's HTTP interface through the official client, as users' own tools use it: sessions,
 * multipart bodies and external data, query parameters, content types, empty and binary INSERT
 * bodies, compressed errors, exceptions after output began, the X-ClickHouse headers, the default
 * user, and syntax errors that stay syntax errors.
 */

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

async function text(stream: Readable): Promise<string> {
  let all = '';
  for await (const chunk of stream) all += String(chunk);
  return all;
}

describe('sessions', () => {
  it('keeps temporary tables (inserted through insert()) and SET within a session', async () => {
    const inSession = createClient({ url: clickhouse.url, session_id: 'client-keeps' });
    try {
      await inSession.command({ query: 'CREATE TEMPORARY TABLE tmp (k String, v UInt8)' });
      await inSession.insert({ table: 'tmp', values: [{ k: 'a', v: 1 }], format: 'JSONEachRow' });
      await inSession.command({ query: 'SET max_threads = 3' });
      const rows = await inSession.query({
        query: "SELECT k, v, getSetting('max_threads') AS threads FROM tmp",
        format: 'JSONEachRow',
      });
      expect(await rows.json()).toEqual([{ k: 'a', v: 1, threads: 3 }]);
      const outside = await client.query({ query: 'SELECT * FROM tmp' }).catch((err: unknown) => err);
      expect(outside).toMatchObject({ code: '60' });
    } finally {
      await inSession.close();
    }
  });

  it('refuses a concurrent query in one session with SESSION_IS_LOCKED, and an unknown one with session_check', async () => {
    const inSession = createClient({ url: clickhouse.url, session_id: 'client-locked' });
    try {
      const slow = inSession.query({
        query: 'SELECT sleep(3) AS s /* client-locked-sleep */',
        format: 'JSONEachRow',
      });
      // The second query goes once the first runs (bounded wait), however slow the machine.
      const probe = `SELECT count() AS n FROM system.processes WHERE query LIKE '%client-locked-sleep%' AND query NOT LIKE '%system.processes%'`;
      let running = false;
      for (let i = 0; i < 200 && !running; i++) {
        const [row] = await (await client.query({ query: probe, format: 'JSONEachRow' })).json<{
          n: string;
        }>();
        running = Number(row?.n) > 0;
        if (!running) await new Promise((wake) => setTimeout(wake, 25));
      }
      expect(running).toBe(true);
      const second = await inSession.query({ query: 'SELECT 1' }).catch((err: unknown) => err);
      expect(second).toBeInstanceOf(ClickHouseError);
      expect(second).toMatchObject({ code: '373', type: 'SESSION_IS_LOCKED' });
      expect(await (await slow).json()).toEqual([{ s: 0 }]);
      // session_check is a URL parameter the client passes on like a setting.
      const unknown = await client
        .exec({
          query: 'SELECT 1',
          session_id: 'client-unknown',
          clickhouse_settings: { session_check: 1 } as ClickHouseSettings,
        })
        .catch((err: unknown) => err);
      expect(unknown).toMatchObject({ code: '372', type: 'SESSION_NOT_FOUND' });
    } finally {
      await inSession.close();
    }
  });
});

describe('multipart/form-data bodies', () => {
  it('answers a query whose parameters the client sends as form fields', async () => {
    const long = 'x'.repeat(5000);
    const result = await client.query({
      query: 'SELECT length({s:String}) AS n, {a:Array(String)} AS a',
      query_params: { s: long, a: ["foo_'_bar"] },
      use_multipart_params: true,
      format: 'JSONEachRow',
    });
    expect(await result.json()).toEqual([{ n: 5000, a: ["foo_'_bar"] }]);
  });

  it('makes file parts external tables when exec() sends a multipart body', async () => {
    const boundary = 'front-test-boundary';
    const body = [
      `--${boundary}\r\nContent-Disposition: form-data; name="ids"; filename="ids.tsv"\r\n\r\n1\n2\n3\n\r\n`,
      `--${boundary}\r\nContent-Disposition: form-data; name="ids_types"\r\n\r\nUInt32\r\n`,
      `--${boundary}--\r\n`,
    ].join('');
    const result = await client.exec({
      query: 'SELECT sum(_1) FROM ids FORMAT TabSeparated',
      values: Readable.from([Buffer.from(body)]),
      http_headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}` },
    });
    expect(await text(result.stream)).toBe('6\n');
  });
});

describe('query parameters', () => {
  it("binds 'foo_\\'_bar' inside Tuple, Array and Map as the client formats them", async () => {
    const result = await client.query({
      query: 'SELECT {t:Tuple(String, UInt8)} AS t, {a:Array(String)} AS a, {m:Map(String, String)} AS m',
      query_params: {
        t: new TupleParam(["foo_'_bar", 1]),
        a: ["foo_'_bar"],
        m: new Map([["foo_'_bar", "v'"]]),
      },
      format: 'JSONEachRow',
    });
    expect(await result.json()).toEqual([
      { t: ["foo_'_bar", 1], a: ["foo_'_bar"], m: { "foo_'_bar": "v'" } },
    ]);
  });
});

describe('content types and headers', () => {
  it('sends the format content type, format, query id, timezone, summary and progress headers', async () => {
    const json = await client.query({ query: 'SELECT 1 AS one', format: 'JSON', query_id: 'client-q' });
    await json.json();
    expect(json.response_headers['content-type']).toBe('application/json; charset=UTF-8');
    expect(json.response_headers['x-clickhouse-format']).toBe('JSON');
    expect(json.response_headers['x-clickhouse-query-id']).toBe('client-q');
    expect(json.response_headers['x-clickhouse-timezone']).toBeTruthy();
    const csv = await client.query({ query: 'SELECT 1', format: 'CSVWithNames' });
    await csv.text();
    expect(csv.response_headers['content-type']).toBe('text/csv; charset=UTF-8; header=present');
    const progress = await client.query({
      query: 'SELECT 1',
      format: 'TabSeparated',
      clickhouse_settings: { send_progress_in_http_headers: 1 },
    });
    await progress.text();
    expect(progress.response_headers['x-clickhouse-progress']).toBeTruthy();
  });

  it('honours X-ClickHouse-Database sent as a header', async () => {
    await client.command({ query: 'CREATE DATABASE IF NOT EXISTS client_db' });
    const result = await client.query({
      query: 'SELECT currentDatabase() AS db',
      format: 'JSONEachRow',
      http_headers: { 'X-ClickHouse-Database': 'client_db' },
    });
    expect(await result.json()).toEqual([{ db: 'client_db' }]);
  });

  it('reports written rows in the insert summary', async () => {
    await client.command({ query: 'CREATE TABLE counted (x UInt8) ENGINE = MergeTree ORDER BY x' });
    const insert = await client.insert({
      table: 'counted',
      values: [{ x: 1 }, { x: 2 }],
      format: 'JSONEachRow',
    });
    expect(insert.summary?.written_rows).toBe('2');
  });
});

describe('INSERT bodies', () => {
  it('inserts 0 rows from an empty body', async () => {
    await client.command({ query: 'CREATE TABLE nothing (x UInt8) ENGINE = MergeTree ORDER BY x' });
    const result = await client.exec({
      query: 'INSERT INTO nothing FORMAT JSONEachRow',
      values: Readable.from([]),
    });
    await text(result.stream);
    expect(result.summary?.written_rows).toBe('0');
    const count = await client.query({ query: 'SELECT count() AS n FROM nothing', format: 'JSONEachRow' });
    expect(await count.json()).toEqual([{ n: 0 }]);
  });

  it('passes RowBinary and Parquet bodies as bytes', async () => {
    await client.command({ query: 'CREATE TABLE bin (id UInt8, s String) ENGINE = MergeTree ORDER BY id' });
    await client.exec({
      query: 'INSERT INTO bin FORMAT RowBinary',
      values: Readable.from([Buffer.from([1, 3, 0xff, 0xfe, 0x00])]),
    });
    const parquet = await client.exec({ query: "SELECT 2 AS id, 'pq' AS s FORMAT Parquet" });
    const chunks: Buffer[] = [];
    for await (const chunk of parquet.stream) chunks.push(chunk as Buffer);
    await client.exec({
      query: 'INSERT INTO bin FORMAT Parquet',
      values: Readable.from([Buffer.concat(chunks)]),
    });
    const rows = await client.query({
      query: 'SELECT id, hex(s) AS h FROM bin ORDER BY id',
      format: 'JSONEachRow',
    });
    expect(await rows.json()).toEqual([
      { id: 1, h: 'FFFE00' },
      { id: 2, h: '7071' },
    ]);
  });
});

describe('errors', () => {
  it('reads a compressed error body', async () => {
    // The client asks for gzip responses (enable_http_compression=1); errors come compressed too.
    const failure = await client.query({ query: 'SELECT * FROM not_here' }).catch((err: unknown) => err);
    expect(failure).toMatchObject({ code: '60', type: 'UNKNOWN_TABLE' });
  });

  it('raises an exception that came after some rows as a ClickHouseError', async () => {
    const plain = createClient({ url: clickhouse.url });
    const result = await plain.query({
      query: "SELECT throwIf(number = 200000, 'boom') AS x FROM numbers(300000)",
      format: 'JSONEachRow',
      clickhouse_settings: { max_block_size: '10000' },
    });
    let rows = 0;
    const failure = await (async () => {
      for await (const batch of result.stream()) rows += batch.length;
    })().catch((err: unknown) => err);
    await plain.close();
    expect(rows).toBeGreaterThan(0);
    expect(failure).toBeInstanceOf(ClickHouseError);
    expect(failure).toMatchObject({ code: '395', type: 'FUNCTION_THROW_IF_VALUE_IS_NON_ZERO' });
  });

  it('with wait_end_of_query, rejects the query itself with the late error', async () => {
    const failure = await client
      .query({
        query: "SELECT throwIf(number = 200000, 'boom') AS x FROM numbers(300000)",
        format: 'JSONEachRow',
        clickhouse_settings: { wait_end_of_query: 1, max_block_size: '10000' },
      })
      .catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(ClickHouseError);
    expect(failure).toMatchObject({ code: '395' });
  });

  it('never lets a gzip response with a late exception pass for complete', async () => {
    // The cut-off connection can reach the client before its gunzip yields the exception's bytes:
    // then it reports the cut instead of the ClickHouseError. Either way the read fails.
    const result = await client.query({
      query: "SELECT throwIf(number = 200000, 'boom') AS x FROM numbers(300000)",
      format: 'JSONEachRow',
      clickhouse_settings: { max_block_size: '10000' },
    });
    await expect(result.text()).rejects.toThrow();
  });

  it('answers a bare word with SYNTAX_ERROR', async () => {
    const failure = await client.command({ query: 'invalid' }).catch((err: unknown) => err);
    expect(failure).toMatchObject({ code: '62' });
    expect(String((failure as Error).message)).toMatch(/Syntax error/);
  });
});

describe('users', () => {
  it('lets the default user in with an empty password and refuses others with 516', async () => {
    const asDefault = createClient({ url: clickhouse.url, username: 'default', password: '' });
    const asBob = createClient({ url: clickhouse.url, username: 'bob', password: 'pw' });
    try {
      expect(
        await (await asDefault.query({ query: 'SELECT 1 AS one', format: 'JSONEachRow' })).json(),
      ).toEqual([{ one: 1 }]);
      const refused = await asBob.query({ query: 'SELECT 1' }).catch((err: unknown) => err);
      expect(refused).toMatchObject({ code: '516', type: 'AUTHENTICATION_FAILED' });
    } finally {
      await asDefault.close();
      await asBob.close();
    }
  });
});

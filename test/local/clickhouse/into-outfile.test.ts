import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ClickHouseClient, ClickHouseError, createClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasIntoOutfile } from '../../../local/clickhouse/protocol.js';
import { startTestClickHouse, type TestClickHouse } from '../../support/clickhouse.js';

let clickhouse: TestClickHouse;
let client: ClickHouseClient;
let outDir: string;

beforeAll(async () => {
  clickhouse = await startTestClickHouse();
  client = createClient({ url: clickhouse.url });
  outDir = mkdtempSync(join(tmpdir(), 'outfile-test-'));
});

afterAll(async () => {
  await client?.close();
  await clickhouse?.remove();
  if (outDir) rmSync(outDir, { recursive: true, force: true });
});

function url(search: Record<string, string>): string {
  return `${clickhouse.url}/?${new URLSearchParams(search).toString()}`;
}

describe('hasIntoOutfile (the front tokenizer)', () => {
  it.each([
    "SELECT 1 INTO OUTFILE '/tmp/x'",
    "select 1 into outfile '/tmp/x' format CSV",
    "SELECT 1 InTo\n\tOutFile '/tmp/x'",
    "SELECT 1 INTO/* c */OUTFILE '/tmp/x'",
    "SELECT 1 INTO -- c\nOUTFILE '/tmp/x'",
    "SELECT 1 INTO # c\nOUTFILE '/tmp/x'",
    "SELECT 1 INTO /* /* nested */ */ OUTFILE '/tmp/x'",
    "SELECT 'it''s', \"a\\\"b\", `c` INTO OUTFILE '/tmp/x'",
    "SELECT $$ ' $$ INTO OUTFILE '/tmp/x'",
    "SHOW TABLES INTO OUTFILE '/tmp/x'",
    "WITH 1 AS a SELECT a INTO OUTFILE '/tmp/x' APPEND",
  ])('finds the clause in %s', (sql) => {
    expect(hasIntoOutfile(sql)).toBe(true);
  });

  it.each([
    "SELECT 'INTO OUTFILE'",
    "SELECT 'x'' INTO OUTFILE '' y'",
    "SELECT 'a\\' INTO OUTFILE \\'b'",
    'SELECT 1 AS "INTO OUTFILE"',
    'SELECT 1 AS `INTO OUTFILE`',
    'SELECT 1 -- INTO OUTFILE',
    'SELECT 1 /* INTO OUTFILE */',
    'SELECT $tag$ INTO OUTFILE $tag$',
    'SELECT 1 AS into_outfile',
    'INSERT INTO t FORMAT CSV\n"INTO OUTFILE",1',
    'INSERT INTO t FORMAT TabSeparated\nINTO OUTFILE',
  ])('does not find it in %s', (sql) => {
    expect(hasIntoOutfile(sql)).toBe(false);
  });
});

describe('INTO OUTFILE through the front', () => {
  const refused = [
    (path: string) => `SELECT 42 INTO OUTFILE '${path}'`,
    (path: string) => `select 42 /* INTO OUTFILE */ into -- x\n outfile '${path}' FORMAT CSV`,
    (path: string) => `SELECT 'INTO OUTFILE' AS s INTO OUTFILE '${path}' TRUNCATE`,
    (path: string) => `SHOW DATABASES INTO OUTFILE '${path}'`,
  ];

  it.each(refused.map((make, index) => [index, make] as const))(
    'refuses statement %i over raw HTTP with code 358 and writes no file',
    async (index, make) => {
      const path = join(outDir, `raw-${index}.out`);
      for (const request of [
        fetch(url({ query: make(path) })),
        fetch(url({}), { method: 'POST', body: make(path) }),
        fetch(url({ query: 'SELECT 1' }), { method: 'POST', body: make(path).replace(/^SELECT 1?/i, '') }),
      ]) {
        const response = await request;
        const text = await response.text();
        if (response.status === 200) throw new Error(`unexpectedly answered: ${text}`);
        expect(response.headers.get('x-clickhouse-exception-code')).toBe('358');
        expect(text).toBe(
          'Code: 358. DB::Exception: INTO OUTFILE is not allowed. (INTO_OUTFILE_NOT_ALLOWED)\n',
        );
        expect(response.status).toBe(500);
      }
      expect(existsSync(path)).toBe(false);
    },
  );

  it('refuses it through @clickhouse/client with ClickHouseError 358', async () => {
    const path = join(outDir, 'client.out');
    const attempt = client.command({ query: `SELECT 1 INTO OUTFILE '${path}' FORMAT CSV` });
    await expect(attempt).rejects.toBeInstanceOf(ClickHouseError);
    await expect(attempt).rejects.toMatchObject({ code: '358', type: 'INTO_OUTFILE_NOT_ALLOWED' });
    const viaQuery = client.query({ query: `SELECT 1 INTO OUTFILE '${path}'`, format: 'JSONEachRow' });
    await expect(viaQuery).rejects.toMatchObject({ code: '358' });
    expect(existsSync(path)).toBe(false);
    expect(readdirSync(outDir)).toEqual([]);
  });

  it('still answers string literals and identifiers containing the words', async () => {
    const literal = await fetch(
      url({ query: "SELECT 'INTO OUTFILE' AS s, 'into outfile' AS `INTO OUTFILE`" }),
    );
    expect(literal.status).toBe(200);
    expect(await literal.text()).toBe('INTO OUTFILE\tinto outfile\n');
    const rows = await client.query({
      query: "SELECT 'INTO OUTFILE' AS s /* INTO OUTFILE */",
      format: 'JSONEachRow',
    });
    expect(await rows.json()).toEqual([{ s: 'INTO OUTFILE' }]);
  });

  it('still runs normal SELECTs and INSERTs (raw and general path), data containing the words included', async () => {
    await client.command({
      query: 'CREATE TABLE words (id UInt32, s String) ENGINE = MergeTree ORDER BY id',
    });
    // Raw insert fast path.
    const raw = await fetch(url({ query: 'INSERT INTO words FORMAT JSONEachRow' }), {
      method: 'POST',
      body: '{"id":1,"s":"INTO OUTFILE \'/tmp/x\'"}\n',
    });
    expect(raw.status).toBe(200);
    expect(JSON.parse(raw.headers.get('x-clickhouse-summary') ?? '{}').written_rows).toBe('1');
    // General path: the statement and its rows together in the body.
    const general = await fetch(url({}), {
      method: 'POST',
      body: 'INSERT INTO words SETTINGS async_insert = 0 FORMAT CSV\n2,INTO OUTFILE\n',
    });
    expect(general.status).toBe(200);
    const values = await fetch(url({}), {
      method: 'POST',
      body: "INSERT INTO words VALUES (3, 'INTO OUTFILE')",
    });
    expect(values.status).toBe(200);
    await client.insert({ table: 'words', values: [{ id: 4, s: 'into outfile' }], format: 'JSONEachRow' });
    const select = await fetch(url({ query: 'SELECT id, s FROM words ORDER BY id FORMAT CSV' }));
    expect(await select.text()).toBe(
      '1,"INTO OUTFILE \'/tmp/x\'"\n2,"INTO OUTFILE"\n3,"INTO OUTFILE"\n4,"into outfile"\n',
    );
  });
});

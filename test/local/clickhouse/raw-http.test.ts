import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestClickHouse, type TestClickHouse } from '../../support/clickhouse.js';

let clickhouse: TestClickHouse;

beforeAll(async () => {
  clickhouse = await startTestClickHouse();
});

afterAll(async () => {
  await clickhouse?.remove();
});

function url(search: Record<string, string>): string {
  return `${clickhouse.url}/?${new URLSearchParams(search).toString()}`;
}

describe('the embedded front over plain HTTP (curl-style)', () => {
  it('GET /ping and GET / answer Ok.', async () => {
    for (const path of ['/ping', '/']) {
      const response = await fetch(`${clickhouse.url}${path}`);
      expect(response.status).toBe(200);
      expect(await response.text()).toBe('Ok.\n');
    }
  });

  it('runs a query from the URL with the X-ClickHouse headers', async () => {
    const response = await fetch(url({ query: 'SELECT 1', query_id: 'q-1' }));
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('1\n');
    expect(response.headers.get('x-clickhouse-query-id')).toBe('q-1');
    expect(response.headers.get('x-clickhouse-format')).toBe('TabSeparated');
    expect(response.headers.get('x-clickhouse-timezone')).toBeTruthy();
    expect(JSON.parse(response.headers.get('x-clickhouse-summary') ?? '{}')).toHaveProperty('read_rows');
  });

  it('runs a query from the body, honouring default_format and a FORMAT clause', async () => {
    const byDefault = await fetch(url({ default_format: 'JSONEachRow' }), {
      method: 'POST',
      body: 'SELECT 2 AS two',
    });
    expect(await byDefault.text()).toBe('{"two":2}\n');
    const byClause = await fetch(url({ default_format: 'JSONEachRow' }), {
      method: 'POST',
      body: 'SELECT 3 AS three FORMAT CSVWithNames',
    });
    expect(byClause.headers.get('x-clickhouse-format')).toBe('CSVWithNames');
    expect(await byClause.text()).toBe('"three"\n3\n');
  });

  it('takes an INSERT statement in the URL and its rows in the body, gzip both ways', async () => {
    await fetch(
      url({ query: 'CREATE TABLE raw_rows (id UInt32, name String) ENGINE = MergeTree ORDER BY id' }),
      {
        method: 'POST',
      },
    );
    const insert = await fetch(url({ query: 'INSERT INTO raw_rows FORMAT JSONEachRow' }), {
      method: 'POST',
      headers: { 'Content-Encoding': 'gzip' },
      body: gzipSync('{"id":1,"name":"one"}\n{"id":2,"name":"two"}\n'),
    });
    expect(insert.status).toBe(200);
    const select = await fetch(
      url({ query: 'SELECT name FROM raw_rows ORDER BY id', enable_http_compression: '1' }),
      {
        headers: { 'Accept-Encoding': 'gzip' },
      },
    );
    // fetch decompresses by itself; the header proves the front compressed.
    expect(select.headers.get('content-encoding')).toBe('gzip');
    expect(await select.text()).toBe('one\ntwo\n');
    const manual = await import('node:http').then(
      (http) =>
        new Promise<Buffer>((resolve, reject) => {
          http
            .get(
              url({ query: 'SELECT 7', enable_http_compression: '1' }),
              { headers: { 'Accept-Encoding': 'gzip' } },
              (res) => {
                const chunks: Buffer[] = [];
                res.on('data', (chunk: Buffer) => chunks.push(chunk));
                res.on('end', () => resolve(Buffer.concat(chunks)));
              },
            )
            .on('error', reject);
        }),
    );
    expect(gunzipSync(manual).toString()).toBe('7\n');
  });

  it('reports errors with the status, exception code header and ClickHouse body', async () => {
    const unknownTable = await fetch(url({ query: 'SELECT * FROM nowhere' }));
    expect(unknownTable.status).toBe(404);
    expect(unknownTable.headers.get('x-clickhouse-exception-code')).toBe('60');
    expect(await unknownTable.text()).toMatch(/^Code: 60\. DB::Exception: .*\(UNKNOWN_TABLE\)/s);
    const syntax = await fetch(url({ query: 'SELEC 1' }));
    expect(syntax.status).toBe(400);
    expect(syntax.headers.get('x-clickhouse-exception-code')).toBe('62');
    const empty = await fetch(url({}), { method: 'POST', body: '' });
    expect(empty.status).toBe(400);
    expect(await empty.text()).toMatch(/^Code: 62\./);
  });

  it('binds param_ values given in the escaped text form', async () => {
    const response = await fetch(
      url({
        query: 'SELECT {s:String} AS s, {n:Nullable(UInt8)} AS n',
        param_s: 'a\\tb',
        param_n: '\\N',
        default_format: 'JSONEachRow',
      }),
    );
    expect(await response.json()).toEqual({ s: 'a\tb', n: null });
  });
});

describe('credentials', () => {
  it('refuses wrong credentials with 401 / AUTHENTICATION_FAILED when a user is configured', async () => {
    const guarded = await startTestClickHouse({ user: 'pipes', password: 's3cret' });
    try {
      const anonymous = await fetch(`${guarded.url}/?query=SELECT+1`);
      expect(anonymous.status).toBe(403);
      expect(anonymous.headers.get('x-clickhouse-exception-code')).toBe('516');
      const basic = await fetch(`${guarded.url}/?query=SELECT+1`, {
        headers: { Authorization: `Basic ${Buffer.from('pipes:s3cret').toString('base64')}` },
      });
      expect(await basic.text()).toBe('1\n');
      const headers = await fetch(`${guarded.url}/?query=SELECT+2`, {
        headers: { 'X-ClickHouse-User': 'pipes', 'X-ClickHouse-Key': 's3cret' },
      });
      expect(await headers.text()).toBe('2\n');
    } finally {
      await guarded.remove();
    }
  });
});

describe('body limit', () => {
  it('answers 413 / TOO_MANY_BYTES past the configured body size', async () => {
    const small = await startTestClickHouse({ maxBodyBytes: 1024 });
    try {
      const tooBig = await fetch(`${small.url}/`, { method: 'POST', body: `SELECT '${'x'.repeat(2048)}'` });
      expect(tooBig.status).toBe(413);
      expect(tooBig.headers.get('x-clickhouse-exception-code')).toBe('307');
      const fine = await fetch(`${small.url}/`, { method: 'POST', body: 'SELECT 5' });
      expect(await fine.text()).toBe('5\n');
    } finally {
      await small.remove();
    }
  });
});

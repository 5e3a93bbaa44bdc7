import { request as httpRequest } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestClickHouse, type TestClickHouse } from '../../support/clickhouse.js';

/**
 * ClickHouse's HTTP interface as curl or any HTTP library uses it: sessions, multipart bodies and
 * external data, query parameters, content types, empty and binary INSERT bodies, compressed errors,
 * exceptions after output began, GET read-only, the X-ClickHouse headers, the default user, and
 * syntax errors that stay syntax errors.
 */

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

/** A POST; fetch resolves at the headers, so a test that reuses a session reads the body first. */
async function post(search: Record<string, string>, body = ''): Promise<Response> {
  return fetch(url(search), { method: 'POST', body });
}

/** The status once the whole answer has arrived (a session is free again only then). */
async function statusOf(response: Promise<Response>): Promise<number> {
  const complete = await response;
  await complete.arrayBuffer();
  return complete.status;
}

/** Waits (bounded) until a query tagged `tag` shows in `system.processes`; false if it never does. */
async function untilRunning(tag: string): Promise<boolean> {
  const probe = `SELECT count() FROM system.processes WHERE query LIKE '%${tag}%' AND query NOT LIKE '%system.processes%'`;
  for (let i = 0; i < 200; i++) {
    if ((await (await post({}, probe)).text()).trim() !== '0') return true;
    await new Promise((wake) => setTimeout(wake, 25));
  }
  return false;
}

/** The whole raw response (headers and undecoded bytes), even when the server cuts it off. */
function rawGet(
  target: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(target, { headers }, (response) => {
      const chunks: Buffer[] = [];
      const done = () =>
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) });
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', done);
      response.on('error', done);
      response.on('aborted', done);
    });
    request.on('error', reject);
    request.end();
  });
}

describe('sessions', () => {
  it('keeps temporary tables and SET settings within a session, and URL settings per query', async () => {
    const session = { session_id: 'raw-keeps' };
    expect(await statusOf(post(session, 'CREATE TEMPORARY TABLE tmp (x UInt8)'))).toBe(200);
    expect(await statusOf(post(session, 'INSERT INTO tmp VALUES (1), (2)'))).toBe(200);
    expect(await statusOf(post(session, 'SET max_threads = 3'))).toBe(200);
    expect(await (await post(session, 'SELECT sum(x) FROM tmp')).text()).toBe('3\n');
    const perQuery = await post({ ...session, max_threads: '5' }, "SELECT getSetting('max_threads')");
    expect(await perQuery.text()).toBe('5\n');
    expect(await (await post(session, "SELECT getSetting('max_threads')")).text()).toBe('3\n');
    const outside = await post({}, 'SELECT * FROM tmp');
    expect(outside.status).toBe(404);
    expect(outside.headers.get('x-clickhouse-exception-code')).toBe('60');
  });

  it('applies the database parameter per query, and keeps a USE', async () => {
    const session = { session_id: 'raw-database' };
    const current = async (search: Record<string, string>) =>
      (await post({ ...session, ...search }, 'SELECT currentDatabase()')).text();
    expect(await current({ database: 'system' })).toBe('system\n');
    expect(await current({})).toBe('default\n');
    expect(await statusOf(post(session, 'USE system'))).toBe(200);
    expect(await current({})).toBe('system\n');
    expect(await current({ database: 'default' })).toBe('default\n');
    expect(await current({})).toBe('system\n');
  });

  it('answers SESSION_IS_LOCKED to a second query while the first runs', async () => {
    const session = { session_id: 'raw-locked' };
    const slow = post(session, 'SELECT sleep(3) /* raw-locked-sleep */');
    expect(await untilRunning('raw-locked-sleep')).toBe(true);
    const second = await post(session, 'SELECT 1');
    expect(second.status).toBe(500);
    expect(second.headers.get('x-clickhouse-exception-code')).toBe('373');
    expect(await second.text()).toMatch(/^Code: 373\. DB::Exception: Session raw-locked is locked/);
    const first = await slow;
    expect([first.status, await first.text()]).toEqual([200, '0\n']);
    expect(await (await post(session, 'SELECT 2')).text()).toBe('2\n');
  });

  it('refuses an unknown session with session_check=1, and one past its session_timeout', async () => {
    const unknown = await post({ session_id: 'raw-never', session_check: '1' }, 'SELECT 1');
    expect(unknown.status).toBe(500);
    expect(unknown.headers.get('x-clickhouse-exception-code')).toBe('372');
    expect(await unknown.text()).toMatch(/Session raw-never not found.*\(SESSION_NOT_FOUND\)/);
    // A session is handed back once its answer is complete: read each body before the next query.
    await (await post({ session_id: 'raw-short', session_timeout: '1' }, 'SELECT 1')).text();
    const known = await post({ session_id: 'raw-short', session_check: '1' }, 'SELECT 1');
    expect([known.status, await known.text()]).toEqual([200, '1\n']);
    // Each request sets the session's timeout (60 s when it names none), as on a server.
    await (await post({ session_id: 'raw-short', session_timeout: '1' }, 'SELECT 1')).text();
    await new Promise((wake) => setTimeout(wake, 1500));
    const expired = await post({ session_id: 'raw-short', session_check: '1' }, 'SELECT 1');
    expect(expired.headers.get('x-clickhouse-exception-code')).toBe('372');
    const tooLong = await post({ session_id: 'raw-long', session_timeout: '7200' }, 'SELECT 1');
    expect(tooLong.headers.get('x-clickhouse-exception-code')).toBe('374');
  });
});

describe('multipart/form-data bodies', () => {
  it('takes the query and param_* from form fields', async () => {
    const form = new FormData();
    form.append('query', 'SELECT {a:UInt8} + 1 AS b');
    form.append('param_a', '41');
    const response = await fetch(url({ default_format: 'JSONEachRow' }), { method: 'POST', body: form });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('{"b":42}\n');
  });

  it('makes file parts external tables, by _types or _structure and _format', async () => {
    const form = new FormData();
    form.append('ids', new Blob(['1\n2\n3\n']), 'ids.tsv');
    form.append('people', new Blob(['1,"ann"\n2,"bob"\n']), 'people.csv');
    form.append('people_structure', 'id UInt8, name String');
    form.append('people_format', 'CSV');
    const response = await fetch(
      url({
        query: 'SELECT (SELECT sum(_1) FROM ids) AS total, groupArray(name) AS names FROM people',
        ids_types: 'UInt32',
        default_format: 'JSONEachRow',
      }),
      { method: 'POST', body: form },
    );
    expect(await response.text()).toBe('{"total":6,"names":["ann","bob"]}\n');
    const missing = new FormData();
    missing.append('bare', new Blob(['1\n']), 'bare.tsv');
    const refused = await fetch(url({ query: 'SELECT * FROM bare' }), { method: 'POST', body: missing });
    expect(refused.status).toBe(400);
    expect(await refused.text()).toMatch(/Neither structure nor types .* bare/);
  });
});

describe('query parameters', () => {
  it("are parsed once, so 'foo_\\'_bar' works inside Tuple, Array and Map", async () => {
    const response = await fetch(
      url({
        query: 'SELECT {t:Tuple(String, UInt8)} AS t, {a:Array(String)} AS a, {m:Map(String, String)} AS m',
        param_t: "('foo_\\'_bar', 1)",
        param_a: "['foo_\\'_bar']",
        param_m: "{'foo_\\'_bar':'v'}",
        default_format: 'JSONEachRow',
      }),
    );
    expect(await response.json()).toEqual({ t: ["foo_'_bar", 1], a: ["foo_'_bar"], m: { "foo_'_bar": 'v' } });
    // At the top level the value is read as escaped text, once: \t is a tab, \N NULL.
    const top = await fetch(
      url({ query: 'SELECT {s:String}, {n:Nullable(UInt8)}', param_s: 'a\\tb', param_n: '\\N' }),
    );
    expect(await top.text()).toBe('a\\tb\t\\N\n');
  });
});

describe('query parameters at once', () => {
  it('keeps each request its own values when many run together', async () => {
    const values = Array.from({ length: 24 }, (_, index) => `v${index}_'${'x'.repeat(index)}`);
    const answers = await Promise.all(
      values.map(async (value) => {
        const response = await fetch(
          url({
            query: 'SELECT {s:String} AS s, sleep(0.05) AS pause',
            param_s: value.replace(/'/g, "\\'"),
            default_format: 'JSONEachRow',
          }),
        );
        return ((await response.json()) as { s: string }).s;
      }),
    );
    expect(answers).toEqual(values);
  });
});

describe('content types', () => {
  it('sends the content type of the output format', async () => {
    const cases: [string, string][] = [
      ['JSON', 'application/json; charset=UTF-8'],
      ['TabSeparated', 'text/tab-separated-values; charset=UTF-8'],
      ['CSV', 'text/csv; charset=UTF-8; header=absent'],
      ['CSVWithNames', 'text/csv; charset=UTF-8; header=present'],
      ['RowBinary', 'application/octet-stream'],
      ['Parquet', 'application/octet-stream'],
      ['JSONEachRow', 'application/x-ndjson; charset=UTF-8'],
      ['Pretty', 'text/plain; charset=UTF-8'],
    ];
    for (const [format, contentType] of cases) {
      const response = await post({}, `SELECT 1 AS one FORMAT ${format}`);
      await response.arrayBuffer();
      expect([format, response.headers.get('content-type')]).toEqual([format, contentType]);
    }
    const byDefault = await post({}, 'SELECT 1');
    expect(byDefault.headers.get('content-type')).toBe('text/tab-separated-values; charset=UTF-8');
  });
});

describe('INSERT bodies', () => {
  it('inserts 0 rows for an empty body, and still refuses an unknown table', async () => {
    await post({}, 'CREATE TABLE empty_target (x UInt8) ENGINE = MergeTree ORDER BY x');
    const empty = await post({ query: 'INSERT INTO empty_target FORMAT JSONEachRow' });
    expect(empty.status).toBe(200);
    expect(JSON.parse(empty.headers.get('x-clickhouse-summary') ?? '{}')).toMatchObject({
      written_rows: '0',
    });
    const inBody = await post({}, 'INSERT INTO empty_target FORMAT CSV');
    expect(inBody.status).toBe(200);
    expect(await (await post({}, 'SELECT count() FROM empty_target')).text()).toBe('0\n');
    const unknown = await post({ query: 'INSERT INTO no_such_table FORMAT JSONEachRow' });
    expect(unknown.status).toBe(404);
  });

  it('passes binary bodies (RowBinary, Parquet) as bytes, never decoded as text', async () => {
    await post({}, 'CREATE TABLE binary_rows (id UInt8, s String) ENGINE = MergeTree ORDER BY id');
    // id 1, then a 3-byte string that is not UTF-8.
    const rowBinary = Buffer.from([1, 3, 0xff, 0xfe, 0x00]);
    const inserted = await fetch(url({ query: 'INSERT INTO binary_rows FORMAT RowBinary' }), {
      method: 'POST',
      body: rowBinary,
    });
    expect(inserted.status).toBe(200);
    const parquet = Buffer.from(
      await (await post({}, "SELECT 2 AS id, 'pq' AS s FORMAT Parquet")).arrayBuffer(),
    );
    expect(parquet.subarray(0, 4).toString('latin1')).toBe('PAR1');
    const fromParquet = await fetch(url({ query: 'INSERT INTO binary_rows FORMAT Parquet' }), {
      method: 'POST',
      body: parquet,
    });
    expect(fromParquet.status).toBe(200);
    expect(await (await post({}, 'SELECT id, hex(s) FROM binary_rows ORDER BY id')).text()).toBe(
      '1\tFFFE00\n2\t7071\n',
    );
  });
});

describe('compression', () => {
  it('compresses an error body when the client asked for compression', async () => {
    const response = await rawGet(url({ query: 'SELECT * FROM nowhere', enable_http_compression: '1' }), {
      'Accept-Encoding': 'gzip',
    });
    expect(response.status).toBe(404);
    expect(response.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(response.body).toString()).toMatch(/^Code: 60\. DB::Exception: .*\(UNKNOWN_TABLE\)/s);
  });
});

describe('an exception after output began', () => {
  it('answers 200, then the exception framed by __exception__ and the X-ClickHouse-Exception-Tag', async () => {
    const response = await rawGet(
      url({
        query: "SELECT throwIf(number = 200000, 'boom') AS x FROM numbers(300000) FORMAT JSONEachRow",
        max_block_size: '10000',
      }),
    );
    expect(response.status).toBe(200);
    const tag = String(response.headers['x-clickhouse-exception-tag']);
    expect(tag).toMatch(/^[0-9a-f]{16}$/);
    const text = response.body.toString();
    expect(text.startsWith('{"x":0}\n')).toBe(true);
    const tail = new RegExp(
      `\\r\\n__exception__\\r\\n${tag}\\r\\n(Code: 395\\..*)\\n(\\d+) ${tag}\\r\\n__exception__\\r\\n$`,
      's',
    );
    const match = tail.exec(text);
    expect(match?.[1]).toMatch(/boom.*FUNCTION_THROW_IF_VALUE_IS_NON_ZERO/s);
    expect(Number(match?.[2])).toBe(Buffer.byteLength(`${match?.[1]}\n`));
  });
});

describe('wait_end_of_query', () => {
  it('holds the result back, so a late error gets its status and the summary counts every row', async () => {
    const late = await post(
      { wait_end_of_query: '1', max_block_size: '10000' },
      "SELECT throwIf(number = 200000, 'boom') FROM numbers(300000)",
    );
    expect(late.status).toBe(500);
    expect(late.headers.get('x-clickhouse-exception-code')).toBe('395');
    const whole = await post(
      { wait_end_of_query: '1', max_block_size: '10000' },
      'SELECT number FROM numbers(50000)',
    );
    expect(JSON.parse(whole.headers.get('x-clickhouse-summary') ?? '{}')).toMatchObject({
      result_rows: '50000',
    });
    expect((await whole.text()).split('\n')).toHaveLength(50001);
  });
});

describe('GET, headers and progress', () => {
  it('runs GET read-only (READONLY, 164), also in a session; POST may write', async () => {
    const create = 'CREATE TABLE made_by_get (x UInt8) ENGINE = Memory';
    const refused = await fetch(url({ query: create }));
    expect(refused.status).toBe(500);
    expect(refused.headers.get('x-clickhouse-exception-code')).toBe('164');
    const inSession = await fetch(url({ query: create, session_id: 'raw-get' }));
    expect(inSession.headers.get('x-clickhouse-exception-code')).toBe('164');
    expect(await (await fetch(url({ query: 'SELECT 5', session_id: 'raw-get' }))).text()).toBe('5\n');
    expect((await post({ query: create })).status).toBe(200);
  });

  it('honours X-ClickHouse-Database and X-ClickHouse-Format, and reports itself in headers', async () => {
    await post({}, 'CREATE DATABASE IF NOT EXISTS by_header');
    const response = await fetch(url({ query: 'SELECT currentDatabase() AS db', query_id: 'raw-q' }), {
      headers: { 'X-ClickHouse-Database': 'by_header', 'X-ClickHouse-Format': 'JSONEachRow' },
    });
    expect(await response.text()).toBe('{"db":"by_header"}\n');
    expect(response.headers.get('x-clickhouse-query-id')).toBe('raw-q');
    expect(response.headers.get('x-clickhouse-format')).toBe('JSONEachRow');
    expect(response.headers.get('x-clickhouse-timezone')).toBeTruthy();
  });

  it('sends X-ClickHouse-Progress when asked, and a summary with the rows written or read', async () => {
    const progress = await fetch(url({ query: 'SELECT 1', send_progress_in_http_headers: '1' }));
    expect(JSON.parse(progress.headers.get('x-clickhouse-progress') ?? '{}')).toHaveProperty('read_rows');
    expect((await fetch(url({ query: 'SELECT 1' }))).headers.get('x-clickhouse-progress')).toBeNull();
    await post({}, 'CREATE TABLE summarised (x UInt8) ENGINE = MergeTree ORDER BY x');
    const insert = await post({ query: 'INSERT INTO summarised FORMAT JSONEachRow' }, '{"x":1}\n{"x":2}\n');
    expect(JSON.parse(insert.headers.get('x-clickhouse-summary') ?? '{}')).toMatchObject({
      written_rows: '2',
    });
    const show = await post({}, 'SHOW DATABASES');
    expect(Number(JSON.parse(show.headers.get('x-clickhouse-summary') ?? '{}').read_rows)).toBeGreaterThan(0);
  });
});

describe('users', () => {
  it('accepts the default user with an empty password and refuses anyone else (516, 403)', async () => {
    expect((await fetch(url({ query: 'SELECT 1', user: 'default' }))).status).toBe(200);
    const basic = await fetch(url({ query: 'SELECT 1' }), {
      headers: { Authorization: `Basic ${Buffer.from('default:').toString('base64')}` },
    });
    expect(basic.status).toBe(200);
    for (const headers of [
      { 'X-ClickHouse-User': 'bob' } as Record<string, string>,
      { 'X-ClickHouse-User': 'default', 'X-ClickHouse-Key': 'secret' },
    ]) {
      const refused = await fetch(url({ query: 'SELECT 1' }), { headers });
      expect(refused.status).toBe(403);
      expect(refused.headers.get('x-clickhouse-exception-code')).toBe('516');
    }
  });
});

describe('syntax errors', () => {
  it('answers a bare word with SYNTAX_ERROR (62), not as SELECT of an identifier', async () => {
    const response = await post({}, 'invalid');
    expect(response.status).toBe(400);
    expect(response.headers.get('x-clickhouse-exception-code')).toBe('62');
    expect(await response.text()).toMatch(/Syntax error/);
  });
});

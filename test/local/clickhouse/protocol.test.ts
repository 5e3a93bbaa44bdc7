import { describe, expect, it } from 'vitest';
import {
  checkReadOnly,
  contentTypeFor,
  engineFailure,
  exceptionBlock,
  httpStatusForCode,
  parameterStatement,
  parseQueryRequest,
  responseFormat,
  settingStatement,
} from '../../../local/clickhouse/protocol.js';
import { rawInsertOf } from '../../../local/clickhouse/raw-insert.js';

describe('HTTP protocol helpers', () => {
  it('splits URL parameters into settings, query parameters and the query', () => {
    const request = parseQueryRequest(
      new URLSearchParams({
        query: 'INSERT INTO t FORMAT JSONEachRow',
        database: 'db',
        query_id: 'q',
        wait_end_of_query: '1',
        enable_http_compression: '1',
        insert_deduplication_token: 'tok',
        param_x: 'a\\nb',
        default_format: 'JSON',
      }),
      Buffer.from('{"a":1}'),
    );
    expect(request.sql).toBe('INSERT INTO t FORMAT JSONEachRow');
    expect(request.rawInsert).toEqual({
      table: 't',
      columns: undefined,
      format: 'JSONEachRow',
      data: Buffer.from('{"a":1}'),
    });
    expect(request.database).toBe('db');
    expect(request.queryId).toBe('q');
    expect(request.defaultFormat).toBe('JSON');
    expect([...request.settings]).toEqual([['insert_deduplication_token', 'tok']]);
    expect([...request.parameters]).toEqual([['x', 'a\\nb']]);
    expect(request.compressResponse).toBe(true);
  });

  it('sends rows of a recognised INSERT as bytes, anything else as SQL text', () => {
    const rows = Buffer.from('{"a":1}\n');
    expect(rawInsertOf('INSERT INTO `db`.`t` (`_id`, doc) FORMAT JSONEachRow', rows)).toEqual({
      table: 'db.t',
      columns: ['_id', 'doc'],
      format: 'JSONEachRow',
      data: rows,
    });
    expect(rawInsertOf('insert into t format CSV', rows)?.format).toBe('CSV');
    expect(rawInsertOf('INSERT INTO t FORMAT Parquet', rows)).toBeUndefined();
    expect(rawInsertOf('INSERT INTO t VALUES', rows)).toBeUndefined();
    expect(rawInsertOf('INSERT INTO t SELECT 1 FORMAT JSONEachRow', rows)).toBeUndefined();
    expect(rawInsertOf('INSERT INTO t FORMAT JSONEachRow', Buffer.alloc(0))).toBeUndefined();
    const general = parseQueryRequest(
      new URLSearchParams({ query: 'INSERT INTO t VALUES' }),
      Buffer.from("('x')"),
    );
    expect(general.rawInsert).toBeUndefined();
    expect(general.sql).toBe("INSERT INTO t VALUES\n('x')");
  });

  it('refuses empty queries and malformed names', () => {
    expect(() => parseQueryRequest(new URLSearchParams(), Buffer.from('  '))).toThrow(/Empty query/);
    expect(() =>
      parseQueryRequest(new URLSearchParams({ 'param_a-b': '1', query: 'SELECT 1' }), Buffer.alloc(0)),
    ).toThrow(/Invalid query parameter/);
    expect(() =>
      parseQueryRequest(new URLSearchParams({ 'max threads': '1', query: 'SELECT 1' }), Buffer.alloc(0)),
    ).toThrow(/Setting/);
    expect(() => settingStatement('a;DROP', '1')).toThrow(/Invalid setting/);
    expect(settingStatement('x', "it's \\")).toBe("SET x = 'it\\'s \\\\'");
  });

  it('keeps parameter values as sent, for the engine to parse once by their type', () => {
    const request = parseQueryRequest(
      new URLSearchParams({ query: 'SELECT {t:Tuple(String)}', param_t: "('foo_\\'_bar')", param_n: '\\N' }),
      Buffer.alloc(0),
    );
    expect(request.parameters.get('t')).toBe("('foo_\\'_bar')");
    expect(request.parameters.get('n')).toBe('\\N');
    expect(parameterStatement('t', "('foo_\\'_bar')")).toBe("SET param_t = '(\\'foo_\\\\\\'_bar\\')'");
  });

  it('names the response format from a trailing FORMAT clause, else the default', () => {
    expect(responseFormat('SELECT 1 FORMAT JSONEachRow', 'TabSeparated')).toBe('JSONEachRow');
    expect(responseFormat('SELECT 1', 'JSON')).toBe('JSON');
    expect(responseFormat('INSERT INTO t FORMAT CSV\n1', 'TabSeparated')).toBe('TabSeparated');
  });

  it('reads code and type from engine messages and maps them to HTTP statuses', () => {
    expect(engineFailure('Query failed: Code: 60. DB::Exception: no. (UNKNOWN_TABLE)')).toEqual({
      code: 60,
      type: 'UNKNOWN_TABLE',
      text: 'Code: 60. DB::Exception: no. (UNKNOWN_TABLE)',
    });
    expect(engineFailure('bind failed').code).toBe(1001);
    expect(httpStatusForCode(60)).toBe(404);
    expect(httpStatusForCode(62)).toBe(400);
    expect(httpStatusForCode(516)).toBe(403);
    expect(httpStatusForCode(194)).toBe(401);
    expect(httpStatusForCode(164)).toBe(500);
    expect(httpStatusForCode(159)).toBe(408);
    expect(httpStatusForCode(241)).toBe(500);
  });

  it('names content types per output format as a server does', () => {
    expect(contentTypeFor('JSON')).toBe('application/json; charset=UTF-8');
    expect(contentTypeFor('JSONCompact')).toBe('application/json; charset=UTF-8');
    expect(contentTypeFor('TSVWithNames')).toBe('text/tab-separated-values; charset=UTF-8');
    expect(contentTypeFor('TSKV')).toBe('text/tab-separated-values; charset=UTF-8');
    expect(contentTypeFor('CSV')).toBe('text/csv; charset=UTF-8; header=absent');
    expect(contentTypeFor('CSVWithNamesAndTypes')).toBe('text/csv; charset=UTF-8; header=present');
    expect(contentTypeFor('Native')).toBe('application/octet-stream');
    expect(contentTypeFor('XML')).toBe('application/xml; charset=UTF-8');
    expect(contentTypeFor('JSONEachRow')).toBe('application/x-ndjson; charset=UTF-8');
    expect(contentTypeFor('JSONEachRow', true)).toBe('application/json; charset=UTF-8');
    expect(contentTypeFor('Pretty')).toBe('text/plain; charset=UTF-8');
  });

  it('reads sessions, external tables, headers and GET from the request', () => {
    const request = parseQueryRequest(
      new URLSearchParams({
        query: 'SELECT * FROM ids',
        session_id: 's',
        session_timeout: '5',
        session_check: '1',
        ids_types: 'UInt8,String',
        people_structure: 'id UInt8',
        people_format: 'CSV',
        max_threads: '2',
      }),
      Buffer.alloc(0),
      {
        method: 'GET',
        databaseHeader: 'db',
        formatHeader: 'JSON',
        files: [
          { name: 'ids', data: Buffer.from('1\ta\n') },
          { name: 'people', data: Buffer.from('1\n') },
        ],
      },
    );
    expect(request.session).toEqual({ id: 's', timeoutSeconds: 5, check: true, close: false });
    expect(
      request.externalTables.map(({ name, structure, format }) => ({ name, structure, format })),
    ).toEqual([
      { name: 'ids', structure: '_1 UInt8, _2 String', format: 'TabSeparated' },
      { name: 'people', structure: 'id UInt8', format: 'CSV' },
    ]);
    expect([...request.settings]).toEqual([['max_threads', '2']]);
    expect([request.database, request.defaultFormat, request.readOnly]).toEqual(['db', 'JSON', true]);
    expect(() =>
      parseQueryRequest(
        new URLSearchParams({ query: 'SELECT 1', session_id: 's', session_timeout: 'x' }),
        Buffer.alloc(0),
      ),
    ).toThrow(/Invalid session timeout/);
  });

  it('takes INSERT bodies the raw insert does not as bytes for a file, empty ones too', () => {
    const binary = Buffer.from([0xff, 0x00]);
    const request = parseQueryRequest(
      new URLSearchParams({ query: 'INSERT INTO db.t (a, b) FORMAT RowBinary' }),
      binary,
    );
    expect(request.bodyInsert).toEqual({
      target: 'db.t',
      columns: '(a, b)',
      format: 'RowBinary',
      data: binary,
    });
    expect(request.sql).toBe('INSERT INTO db.t (a, b) FORMAT RowBinary');
    const empty = parseQueryRequest(new URLSearchParams(), Buffer.from('INSERT INTO t FORMAT JSONEachRow\n'));
    expect(empty.bodyInsert?.data.byteLength).toBe(0);
    const values = parseQueryRequest(new URLSearchParams(), Buffer.from('INSERT INTO t FORMAT Values (1)'));
    expect(values.bodyInsert).toBeUndefined();
  });

  it('lets only reading statements through a GET in a session', () => {
    for (const sql of [
      'SELECT 1',
      'with x as (select 1) select * from x',
      'SHOW TABLES',
      '(SELECT 1)',
      'SET a = 1',
    ]) {
      expect(() => checkReadOnly(sql)).not.toThrow();
    }
    for (const sql of [
      'CREATE TABLE t (x UInt8) ENGINE = Memory',
      'INSERT INTO t VALUES (1)',
      'SET readonly = 0',
    ]) {
      expect(() => checkReadOnly(sql)).toThrow(/readonly mode/);
    }
  });

  it('frames a late exception with the response tag and its length', () => {
    expect(exceptionBlock('Code: 1. DB::Exception: x. (Y)', 'tag')).toBe(
      '\r\n__exception__\r\ntag\r\nCode: 1. DB::Exception: x. (Y)\n31 tag\r\n__exception__\r\n',
    );
  });
});

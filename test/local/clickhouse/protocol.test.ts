import { describe, expect, it } from 'vitest';
import {
  engineFailure,
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
});

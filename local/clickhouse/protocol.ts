import { type RawInsert, rawInsertOf } from './raw-insert.js';

/**
 * The parts of ClickHouse's HTTP interface that are pure text handling: which URL parameters
 * are settings, how query parameters are decoded, which HTTP status an exception code gets and
 * how an error body is written. Kept free of I/O so it can be tested on its own.
 */

/** URL parameters with a meaning of their own; every other one is a setting. */
const RESERVED_PARAMETERS = new Set([
  'query',
  'database',
  'default_format',
  'query_id',
  'session_id',
  'session_timeout',
  'session_check',
  'user',
  'password',
  'quota_key',
  'role',
  'compress',
  'decompress',
]);

/** Settings that only steer the HTTP layer: the front honours or ignores them, the engine never sees them. */
const HTTP_ONLY_SETTINGS = new Set([
  'wait_end_of_query',
  'enable_http_compression',
  'http_zlib_compression_level',
  'send_progress_in_http_headers',
  'http_headers_progress_interval_ms',
  'http_wait_end_of_query',
  'http_response_buffer_size',
  'cancel_http_readonly_queries_on_client_close',
  'buffer_size',
]);

const SETTING_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const PARAMETER_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export interface HttpQueryRequest {
  /** The SQL: the `query` URL parameter and the body joined by a newline (INSERT data included). */
  sql: string;
  /** Set when the body is rows for an INSERT that goes to the engine as bytes; `sql` is then the statement alone. */
  rawInsert: RawInsert | undefined;
  database: string | undefined;
  defaultFormat: string;
  queryId: string | undefined;
  settings: Map<string, string>;
  /** `param_<name>` values, already decoded from ClickHouse's escaped text form. */
  parameters: Map<string, string | null>;
  compressResponse: boolean;
}

export class ProtocolError extends Error {
  constructor(
    readonly code: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
    this.name = 'ProtocolError';
  }
}

export function parseQueryRequest(search: URLSearchParams, body: Buffer): HttpQueryRequest {
  const settings = new Map<string, string>();
  const parameters = new Map<string, string | null>();
  for (const [name, value] of search) {
    if (name.startsWith('param_')) {
      const parameter = name.slice('param_'.length);
      if (!PARAMETER_NAME.test(parameter)) {
        throw new ProtocolError(
          36,
          'BAD_ARGUMENTS',
          `Invalid query parameter name ${JSON.stringify(parameter)}`,
        );
      }
      parameters.set(parameter, unescapeParameterValue(value));
    } else if (!RESERVED_PARAMETERS.has(name) && !HTTP_ONLY_SETTINGS.has(name)) {
      if (!SETTING_NAME.test(name)) {
        throw new ProtocolError(
          115,
          'UNKNOWN_SETTING',
          `Setting ${JSON.stringify(name)} is neither a builtin setting nor valid`,
        );
      }
      settings.set(name, value);
    }
  }
  const urlQuery = search.get('query') ?? '';
  const rawInsert = rawInsertOf(urlQuery, body);
  const sql = rawInsert
    ? urlQuery
    : [urlQuery, body.toString('utf8')].filter((part) => part.length > 0).join('\n');
  if (sql.trim().length === 0) {
    throw new ProtocolError(62, 'SYNTAX_ERROR', 'Empty query');
  }
  if (!rawInsert && hasIntoOutfile(sql)) {
    // A server runs HTTP queries with INTO OUTFILE disallowed (executeQuery's allow_into_outfile is
    // only set by clickhouse-client/-local); chDB would write the file on this host.
    throw new ProtocolError(358, 'INTO_OUTFILE_NOT_ALLOWED', 'INTO OUTFILE is not allowed');
  }
  return {
    sql,
    rawInsert,
    database: nonEmpty(search.get('database')),
    defaultFormat: nonEmpty(search.get('default_format')) ?? 'TabSeparated',
    queryId: nonEmpty(search.get('query_id')),
    settings,
    parameters,
    compressResponse: search.get('enable_http_compression') === '1',
  };
}

function nonEmpty(value: string | null): string | undefined {
  return value === null || value === '' ? undefined : value;
}

const ESCAPES: Readonly<Record<string, string>> = {
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  '0': '\0',
  a: '\x07',
  v: '\v',
};

/** Query parameter values arrive in ClickHouse's escaped (TabSeparated) text form; `\N` is NULL. */
export function unescapeParameterValue(value: string): string | null {
  if (value === '\\N') return null;
  return value.replace(/\\(.)/gs, (_, escaped: string) => ESCAPES[escaped] ?? escaped);
}

/**
 * The SQL's words in order, upper-cased, with string literals, quoted identifiers, heredocs and
 * comments skipped as ClickHouse's lexer reads them. In an INSERT the words stop at FORMAT: what
 * follows is data, not SQL.
 */
export function sqlWords(sql: string): string[] {
  const words: string[] = [];
  let i = 0;
  const n = sql.length;
  const skipQuoted = (quote: string) => {
    i++;
    while (i < n) {
      const c = sql[i];
      if (c === '\\') i += 2;
      else if (c === quote) {
        if (sql[i + 1] === quote) i += 2;
        else {
          i++;
          return;
        }
      } else i++;
    }
  };
  while (i < n) {
    const c = sql[i] as string;
    if (c === "'" || c === '"' || c === '`') skipQuoted(c);
    else if (c === '-' && sql[i + 1] === '-') i = lineEnd(sql, i);
    else if (c === '#' && (sql[i + 1] === ' ' || sql[i + 1] === '!')) i = lineEnd(sql, i);
    else if (c === '/' && sql[i + 1] === '*') {
      // ClickHouse's block comments nest.
      let depth = 0;
      while (i < n) {
        if (sql[i] === '/' && sql[i + 1] === '*') {
          depth++;
          i += 2;
        } else if (sql[i] === '*' && sql[i + 1] === '/') {
          depth--;
          i += 2;
          if (depth === 0) break;
        } else i++;
      }
    } else if (c === '$' && /^\$[A-Za-z0-9_]*\$/.test(sql.slice(i, i + 256))) {
      const tag = /^\$[A-Za-z0-9_]*\$/.exec(sql.slice(i, i + 256))?.[0] as string;
      const close = sql.indexOf(tag, i + tag.length);
      i = close < 0 ? n : close + tag.length;
    } else if (/[A-Za-z_]/.test(c)) {
      let j = i + 1;
      while (j < n && /[A-Za-z0-9_$]/.test(sql[j] as string)) j++;
      const word = sql.slice(i, j).toUpperCase();
      if (word === 'FORMAT' && words[0] === 'INSERT') break;
      words.push(word);
      i = j;
    } else i++;
  }
  return words;
}

function lineEnd(sql: string, from: number): number {
  const end = sql.indexOf('\n', from);
  return end < 0 ? sql.length : end + 1;
}

/** True when the SQL has an `INTO OUTFILE` clause (in any casing, around comments; not in a string). */
export function hasIntoOutfile(sql: string): boolean {
  const words = sqlWords(sql);
  return words.some((word, index) => word === 'INTO' && words[index + 1] === 'OUTFILE');
}

/** The output format the response is written in: a trailing FORMAT clause wins over default_format. */
export function responseFormat(sql: string, defaultFormat: string): string {
  if (/^\s*INSERT\b/i.test(sql)) return defaultFormat;
  const match = /\bFORMAT\s+([A-Za-z][A-Za-z0-9_]*)\s*;?\s*$/i.exec(sql);
  return match?.[1] ?? defaultFormat;
}

/** Quote a value as a ClickHouse string literal, for SET statements built from URL settings. */
export function stringLiteral(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

export function settingStatement(name: string, value: string): string {
  if (!SETTING_NAME.test(name))
    throw new ProtocolError(115, 'UNKNOWN_SETTING', `Invalid setting name ${name}`);
  return `SET ${name} = ${stringLiteral(value)}`;
}

export function quotedDatabase(name: string): string {
  return `\`${name.replace(/\\/g, '\\\\').replace(/`/g, '\\`')}\``;
}

export interface EngineFailure {
  code: number;
  type: string;
  /** The message in ClickHouse's form, `Code: N. DB::Exception: ... (TYPE)`. */
  text: string;
}

/** Read the exception code and type out of an engine message, keeping ClickHouse's wording. */
export function engineFailure(message: string, fallbackCode = 1001): EngineFailure {
  const start = message.indexOf('Code: ');
  const text =
    start >= 0 ? message.slice(start) : `Code: ${fallbackCode}. DB::Exception: ${message}. (STD_EXCEPTION)`;
  const code = Number(/^Code: (\d+)\./.exec(text)?.[1] ?? fallbackCode);
  const types = [...text.matchAll(/\(([A-Z][A-Z0-9_]+)\)/g)];
  const type = types.at(-1)?.[1] ?? 'STD_EXCEPTION';
  return { code, type, text };
}

const NOT_FOUND_CODES = new Set([46, 47, 50, 60, 73, 81, 83, 115, 390]);
const BAD_REQUEST_CODES = new Set([
  6, 25, 26, 27, 28, 32, 33, 34, 35, 36, 38, 41, 42, 43, 44, 53, 62, 69, 70, 72, 117, 130, 131, 190, 232, 233,
  410, 457, 472, 573,
]);

/** The HTTP status ClickHouse's own server answers with for an exception code. */
export function httpStatusForCode(code: number): number {
  if (code === 516 || code === 194) return 401;
  if (code === 164 || code === 497) return 403;
  if (NOT_FOUND_CODES.has(code)) return 404;
  if (code === 307) return 413;
  if (code === 48) return 501;
  if (BAD_REQUEST_CODES.has(code)) return 400;
  return 500;
}

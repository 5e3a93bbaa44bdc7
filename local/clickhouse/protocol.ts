import { type RawInsert, rawInsertOf } from './raw-insert.js';

/**
 * The parts of ClickHouse's HTTP interface that are pure text handling: which URL parameters
 * are settings, how query parameters are passed on, which HTTP status an exception code gets and
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
  'close_session',
  'user',
  'password',
  'quota_key',
  'role',
  'compress',
  'decompress',
  'stacktrace',
  'buffer_size',
  'wait_end_of_query',
  'client_protocol_version',
]);

/** Settings that only steer the HTTP layer: the front honours or ignores them, the engine never sees them. */
const HTTP_ONLY_SETTINGS = new Set([
  'enable_http_compression',
  'http_zlib_compression_level',
  'send_progress_in_http_headers',
  'http_headers_progress_interval_ms',
  'http_wait_end_of_query',
  'http_response_buffer_size',
  'http_write_exception_in_output_format',
  'cancel_http_readonly_queries_on_client_close',
]);

/** With a multipart body, these suffixes describe external tables (`<name>_structure` …), not settings. */
const EXTERNAL_TABLE_SUFFIXES = ['_format', '_types', '_structure'];

const SETTING_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const PARAMETER_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const TABLE_NAME = /^[A-Za-z0-9_]+$/;

/** A server's default_session_timeout and max_session_timeout, in seconds. */
export const DEFAULT_SESSION_TIMEOUT_SECONDS = 60;
export const MAX_SESSION_TIMEOUT_SECONDS = 3600;

/** An external data table sent in a multipart body: a temporary table for the one query. */
export interface ExternalTable {
  name: string;
  /** Column definitions, `a UInt8, b String` (from `<name>_structure`, or `_1 T1, …` from `<name>_types`). */
  structure: string;
  format: string;
  data: Buffer;
}

/** An INSERT whose rows are the body, taken as bytes: an empty body (0 rows) or a format chDB's raw insert does not take. */
export interface BodyInsert {
  /** `[db.]table` as written, backquotes kept. */
  target: string;
  columns: string | undefined;
  format: string;
  data: Buffer;
}

export interface HttpSessionRequest {
  id: string;
  timeoutSeconds: number;
  /** session_check=1: the session must exist already. */
  check: boolean;
  /** close_session=1: end the session once this query is done. */
  close: boolean;
}

export interface HttpQueryRequest {
  /** The SQL: the `query` URL parameter and the body joined by a newline (INSERT data included). */
  sql: string;
  /** Set when the body is rows for an INSERT that goes to the engine as bytes; `sql` is then the statement alone. */
  rawInsert: RawInsert | undefined;
  /** Set when the body is rows that go to the engine from a file (binary formats, or no rows at all). */
  bodyInsert: BodyInsert | undefined;
  externalTables: ExternalTable[];
  database: string | undefined;
  defaultFormat: string;
  queryId: string | undefined;
  settings: Map<string, string>;
  /** `param_<name>` values exactly as sent: the engine parses them once, by their placeholder's type. */
  parameters: Map<string, string>;
  compressResponse: boolean;
  /** compress=1: the response in ClickHouse's own compressed blocks (compressed-blocks.ts), under any HTTP compression. */
  compressBlocks: boolean;
  /** send_progress_in_http_headers=1: X-ClickHouse-Progress headers. */
  sendProgress: boolean;
  /** wait_end_of_query=1 (or http_wait_end_of_query=1): hold the result back until the query ends. */
  waitEndOfQuery: boolean;
  /** GET: only reading statements (a server runs them with readonly = 2). */
  readOnly: boolean;
  session: HttpSessionRequest | undefined;
}

/** What a request carries besides its URL parameters and SQL body. */
export interface RequestContext {
  method?: string;
  /** `X-ClickHouse-Database`, `X-ClickHouse-Format`, `X-ClickHouse-Query-Id`: they win over the URL's. */
  databaseHeader?: string;
  formatHeader?: string;
  queryIdHeader?: string;
  /** The file parts of a multipart body (its other fields are already among the parameters). */
  files?: { name: string; data: Buffer }[];
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

/**
 * Read a request as a server does. `search` holds the URL's parameters and, for a multipart body,
 * its fields after them (so the URL's `query` comes first); `body` is SQL (and rows) unless the
 * body was multipart, in which case it is empty and the files are external tables.
 */
export function parseQueryRequest(
  search: URLSearchParams,
  body: Buffer,
  context: RequestContext = {},
): HttpQueryRequest {
  const multipart = context.files !== undefined;
  const { settings, parameters } = settingsAndParameters(search, multipart);
  const urlQuery = search.get('query') ?? '';
  const rawInsert = rawInsertOf(urlQuery, body);
  const bodyInsert = rawInsert ? undefined : bodyInsertOf(urlQuery, body);
  const sql =
    rawInsert || bodyInsert
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
    // An INSERT … FORMAT with no rows anywhere (statement in the body too): a server inserts nothing.
    bodyInsert: bodyInsert ?? bodyInsertOf(sql, Buffer.alloc(0)),
    externalTables: externalTablesOf(search, context.files ?? []),
    database: nonEmpty(context.databaseHeader ?? null) ?? nonEmpty(search.get('database')),
    defaultFormat:
      nonEmpty(context.formatHeader ?? null) ?? nonEmpty(search.get('default_format')) ?? 'TabSeparated',
    queryId: nonEmpty(search.get('query_id')) ?? nonEmpty(context.queryIdHeader ?? null),
    settings,
    parameters,
    compressResponse: search.get('enable_http_compression') === '1',
    compressBlocks: isTrue(search.get('compress')),
    sendProgress: isTrue(search.get('send_progress_in_http_headers')),
    waitEndOfQuery: isTrue(search.get('wait_end_of_query') ?? search.get('http_wait_end_of_query')),
    readOnly: context.method === 'GET' || context.method === 'HEAD',
    session: sessionOf(search),
  };
}

function settingsAndParameters(search: URLSearchParams, multipart: boolean) {
  const settings = new Map<string, string>();
  const parameters = new Map<string, string>();
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
      // The first value wins, as a server's HTMLForm.get does (the URL's before the form's).
      if (!parameters.has(parameter)) parameters.set(parameter, value);
    } else if (name === '' || RESERVED_PARAMETERS.has(name) || HTTP_ONLY_SETTINGS.has(name)) {
      // Not a setting.
    } else if (multipart && EXTERNAL_TABLE_SUFFIXES.some((suffix) => name.endsWith(suffix))) {
      // Describes an external table.
    } else {
      if (!SETTING_NAME.test(name)) {
        throw new ProtocolError(
          115,
          'UNKNOWN_SETTING',
          `Setting ${JSON.stringify(name)} is neither a builtin setting nor valid`,
        );
      }
      if (!settings.has(name)) settings.set(name, value);
    }
  }
  return { settings, parameters };
}

function sessionOf(search: URLSearchParams): HttpSessionRequest | undefined {
  const id = nonEmpty(search.get('session_id'));
  if (id === undefined) return undefined;
  const timeout = search.get('session_timeout');
  let timeoutSeconds = DEFAULT_SESSION_TIMEOUT_SECONDS;
  if (timeout !== null) {
    if (!/^\d+$/.test(timeout)) {
      throw new ProtocolError(374, 'INVALID_SESSION_TIMEOUT', `Invalid session timeout: '${timeout}'`);
    }
    timeoutSeconds = Number(timeout);
    if (timeoutSeconds > MAX_SESSION_TIMEOUT_SECONDS) {
      throw new ProtocolError(
        374,
        'INVALID_SESSION_TIMEOUT',
        `Session timeout '${timeout}' is larger than max_session_timeout: ${MAX_SESSION_TIMEOUT_SECONDS}. ` +
          'Maximum session timeout could be modified in configuration file',
      );
    }
  }
  return {
    id,
    timeoutSeconds,
    check: isTrue(search.get('session_check')),
    close: isTrue(search.get('close_session')),
  };
}

export function isTrue(value: string | null): boolean {
  return value === '1' || value === 'true';
}

/** External data: each file part is a table, described by `<name>_structure` or `<name>_types` and `<name>_format`. */
function externalTablesOf(search: URLSearchParams, files: { name: string; data: Buffer }[]): ExternalTable[] {
  return files.map(({ name, data }) => {
    if (!TABLE_NAME.test(name)) {
      throw new ProtocolError(36, 'BAD_ARGUMENTS', `Invalid name of external table ${JSON.stringify(name)}`);
    }
    const structure = search.get(`${name}_structure`);
    const types = search.get(`${name}_types`);
    if (structure === null && types === null) {
      throw new ProtocolError(
        36,
        'BAD_ARGUMENTS',
        `Neither structure nor types have not been provided for external table ${name}. ` +
          `Use fields ${name}_structure or ${name}_types to do so.`,
      );
    }
    return {
      name,
      structure:
        structure ??
        (types ?? '')
          .split(',')
          .map((type, index) => `_${index + 1} ${type.trim()}`)
          .join(', '),
      format: nonEmpty(search.get(`${name}_format`)) ?? 'TabSeparated',
      data,
    };
  });
}

const INSERT_NAME = String.raw`(?:\x60[^\x60]+\x60|[A-Za-z0-9_]+)`;
const INSERT_FORMAT = new RegExp(
  String.raw`^\s*INSERT\s+INTO\s+(?:TABLE\s+)?(${INSERT_NAME}(?:\.${INSERT_NAME})?)\s*(\([^()]*\))?\s*FORMAT\s+([A-Za-z][A-Za-z0-9_]*)\s*;?\s*$`,
  'i',
);

/**
 * An `INSERT INTO t [(cols)] FORMAT F` in the URL whose rows (the body) chDB's raw insert does not
 * take: a binary format, or no rows at all. The rows stay bytes (they go through a file).
 */
function bodyInsertOf(statement: string, body: Buffer): BodyInsert | undefined {
  const match = INSERT_FORMAT.exec(statement);
  if (!match) return undefined;
  const [, target = '', columns, format = ''] = match;
  return { target, columns, format, data: body };
}

function nonEmpty(value: string | null): string | undefined {
  return value === null || value === '' ? undefined : value;
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

/**
 * The status a server answers an exception code with (ClickHouse's exceptionCodeToHTTPStatus);
 * 307 TOO_MANY_BYTES is the front's own body limit, answered as the server answers an oversized query.
 */
const STATUS_BY_CODE = new Map<number, number>([
  [194, 401], // REQUIRED_PASSWORD
  ...[192, 193, 516, 512, 497].map((code): [number, number] => [code, 403]),
  ...[
    36, 427, 6, 25, 26, 38, 41, 72, 441, 675, 676, 27, 376, 15, 44, 37, 123, 8, 167, 168, 223, 62, 117, 53,
    321,
  ].map((code): [number, number] => [code, 400]),
  ...[60, 46, 47, 50, 56, 81, 115, 152, 63, 73, 336, 78, 511].map((code): [number, number] => [code, 404]),
  [229, 413], // QUERY_IS_TOO_LARGE
  [307, 413],
  [48, 501], // NOT_IMPLEMENTED
  [209, 503], // SOCKET_TIMEOUT
  [76, 503], // CANNOT_OPEN_FILE
  [439, 503], // CANNOT_SCHEDULE_TASK
  [381, 411], // HTTP_LENGTH_REQUIRED
  [159, 408], // TIMEOUT_EXCEEDED
  [779, 415], // UNSUPPORTED_MEDIA_TYPE
]);

/** The HTTP status ClickHouse's own server answers with for an exception code. */
export function httpStatusForCode(code: number): number {
  return STATUS_BY_CODE.get(code) ?? 500;
}

const BINARY_FORMATS = new Set(
  [
    'Native',
    'RowBinary',
    'RowBinaryWithNames',
    'RowBinaryWithNamesAndTypes',
    'RowBinaryWithDefaults',
    'Parquet',
    'Arrow',
    'ArrowStream',
    'ORC',
    'Avro',
    'MsgPack',
    'Protobuf',
    'ProtobufSingle',
    'ProtobufList',
    'CapnProto',
    'BSONEachRow',
    'Npy',
    'RawBLOB',
  ].map((name) => name.toLowerCase()),
);
const JSON_DOCUMENT_FORMATS = new Set(
  [
    'JSON',
    'JSONStrings',
    'JSONCompact',
    'JSONCompactStrings',
    'JSONColumns',
    'JSONCompactColumns',
    'JSONColumnsWithMetadata',
  ].map((name) => name.toLowerCase()),
);
/** The formats written by ClickHouse's JSONEachRowRowOutputFormat (and its JSONObjectEachRow subclass). */
const JSON_EACH_ROW_FORMATS = new Set(
  ['JSONEachRow', 'JSONLines', 'NDJSON', 'JSONStringsEachRow', 'JSONObjectEachRow'].map((name) =>
    name.toLowerCase(),
  ),
);

/**
 * The Content-Type a server sends for an output format (each format's getContentType): JSON
 * documents application/json, JSONEachRow and its kin application/x-ndjson (application/json with
 * output_format_json_array_of_rows), the TabSeparated family text/tab-separated-values, CSV text/csv with
 * whether a header row is present, XML application/xml, binary formats application/octet-stream,
 * everything else text/plain.
 */
export function contentTypeFor(format: string, jsonArrayOfRows = false): string {
  const name = format.toLowerCase();
  if (JSON_DOCUMENT_FORMATS.has(name)) return 'application/json; charset=UTF-8';
  if (JSON_EACH_ROW_FORMATS.has(name)) {
    return jsonArrayOfRows ? 'application/json; charset=UTF-8' : 'application/x-ndjson; charset=UTF-8';
  }
  if (BINARY_FORMATS.has(name)) return 'application/octet-stream';
  if (name === 'xml') return 'application/xml; charset=UTF-8';
  if (/^(tsv|tabseparated)/.test(name) || name === 'tskv') return 'text/tab-separated-values; charset=UTF-8';
  if (name.startsWith('csv')) {
    return `text/csv; charset=UTF-8; header=${name.includes('withnames') ? 'present' : 'absent'}`;
  }
  return 'text/plain; charset=UTF-8';
}

/** Bind a query parameter on a connection: the value as sent, parsed once by the engine by its type. */
export function parameterStatement(name: string, value: string): string {
  if (!PARAMETER_NAME.test(name)) throw new ProtocolError(36, 'BAD_ARGUMENTS', `Invalid parameter ${name}`);
  return `SET param_${name} = ${stringLiteral(value)}`;
}

/** Statements readonly = 2 lets through: they read, or change the session's settings. */
const READING_STATEMENTS = new Set([
  'SELECT',
  'WITH',
  'SHOW',
  'DESCRIBE',
  'DESC',
  'EXISTS',
  'EXPLAIN',
  'SET',
]);

/**
 * A GET runs read-only on a server (readonly = 2). On a fresh connection the engine enforces that
 * itself; a session's connection cannot have `readonly` set and reset, so there the front refuses
 * what is not a reading statement, with the server's answer.
 */
export function checkReadOnly(sql: string): void {
  const words = sqlWords(sql);
  const first = words[0];
  const reads =
    first !== undefined && READING_STATEMENTS.has(first) && !(first === 'SET' && words[1] === 'READONLY');
  if (!reads && !/^\s*\(/.test(sql)) {
    throw new ProtocolError(
      164,
      'READONLY',
      'Cannot execute query in readonly mode. For queries over HTTP, method GET implies readonly. ' +
        'You should use method POST for modifying queries',
    );
  }
}

/**
 * An exception after output began, as a server since 25.11 writes it into the stream: framed by
 * `__exception__` and the response's `X-ClickHouse-Exception-Tag`, with the message's length, so
 * a client can tell it from rows (the official client reads it back from the end).
 */
export function exceptionBlock(text: string, tag: string): string {
  const message = `${text}\n`;
  return `\r\n__exception__\r\n${tag}\r\n${message}${Buffer.byteLength(message)} ${tag}\r\n__exception__\r\n`;
}

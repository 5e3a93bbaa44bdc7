import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Readable, Transform, Writable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createGzip, createInflate, Gzip, gzipSync } from 'node:zlib';
import { compressBlocks, decompressBlocks } from './compressed-blocks.js';
import type { ChdbEngine, EngineQuery } from './engine.js';
import {
  contentTypeFor,
  type EngineFailure,
  engineFailure,
  exceptionBlock,
  type HttpQueryRequest,
  httpStatusForCode,
  isTrue,
  ProtocolError,
  parseQueryRequest,
  responseFormat,
} from './protocol.js';

/** Bodies are buffered whole before they reach the engine; past this a request gets 413. */
export const DEFAULT_MAX_BODY_BYTES = 256 * 1024 * 1024;

export interface ClickHouseFrontOptions {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /**
   * When set, requests must carry these credentials; otherwise requests are the `default` user with
   * an empty password (no credentials, or exactly those), as on a fresh server.
   */
  user?: string;
  password?: string;
  maxBodyBytes?: number;
  /**
   * How long a response may wait for a client that stopped reading before the query is given up
   * (ClickHouse's `send_timeout`, 300 s by default).
   */
  sendTimeoutMs?: number;
  /**
   * Statements other than raw inserts that may run at once; past it a request is refused with
   * TOO_MANY_SIMULTANEOUS_QUERIES (202, which the destination adapter retries). A query inside a
   * block holds one of libuv's threads (the launcher gives the engine process
   * ENGINE_THREAD_POOL_SIZE), so the limit keeps threads free for the pipes' inserts. Default 32.
   */
  maxConcurrentQueries?: number;
}

export const DEFAULT_SEND_TIMEOUT_MS = 300_000;
/** How much of a result wait_end_of_query holds in memory before the status line. */
export const WAIT_END_OF_QUERY_BYTES = 64 * 1024 * 1024;
export const DEFAULT_MAX_CONCURRENT_QUERIES = 32;

export interface RunningFront {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Serve ClickHouse's HTTP interface on top of an engine. Resolves once listening. */
export async function serveClickHouse(
  engine: ChdbEngine,
  options: ClickHouseFrontOptions = {},
): Promise<RunningFront> {
  const host = options.host ?? '127.0.0.1';
  const timezone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const queries = { running: 0, max: options.maxConcurrentQueries ?? DEFAULT_MAX_CONCURRENT_QUERIES };
  const server: Server = createServer((request, response) => {
    handle(engine, options, queries, timezone, request, response).catch((err: unknown) => {
      response.destroy(err instanceof Error ? err : new Error(String(err)));
    });
  });
  await new Promise<void>((resolveListen, rejectListen) => {
    server.once('error', rejectListen);
    server.listen(options.port ?? 8123, host, () => resolveListen());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolveClose) => {
        server.close(() => resolveClose());
        server.closeAllConnections();
      }),
  };
}

async function handle(
  engine: ChdbEngine,
  options: ClickHouseFrontOptions,
  queries: { running: number; max: number },
  timezone: string,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const url = new URL(request.url ?? '/', 'http://front');
  if (
    url.pathname === '/ping' ||
    (url.pathname === '/' && request.method === 'GET' && !url.searchParams.has('query'))
  ) {
    response.writeHead(200, { 'Content-Type': 'text/plain; charset=UTF-8' }).end('Ok.\n');
    return;
  }
  const queryId =
    url.searchParams.get('query_id') || header(request, 'x-clickhouse-query-id') || randomUUID();
  const baseHeaders = { 'X-ClickHouse-Query-Id': queryId, 'X-ClickHouse-Timezone': timezone };
  // A server sets up the response's (compressed) output once the user is known: errors before that
  // are plain text, errors after it are written in compressed blocks when compress=1 asks for them.
  let blocks = false;
  let holdsSlot = false;
  try {
    if (url.pathname !== '/') throw new ProtocolError(0, 'UNKNOWN_HANDLER', `No handler for ${url.pathname}`);
    checkCredentials(options, request, url.searchParams);
    blocks = isTrue(url.searchParams.get('compress'));
    // A decompress=1 body is decoded whole into memory: it takes its slot before it is read, so
    // requests past the limit are refused before their bodies cost anything.
    holdsSlot = isTrue(url.searchParams.get('decompress')) && takeQuerySlot(queries);
    const parsed = await readRequest(request, url.searchParams, options);
    if (parsed.rawInsert !== undefined) {
      // Raw inserts are not counted, whatever their body was.
      if (holdsSlot) queries.running--;
      holdsSlot = false;
    } else if (!holdsSlot) holdsSlot = takeQuerySlot(queries);
    await respond(engine.start(parsed), parsed, options, request, response, baseHeaders);
  } catch (err) {
    if (response.destroyed || response.headersSent) return;
    sendError(err, { url, blocks }, request, response, baseHeaders);
  } finally {
    if (holdsSlot) queries.running--;
  }
}

/** One of the statements that may run at once, or TOO_MANY_SIMULTANEOUS_QUERIES when none is free. */
function takeQuerySlot(queries: { running: number; max: number }): true {
  if (queries.running >= queries.max) {
    throw new ProtocolError(
      202,
      'TOO_MANY_SIMULTANEOUS_QUERIES',
      `Too many simultaneous queries. Maximum: ${queries.max}`,
    );
  }
  queries.running++;
  return true;
}

/** An error before any output: its status, its code header and the engine's text, compressed if asked. */
function sendError(
  err: unknown,
  { url, blocks }: { url: URL; blocks: boolean },
  request: IncomingMessage,
  response: ServerResponse,
  baseHeaders: Record<string, string>,
): void {
  const failure = failureOf(err);
  const status = url.pathname === '/' ? httpStatusForCode(failure.code) : 404;
  const compress = url.searchParams.get('enable_http_compression') === '1' && acceptsGzip(request);
  // The client reads the body before the connection is reused; drain what it may still send.
  request.resume();
  response.writeHead(status, {
    ...baseHeaders,
    'Content-Type': 'text/plain; charset=UTF-8',
    'X-ClickHouse-Exception-Code': String(failure.code),
    ...(compress ? { 'Content-Encoding': 'gzip' } : {}),
  });
  const text = Buffer.from(`${failure.text}\n`);
  const body = blocks ? compressBlocks(text) : text;
  response.end(compress ? gzipSync(body) : body);
}

/**
 * The request as a server reads it: URL parameters, headers, and the body, which is either SQL
 * (and rows) or, when multipart/form-data, more parameters (query, param_*, settings) and files
 * (external data tables).
 */
async function readRequest(
  request: IncomingMessage,
  search: URLSearchParams,
  options: ClickHouseFrontOptions,
): Promise<HttpQueryRequest> {
  const maxBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const sent = await readBody(request, maxBytes);
  // decompress=1: the body (under any Content-Encoding) is in ClickHouse's compressed blocks.
  const body = isTrue(search.get('decompress'))
    ? await decompressBlocks(sent, {
        maxBytes,
        skipChecksums: isTrue(search.get('http_native_compression_disable_checksumming_on_decompress')),
      })
    : sent;
  const context = {
    method: request.method ?? 'GET',
    databaseHeader: header(request, 'x-clickhouse-database'),
    formatHeader: header(request, 'x-clickhouse-format'),
    queryIdHeader: header(request, 'x-clickhouse-query-id'),
  };
  const contentType = header(request, 'content-type') ?? '';
  if (!contentType.toLowerCase().startsWith('multipart/form-data')) {
    return parseQueryRequest(search, body, context);
  }
  const { fields, files } = await readMultipart(body, contentType);
  const merged = new URLSearchParams(search);
  for (const [name, value] of fields) merged.append(name, value);
  return parseQueryRequest(merged, Buffer.alloc(0), { ...context, files });
}

async function readMultipart(body: Buffer, contentType: string) {
  let form: FormData;
  try {
    form = await new Response(body, { headers: { 'content-type': contentType } }).formData();
  } catch (err) {
    throw new ProtocolError(
      36,
      'BAD_ARGUMENTS',
      `Cannot read the multipart/form-data body: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  const fields: [string, string][] = [];
  const files: { name: string; data: Buffer }[] = [];
  for (const [name, value] of form) {
    if (typeof value === 'string') fields.push([name, value]);
    else files.push({ name, data: Buffer.from(await value.arrayBuffer()) });
  }
  return { fields, files };
}

/**
 * Send a query's output as the engine produces it: each piece is pulled only once the previous
 * one has gone to the socket (or into the gzip stream), so a slow reader slows the query down and
 * an abandoned one stops it. The status waits for the first piece, so an error found before any
 * output (syntax, unknown table, memory limit, …) gets its proper status (with wait_end_of_query
 * the status waits for the whole output, see firstParts); one found after the first piece is
 * written into the body, framed with the response's exception tag as a server does, and the
 * response is cut off without its end so the client cannot take it for a complete result.
 */
async function respond(
  query: EngineQuery,
  parsed: HttpQueryRequest,
  options: ClickHouseFrontOptions,
  request: IncomingMessage,
  response: ServerResponse,
  baseHeaders: Record<string, string>,
): Promise<void> {
  let gone = false;
  const onClose = () => {
    if (response.writableFinished) return;
    gone = true;
    query.abandon().catch(() => undefined);
  };
  response.once('close', onClose);
  let sink: Writable = response;
  const exceptionTag = randomBytes(8).toString('hex');
  // compress=1: each piece of output leaves as blocks of its own, so the client gets rows as they come.
  const encode = (bytes: Uint8Array | string): Uint8Array | string =>
    parsed.compressBlocks ? compressBlocks(typeof bytes === 'string' ? Buffer.from(bytes) : bytes) : bytes;
  try {
    const held = await firstParts(query, parsed.waitEndOfQuery);
    if (gone) return;
    const compress = parsed.compressResponse && acceptsGzip(request);
    response.writeHead(200, {
      ...baseHeaders,
      ...resultHeaders(query, parsed),
      'X-ClickHouse-Exception-Tag': exceptionTag,
      ...(compress ? { 'Content-Encoding': 'gzip' } : {}),
    });
    if (compress) {
      const gzip = createGzip();
      gzip.on('error', (err) => response.destroy(err));
      gzip.pipe(response);
      sink = gzip;
    }
    const sendTimeoutMs = options.sendTimeoutMs ?? DEFAULT_SEND_TIMEOUT_MS;
    let part = held.shift();
    while (part !== undefined) {
      if (!sink.write(encode(part)) && !(await drained(sink, response, sendTimeoutMs))) {
        gone = true;
        await query.abandon();
        return;
      }
      if (gone) return;
      part = held.length > 0 ? held.shift() : await query.next();
      if (gone) return;
    }
    // A session is handed back before the client can see the end and send its next query.
    await query.close();
    await new Promise<void>((resolveEnd) => {
      response.once('close', resolveEnd);
      sink.end(() => resolveEnd());
    });
  } catch (err) {
    if (gone || response.destroyed || !response.headersSent) throw err;
    await query.close();
    writeExceptionAndCut(sink, response, encode(exceptionBlock(failureOf(err).text, exceptionTag)));
  } finally {
    response.off('close', onClose);
    await query.close();
  }
}

/**
 * What is held back before the status line: the first piece, or with wait_end_of_query the whole
 * output up to WAIT_END_OF_QUERY_BYTES (a server holds it all, spilling to disk; past that bound the
 * front streams the rest), so an error before the end still gets its status and the summary
 * counts the whole result.
 */
async function firstParts(query: EngineQuery, waitEndOfQuery: boolean): Promise<Uint8Array[]> {
  const held: Uint8Array[] = [];
  let bytes = 0;
  for (;;) {
    const part = await query.next();
    if (part === undefined) return held;
    held.push(part);
    bytes += part.byteLength;
    // While the query still runs: what it has read by its first output, for the summary.
    if (held.length === 1) query.refreshProgress();
    if (!waitEndOfQuery || bytes > WAIT_END_OF_QUERY_BYTES) return held;
  }
}

/** The headers a server sends with a result: its format and content type, the summary, progress if asked. */
function resultHeaders(query: EngineQuery, parsed: HttpQueryRequest): Record<string, string> {
  const format = responseFormat(parsed.sql, parsed.defaultFormat);
  const summary = query.summary();
  const progress = JSON.stringify({
    read_rows: String(summary.rowsRead),
    read_bytes: String(summary.bytesRead),
    written_rows: String(summary.rowsWritten),
    written_bytes: String(summary.bytesWritten),
    total_rows_to_read: String(summary.totalRowsToRead),
    result_rows: String(summary.resultRows),
    result_bytes: String(summary.resultBytes),
    elapsed_ns: String(Math.round(summary.elapsedSeconds * 1e9)),
  });
  return {
    'Content-Type': contentTypeFor(format, parsed.settings.get('output_format_json_array_of_rows') === '1'),
    'X-ClickHouse-Format': format,
    'X-ClickHouse-Summary': progress,
    ...(parsed.sendProgress ? { 'X-ClickHouse-Progress': progress } : {}),
  };
}

/**
 * Output has begun: the exception goes into the body, framed as a server frames it, and the
 * response stays unfinished (no final chunk), so no client can take it for a complete result.
 */
function writeExceptionAndCut(sink: Writable, response: ServerResponse, block: Uint8Array | string): void {
  const socket = response.socket;
  sink.write(block);
  const cut = () => {
    socket?.end();
    setTimeout(() => socket?.destroy(), 1000).unref();
  };
  if (sink instanceof Gzip) sink.flush(() => setImmediate(cut));
  else response.write('', cut);
}

/**
 * Wait until a stream that refused more wants some again. False when the client went away or
 * read nothing for `timeoutMs` (the response is then destroyed, which abandons the query).
 */
function drained(sink: Writable, response: ServerResponse, timeoutMs: number): Promise<boolean> {
  return new Promise((resolveDrain) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      sink.off('drain', onDrain);
      response.off('close', onClose);
      resolveDrain(ok);
    };
    const onDrain = () => done(true);
    const onClose = () => done(false);
    const timer = setTimeout(() => {
      done(false);
      response.destroy();
    }, timeoutMs);
    sink.once('drain', onDrain);
    response.once('close', onClose);
  });
}

function failureOf(err: unknown): EngineFailure {
  return err instanceof ProtocolError
    ? {
        code: err.code,
        type: err.type,
        text: `Code: ${err.code}. DB::Exception: ${err.message}. (${err.type})`,
      }
    : engineFailure(err instanceof Error ? err.message : String(err));
}

function acceptsGzip(request: IncomingMessage): boolean {
  return /\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''));
}

/**
 * A server's users: with none configured, its `default` user with an empty password, which is also
 * who a request without credentials is; any other name or password is refused
 * (AUTHENTICATION_FAILED, 403). With `user`/`password` configured, that user instead.
 */
function checkCredentials(
  options: ClickHouseFrontOptions,
  request: IncomingMessage,
  search: URLSearchParams,
): void {
  let user = search.get('user') ?? header(request, 'x-clickhouse-user');
  let password = search.get('password') ?? header(request, 'x-clickhouse-key');
  const authorization = header(request, 'authorization');
  if (authorization?.startsWith('Basic ')) {
    const decoded = Buffer.from(authorization.slice(6), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    user = decoded.slice(0, colon < 0 ? undefined : colon);
    password = colon < 0 ? '' : decoded.slice(colon + 1);
  }
  const expectedUser = options.user ?? 'default';
  const givenUser = user || 'default';
  if (givenUser !== expectedUser || (password ?? '') !== (options.password ?? '')) {
    throw new ProtocolError(
      516,
      'AUTHENTICATION_FAILED',
      `${givenUser}: Authentication failed: password is incorrect, or there is no user with such name`,
    );
  }
}

function header(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

async function readBody(request: IncomingMessage, maxBytes: number): Promise<Buffer> {
  if (request.method === 'GET' || request.method === 'HEAD') return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of decoded(request)) {
    const buffer = chunk as Buffer;
    total += buffer.byteLength;
    if (total > maxBytes) {
      throw new ProtocolError(
        307,
        'TOO_MANY_BYTES',
        `Request body is larger than the front's limit of ${maxBytes} bytes`,
      );
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks, total);
}

function decoded(request: IncomingMessage): Readable {
  const encoding = header(request, 'content-encoding');
  if (encoding === undefined || encoding === 'identity') return request;
  if (encoding === 'gzip') return decodedBy(request, createGunzip());
  if (encoding === 'deflate') return decodedBy(request, createInflate());
  if (encoding === 'br') return decodedBy(request, createBrotliDecompress());
  throw new ProtocolError(89, 'UNKNOWN_COMPRESSION_METHOD', `Unknown Content-Encoding ${encoding}`);
}

/**
 * pipe() does not pass on a client that leaves mid-body: the decoder would wait for the rest
 * forever, holding what was read and, with decompress=1, a query slot. A body cut short fails, as
 * on a server (UNEXPECTED_END_OF_FILE), so nothing of it is inserted.
 */
function decodedBy(request: IncomingMessage, decoder: Transform): Readable {
  request.once('close', () => {
    if (!request.complete) {
      decoder.destroy(
        new ProtocolError(
          3,
          'UNEXPECTED_END_OF_FILE',
          'The client closed the connection before the end of the body',
        ),
      );
    }
  });
  return request.pipe(decoder);
}

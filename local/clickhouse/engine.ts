import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type ChdbQueryStream, Session } from 'chdb';
import {
  type BodyInsert,
  checkReadOnly,
  type HttpQueryRequest,
  parameterStatement,
  quotedDatabase,
  settingStatement,
  stringLiteral,
} from './protocol.js';
import { type HttpSession, HttpSessions } from './sessions.js';

/**
 * The most memory one query may use unless configured otherwise: ClickHouse's `max_memory_usage`,
 * applied to every query and enforced as a constraint (a request may lower it, never raise it).
 */
export const DEFAULT_MAX_QUERY_MEMORY_BYTES = 2 * 1024 ** 3;

export interface ChdbEngineOptions {
  /**
   * Each query's memory bound in bytes (`max_memory_usage`); a request's settings may lower it but
   * not raise it or turn it off. 0 leaves queries unbounded (chDB's default). Default 2 GiB.
   */
  maxQueryMemoryBytes?: number;
}

export interface QuerySummary {
  rowsRead: number;
  bytesRead: number;
  /** The engine's estimate of the rows the query will read (system.processes' total_rows_approx), 0 unknown. */
  totalRowsToRead: number;
  rowsWritten: number;
  bytesWritten: number;
  resultRows: number;
  resultBytes: number;
  elapsedSeconds: number;
}

/**
 * One request's run on the engine. Pull the output with next() (undefined at the end); nothing is
 * computed ahead of the caller, so a slow reader holds back the query instead of filling memory.
 * abandon() stops the query wherever it is; close() releases the connection (always call it).
 */
export interface EngineQuery {
  /** The output's next piece, or undefined once it is complete. Rejects with the engine's error. */
  next(): Promise<Uint8Array | undefined>;
  /** True when the output is produced piece by piece (SELECT), false when it came whole. */
  readonly streamed: boolean;
  summary(): QuerySummary;
  /**
   * A streamed query's read figures so far, for the summary a server sends with the headers (chDB's
   * stream reports none itself). Nothing for other statements, whose figures come with the result.
   */
  refreshProgress(): void;
  /** Stop the query now: the client went away or timed out. Resolves once the engine let go of it. */
  abandon(): Promise<void>;
  /**
   * Release the connection (always call it, and await it before the response ends: a session is
   * handed back, its state as it was before the request, only once this resolves).
   */
  close(): Promise<void>;
}

/** Idle connections kept for raw inserts (more run at once when needed; the extra ones are closed). */
const IDLE_INSERT_CONNECTIONS = 8;
const PLAIN_NAME = /^[A-Za-z0-9_]+$/;

/** Statements chDB can stream: what starts with SELECT, WITH or a parenthesis (e.g. UNION of SELECTs). */
const NOT_STREAMABLE = /Streaming query is not supported/;
const KILL_RETRY_MS = 100;

/**
 * The real ClickHouse engine (chDB) on one data directory. chDB binds one data directory per
 * process, so this class is meant to live alone in its process (see launcher.ts).
 *
 * Every request gets its own engine connection: database, settings and query parameters are
 * connection state in chDB, and a fresh connection (about 1 ms) cannot leak them into the next
 * request or into a query running next to it. Raw inserts, which change no connection state,
 * reuse a few idle connections instead. The long-lived `anchor` connection keeps the data
 * directory bound (and its lock held) between requests, and it is the one that starts the engine,
 * with the configuration that bounds every query's memory.
 *
 * SELECTs run through chDB's streaming API (one block at a time, pulled by the HTTP response as
 * the socket drains); other statements through the async API, which materializes their (small)
 * output. Both run on libuv's thread pool, so the event loop keeps serving HTTP meanwhile. A query
 * is stopped in place with `KILL QUERY` from another connection, found by a `log_comment` the
 * front gives each request.
 */
export class ChdbEngine {
  private anchor: Session | undefined;
  /** Raw inserts' connections, reused: such an insert changes no connection state (see begin()). */
  private readonly idleInsertConnections: Session[] = [];
  /** Connections of `session_id` sessions, kept between their requests. */
  readonly sessions = new HttpSessions(() => this.connect());
  /** Where request bodies chDB cannot take as bytes in memory wait for `INSERT … FROM INFILE`. */
  readonly bodyDir = mkdtempSync(join(tmpdir(), 'clickhouse-front-bodies-'));
  readonly dataDir: string;
  readonly maxQueryMemoryBytes: number;

  constructor(dataDir: string, options: ChdbEngineOptions = {}) {
    this.dataDir = resolve(dataDir);
    this.maxQueryMemoryBytes = options.maxQueryMemoryBytes ?? DEFAULT_MAX_QUERY_MEMORY_BYTES;
    if (!Number.isSafeInteger(this.maxQueryMemoryBytes) || this.maxQueryMemoryBytes < 0) {
      throw new Error(`maxQueryMemoryBytes must be a whole number of bytes, got ${this.maxQueryMemoryBytes}`);
    }
    mkdirSync(this.dataDir, { recursive: true });
    const configDir = writeEngineConfig(this.maxQueryMemoryBytes);
    try {
      this.anchor = new Session(this.dataDir, {
        connectionArgs: [`--config-file=${join(configDir, 'config.xml')}`],
      });
    } finally {
      // The engine reads its configuration once, at start (measured: a refused raise still
      // refused seconds after the files were gone), so nothing is left behind, even on a crash.
      rmSync(configDir, { recursive: true, force: true });
    }
  }

  get version(): string {
    return this.requireAnchor().query('SELECT version()', 'TabSeparated').trim();
  }

  /** Start a request's statement. Errors (syntax, unknown table, …) surface from the first next(). */
  start(request: HttpQueryRequest): EngineQuery {
    this.requireAnchor();
    return new RunningQuery(this, request);
  }

  /** Collect a request's whole output (small results, tests). */
  async execute(request: HttpQueryRequest): Promise<{ body: Uint8Array } & QuerySummary> {
    const query = this.start(request);
    try {
      const parts: Uint8Array[] = [];
      for (let part = await query.next(); part !== undefined; part = await query.next()) parts.push(part);
      return { body: Buffer.concat(parts), ...query.summary() };
    } finally {
      await query.close();
    }
  }

  /** Release the data directory so another process (or a later start) can open it. */
  close(): void {
    this.sessions.closeAll();
    for (const connection of this.idleInsertConnections.splice(0)) connection.close();
    rmSync(this.bodyDir, { recursive: true, force: true });
    this.anchor?.close();
    this.anchor = undefined;
  }

  /** A connection for a raw insert: an idle one when there is one. */
  takeInsertConnection(): Session {
    return this.idleInsertConnections.pop() ?? this.connect();
  }

  giveBackInsertConnection(connection: Session): void {
    if (this.anchor !== undefined && this.idleInsertConnections.length < IDLE_INSERT_CONNECTIONS) {
      this.idleInsertConnections.push(connection);
    } else {
      connection.close();
    }
  }

  /** A fresh connection to the engine (same data directory). */
  connect(): Session {
    this.requireAnchor();
    return new Session(this.dataDir);
  }

  /**
   * Ask the engine to stop every query tagged with this log_comment. `KILL … ASYNC` only marks the
   * query (about a millisecond), so it runs on this thread: a kill must not wait for a thread of
   * libuv's pool, which long queries may be holding.
   */
  kill(logComment: string): void {
    const connection = this.connect();
    try {
      connection.query(
        `KILL QUERY WHERE Settings['log_comment'] = ${stringLiteral(logComment)} ASYNC`,
        'TabSeparated',
      );
    } finally {
      connection.close();
    }
  }

  /**
   * What the running query tagged with this log_comment has read so far, from system.processes;
   * undefined once it is no longer listed. On the anchor connection and this thread: a read of a
   * small system table, no connection opened (each leaves memory behind beside long queries) and
   * no wait for a thread of libuv's pool.
   */
  progressOf(
    logComment: string,
  ): { rowsRead: number; bytesRead: number; totalRowsToRead: number } | undefined {
    const row = this.requireAnchor()
      .query(
        `SELECT read_rows, read_bytes, total_rows_approx FROM system.processes ` +
          `WHERE Settings['log_comment'] = ${stringLiteral(logComment)} LIMIT 1`,
        'TabSeparated',
      )
      .trim();
    if (row === '') return undefined;
    const [rowsRead = 0, bytesRead = 0, totalRowsToRead = 0] = row.split('\t').map(Number);
    return { rowsRead, bytesRead, totalRowsToRead };
  }

  private requireAnchor(): Session {
    if (this.anchor === undefined) throw new Error(`the ClickHouse engine on ${this.dataDir} is closed`);
    return this.anchor;
  }
}

class RunningQuery implements EngineQuery {
  private ownConnection: Session | undefined;
  private readonly session: HttpSession | undefined;
  private readonly logComment: string;
  private readonly startedAt = performance.now();
  private phase: 'new' | 'stream' | 'whole' | 'done' = 'new';
  private stream: ChdbQueryStream | undefined;
  private iterator: AsyncIterator<{ raw(): Uint8Array; numRows: number }> | undefined;
  private whole: Uint8Array | undefined;
  /** The engine call in progress, if any: abandon() keeps killing until it settles. */
  private busy: Promise<unknown> | undefined;
  private abandoned = false;
  private closing: Promise<void> | undefined;
  /** What puts a session back as the request found it (its settings, its database, no external tables). */
  private restore: string[] = [];
  private stats = {
    rowsRead: 0,
    bytesRead: 0,
    totalRowsToRead: 0,
    rowsWritten: 0,
    bytesWritten: 0,
    resultRows: 0,
    resultBytes: 0,
  };
  private engineSeconds: number | undefined;
  streamed = false;

  constructor(
    private readonly engine: ChdbEngine,
    private readonly request: HttpQueryRequest,
  ) {
    const userComment = request.settings.get('log_comment');
    this.logComment = `${userComment ? `${userComment} ` : ''}[front ${randomUUID()}]`;
    // Taken now, so a busy or unknown session is refused before anything runs.
    this.session = request.session === undefined ? undefined : engine.sessions.acquire(request.session);
  }

  async next(): Promise<Uint8Array | undefined> {
    if (this.abandoned) throw new Error('Query was cancelled: the client went away');
    if (this.phase === 'new') {
      this.phase = 'done';
      await this.track(this.begin());
    }
    if (this.phase === 'whole') {
      this.phase = 'done';
      const body = this.whole ?? new Uint8Array(0);
      this.whole = undefined;
      return body.byteLength > 0 ? body : undefined;
    }
    if (this.phase === 'stream' && this.iterator !== undefined) {
      const iterator = this.iterator;
      for (;;) {
        const step = await this.track(iterator.next());
        if (step.done) {
          this.phase = 'done';
          return undefined;
        }
        const bytes = step.value.raw();
        this.stats.resultRows += step.value.numRows;
        this.stats.resultBytes += bytes.byteLength;
        if (bytes.byteLength > 0) return bytes;
      }
    }
    return undefined;
  }

  summary(): QuerySummary {
    return {
      ...this.stats,
      elapsedSeconds: this.engineSeconds ?? (performance.now() - this.startedAt) / 1000,
    };
  }

  refreshProgress(): void {
    if (this.phase !== 'stream') return;
    let progress: ReturnType<ChdbEngine['progressOf']>;
    try {
      progress = this.engine.progressOf(this.logComment);
    } catch {
      // The figures are a courtesy of the headers: a failed look-up must not fail the query.
      return;
    }
    if (progress === undefined) return;
    this.stats.rowsRead = Math.max(this.stats.rowsRead, progress.rowsRead);
    this.stats.bytesRead = Math.max(this.stats.bytesRead, progress.bytesRead);
    this.stats.totalRowsToRead = progress.totalRowsToRead;
  }

  async abandon(): Promise<void> {
    if (this.abandoned) return;
    this.abandoned = true;
    // An INSERT whose rows all arrived is finished, not cut short: its body is bounded, and a
    // client that gave up retries it with the same deduplication token.
    if (this.request.rawInsert !== undefined) return;
    // Between two blocks nothing runs: dropping the stream ends the query in the engine.
    this.stream?.cancel();
    // Inside a block (an aggregation, a sort, a non-streamed statement) the engine only stops when
    // told to: KILL QUERY, repeated until the call returns (a query not yet registered is missed).
    while (this.busy !== undefined) {
      const busy = this.busy;
      try {
        this.engine.kill(this.logComment);
      } catch {
        // The engine refused the KILL (closing?): try again while the call still runs.
      }
      await Promise.race([
        busy.catch(() => undefined),
        new Promise((wake) => setTimeout(wake, KILL_RETRY_MS)),
      ]);
    }
  }

  close(): Promise<void> {
    this.closing ??= this.release();
    return this.closing;
  }

  private async release(): Promise<void> {
    this.stream?.cancel();
    if (this.session === undefined) {
      // chDB defers the teardown while an engine call is still running on the connection.
      this.ownConnection?.close();
      return;
    }
    try {
      await this.busy?.catch(() => undefined);
      if (this.restore.length > 0) {
        await this.session.connection.queryAsync(this.restore.join(';\n'), { format: 'TabSeparated' });
      }
    } catch {
      // The session could not be put back as it was: end it rather than leave it changed.
      this.engine.sessions.release(this.session, true);
      return;
    }
    this.engine.sessions.release(this.session, this.request.session?.close ?? false);
  }

  private async begin(): Promise<void> {
    const { request } = this;
    const pooled = this.session === undefined ? pooledInsert(request) : undefined;
    if (pooled !== undefined) {
      // No USE, no SET: the database is in the table's name and the settings in the INSERT's
      // SETTINGS clause, so the connection is left as it was found and serves the next insert.
      // That spares a connection per insert, which chDB keeps until every engine call running
      // anywhere in the process has ended (measured: 1 500 requests beside a long query left
      // about 380 MiB of such connections).
      const connection = this.engine.takeInsertConnection();
      try {
        const summary = await connection.insert(pooled);
        this.recordInsert(summary);
      } finally {
        this.engine.giveBackInsertConnection(connection);
      }
      return;
    }
    const connection = this.connect();
    await this.prepare(connection);
    if (this.abandoned) throw new Error('Query was cancelled: the client went away');
    for (const table of request.externalTables) await this.loadExternalTable(connection, table);

    if (request.rawInsert !== undefined) {
      const { table, columns, format, data } = request.rawInsert;
      const summary = await connection.insert({
        table,
        format,
        values: data,
        ...(columns === undefined ? {} : { columns }),
      });
      this.recordInsert(summary);
      return;
    }
    if (request.bodyInsert !== undefined) {
      await this.insertFromFile(connection, request.bodyInsert);
      return;
    }
    await this.run(connection);
  }

  /** The statement itself: streamed when chDB can stream it, else run whole. */
  private async run(connection: Session): Promise<void> {
    const { request } = this;
    const options = { format: request.defaultFormat };
    try {
      this.stream = connection.queryStream(request.sql, options);
      this.iterator = this.stream[Symbol.asyncIterator]();
      this.streamed = true;
      this.phase = 'stream';
      return;
    } catch (err) {
      if (!(err instanceof Error) || !NOT_STREAMABLE.test(err.message)) throw err;
    }
    const result = await connection.queryAsync(request.sql, options);
    this.whole = result.bytes();
    this.stats.rowsRead = result.rowsRead;
    this.stats.bytesRead = result.bytesRead;
    this.stats.resultBytes = this.whole.byteLength;
    this.engineSeconds = result.elapsed;
    this.phase = 'whole';
  }

  /**
   * The request's database, settings and query parameters on its connection. A fresh connection
   * is dropped afterwards; a session's is put back afterwards (settings and database; query
   * parameters cannot be unset and stay, as a session's `SET param_…` would). A GET runs with
   * readonly = 2 as on a server; in a session the front refuses non-reading statements instead,
   * since `readonly` once raised cannot be lowered on that connection.
   */
  private async prepare(connection: Session): Promise<void> {
    const { request } = this;
    const settings = new Map(request.settings);
    // The tag abandon() finds the query by; a raw insert is never killed, so it goes untagged and
    // the insert path runs exactly the statements it ran before.
    if (request.rawInsert === undefined) settings.set('log_comment', this.logComment);
    if (request.readOnly && this.session !== undefined) checkReadOnly(request.sql);
    if (this.session !== undefined) await this.rememberSessionState(connection, [...settings.keys()]);
    const preamble = [
      ...(request.readOnly && this.session === undefined ? ['SET readonly = 2'] : []),
      ...(request.database === undefined ? [] : [`USE ${quotedDatabase(request.database)}`]),
      ...[...settings].map(([name, value]) => settingStatement(name, value)),
      ...[...request.parameters].map(([name, value]) => parameterStatement(name, value)),
    ];
    if (preamble.length > 0) await connection.queryAsync(preamble.join(';\n'), { format: 'TabSeparated' });
  }

  private async rememberSessionState(connection: Session, names: string[]): Promise<void> {
    const { request } = this;
    if (request.database !== undefined) {
      const current = (await connection.queryAsync('SELECT currentDatabase()', { format: 'TabSeparated' }))
        .text()
        .trim();
      this.restore.push(`USE ${quotedDatabase(current)}`);
    }
    if (names.length === 0) return;
    const rows = (
      await connection.queryAsync(
        `SELECT name, value, changed FROM system.settings WHERE name IN (${names.map(stringLiteral).join(', ')})`,
        { format: 'JSONEachRow' },
      )
    )
      .text()
      .split('\n')
      .filter((line) => line.length > 0)
      .map((line) => JSON.parse(line) as { name: string; value: string; changed: number });
    for (const { name, value, changed } of rows) {
      this.restore.push(changed ? settingStatement(name, value) : `SET ${name} = DEFAULT`);
    }
  }

  /** External data: a temporary table for this query, filled from the part's bytes. */
  private async loadExternalTable(connection: Session, table: HttpQueryRequest['externalTables'][number]) {
    const name = quotedDatabase(table.name);
    await connection.queryAsync(`CREATE TEMPORARY TABLE ${name} (${table.structure}) ENGINE = Memory`, {
      format: 'TabSeparated',
    });
    if (this.session !== undefined) this.restore.unshift(`DROP TEMPORARY TABLE IF EXISTS ${name}`);
    await this.insertFromFile(connection, {
      target: name,
      columns: undefined,
      format: table.format,
      data: table.data,
    });
  }

  /**
   * Rows chDB's raw insert does not take (binary formats, empty bodies, external data) go through a
   * file: `INSERT … FROM INFILE` reads the bytes as they came, never decoded as text.
   */
  private async insertFromFile(connection: Session, insert: BodyInsert): Promise<void> {
    if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(insert.format)) throw new Error(`Invalid format ${insert.format}`);
    const path = join(this.engine.bodyDir, randomUUID());
    await writeFile(path, insert.data);
    try {
      const result = await connection.queryAsync(
        `INSERT INTO ${insert.target} ${insert.columns ?? ''} FROM INFILE ${stringLiteral(path)} FORMAT ${insert.format}`,
        { format: 'TabSeparated' },
      );
      // chDB reports no rows for an INSERT run as a statement (rowsRead is 0), so only the body's
      // size is known.
      this.stats.bytesRead = insert.data.byteLength;
      this.engineSeconds = result.elapsed;
      this.phase = 'whole';
    } finally {
      await rm(path, { force: true });
    }
  }

  private connect(): Session {
    if (this.session !== undefined) return this.session.connection;
    this.ownConnection ??= this.engine.connect();
    return this.ownConnection;
  }

  private recordInsert(summary: {
    bytesSent: number;
    rowsWritten: number;
    bytesWritten: number;
    elapsed: number;
  }) {
    this.stats.bytesRead = summary.bytesSent;
    this.stats.rowsWritten = summary.rowsWritten;
    this.stats.bytesWritten = summary.bytesWritten;
    this.engineSeconds = summary.elapsed;
    this.phase = 'whole';
  }

  private async track<T>(work: Promise<T>): Promise<T> {
    this.busy = work;
    try {
      return await work;
    } finally {
      if (this.busy === work) this.busy = undefined;
    }
  }
}

/**
 * A raw insert that can run on a shared connection: its database, if any, is a plain name that can
 * qualify the table, and its settings go into the INSERT's SETTINGS clause.
 */
function pooledInsert(request: HttpQueryRequest) {
  const insert = request.rawInsert;
  if (insert === undefined) return undefined;
  const { table, columns, format, data } = insert;
  let qualified = table;
  if (request.database !== undefined && !table.includes('.')) {
    if (!PLAIN_NAME.test(request.database)) return undefined;
    qualified = `${request.database}.${table}`;
  }
  return {
    table: qualified,
    format,
    values: data,
    ...(columns === undefined ? {} : { columns }),
    ...(request.settings.size === 0 ? {} : { settings: Object.fromEntries(request.settings) }),
  };
}

/**
 * chDB reads a `clickhouse local` configuration at start. The bound is the default profile's
 * `max_memory_usage` with a constraint (min 1, so 0 — unlimited — is refused too): a `SET`, a URL
 * setting or a `SETTINGS` clause that raises it fails with SETTING_CONSTRAINT_VIOLATION (452), as
 * on a server with that profile. clickhouse-local takes users and profiles only from a separate
 * `users_config` file.
 */
function writeEngineConfig(maxQueryMemoryBytes: number): string {
  // chDB runs `invalid` as `SELECT invalid` (implicit_select); a server reads it as a syntax error.
  const memoryBound =
    maxQueryMemoryBytes > 0
      ? `
      <max_memory_usage>${maxQueryMemoryBytes}</max_memory_usage>
      <constraints>
        <max_memory_usage><min>1</min><max>${maxQueryMemoryBytes}</max></max_memory_usage>
      </constraints>`
      : '';
  const dir = mkdtempSync(join(tmpdir(), 'clickhouse-front-config-'));
  const users = join(dir, 'users.xml');
  writeFileSync(
    join(dir, 'config.xml'),
    `<clickhouse>\n  <users_config>${xmlText(users)}</users_config>\n</clickhouse>\n`,
  );
  writeFileSync(
    users,
    `<clickhouse>
  <profiles>
    <default>
      <implicit_select>0</implicit_select>${memoryBound}
    </default>
  </profiles>
  <users>
    <default>
      <password></password>
      <networks><ip>::/0</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
  </users>
  <quotas><default></default></quotas>
</clickhouse>
`,
  );
  return dir;
}

function xmlText(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

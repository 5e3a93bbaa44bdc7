import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { Session } from 'chdb';
import { type HttpQueryRequest, quotedDatabase, settingStatement } from './protocol.js';

export interface EngineResult {
  body: Uint8Array;
  rowsRead: number;
  bytesRead: number;
  rowsWritten: number;
  bytesWritten: number;
  elapsedSeconds: number;
}

/**
 * The real ClickHouse engine (chDB) on one data directory. chDB binds one data directory per
 * process, so this class is meant to live alone in its process (see launcher.ts).
 *
 * Every request gets its own engine connection: database, settings and query parameters are
 * connection state in chDB, and a fresh connection (about 1 ms) cannot leak them into the next
 * request or into a query running next to it. The long-lived `anchor` connection keeps the data
 * directory bound (and its lock held) between requests.
 *
 * The async chDB calls run on libuv's thread pool, so the event loop keeps serving HTTP while a
 * large insert or merge runs.
 */
export class ChdbEngine {
  private anchor: Session | undefined;
  readonly dataDir: string;

  constructor(dataDir: string) {
    this.dataDir = resolve(dataDir);
    mkdirSync(this.dataDir, { recursive: true });
    this.anchor = new Session(this.dataDir);
  }

  get version(): string {
    return this.requireAnchor().query('SELECT version()', 'TabSeparated').trim();
  }

  async execute(request: HttpQueryRequest): Promise<EngineResult> {
    this.requireAnchor();
    const connection = new Session(this.dataDir);
    try {
      const preamble = [
        ...(request.database === undefined ? [] : [`USE ${quotedDatabase(request.database)}`]),
        ...[...request.settings].map(([name, value]) => settingStatement(name, value)),
      ];
      if (preamble.length > 0) await connection.queryAsync(preamble.join(';\n'), { format: 'TabSeparated' });
      if (request.rawInsert !== undefined) {
        const { table, columns, format, data } = request.rawInsert;
        const summary = await connection.insert({
          table,
          format,
          values: data,
          ...(columns === undefined ? {} : { columns }),
        });
        return {
          body: new Uint8Array(0),
          rowsRead: 0,
          bytesRead: summary.bytesSent,
          rowsWritten: summary.rowsWritten,
          bytesWritten: summary.bytesWritten,
          elapsedSeconds: summary.elapsed,
        };
      }
      const options = { format: request.defaultFormat };
      const result =
        request.parameters.size === 0
          ? await connection.queryAsync(request.sql, options)
          : await connection.queryBindAsync(request.sql, Object.fromEntries(request.parameters), options);
      return {
        body: result.bytes(),
        rowsRead: result.rowsRead,
        bytesRead: result.bytesRead,
        rowsWritten: 0,
        bytesWritten: 0,
        elapsedSeconds: result.elapsed,
      };
    } finally {
      connection.close();
    }
  }

  /** Release the data directory so another process (or a later start) can open it. */
  close(): void {
    this.anchor?.close();
    this.anchor = undefined;
  }

  private requireAnchor(): Session {
    if (this.anchor === undefined) throw new Error(`the ClickHouse engine on ${this.dataDir} is closed`);
    return this.anchor;
  }
}

import { Readable } from 'node:stream';
import type { ClickHouseClient } from '@clickhouse/client';
import { CLICKHOUSE_JSON_SETTINGS } from '../../core/bson-json.js';
import { DestinationFatalError } from '../../core/errors.js';
import { addColumnsSql } from '../../core/settings-change-shape.js';
import { qualifiedTableName } from '../../core/table-key.js';
import {
  createTableSql,
  quoteIdentifier,
  resyncTableName,
  type TableOptions,
  type TypedColumnSql,
} from '../../core/table-schema.js';
import type {
  Destination,
  EncodedInsertBatch,
  InsertBatch,
  InsertResult,
  RowCountOptions,
  StoredRow,
  StreamedInsertBatch,
  SwapMethod,
  TableRef,
} from '../../ports/destination.js';
import { type ClickHouseConnection, createClickHouseClient, destinationCall } from './client.js';
import { oneBlockInsertSettings } from './one-block.js';
import { type BodyTally, jsonEachRowBody, nonEmptyRows } from './rows-body.js';
import { streamedBody } from './streamed-body.js';
import { dropSwappedOutTable, swapResyncTable } from './swap.js';
import { describeTables, qualifiedName, RESYNC_MARKER } from './tables.js';

/**
 * A non-replicated MergeTree only honours insert_deduplication_token when it keeps a window of
 * recent insert hashes; replicated and shared (Cloud) engines keep one by default.
 */
export const DEDUPLICATION_WINDOW = 1000;

const INSERT_COLUMNS = '(`_id`, `doc`, `_peerdb_version`, `_peerdb_is_deleted`)';

export class ClickHouseDestination implements Destination {
  /** This server's one-block settings, asked once; a failed ask is forgotten, the next asks again. */
  private oneBlock: Promise<Record<string, string>> | undefined;

  constructor(private readonly client: ClickHouseClient) {}

  static connect(connection: ClickHouseConnection): ClickHouseDestination {
    return new ClickHouseDestination(createClickHouseClient(connection));
  }

  async ensureDatabase(database: string): Promise<void> {
    await this.command(`CREATE DATABASE IF NOT EXISTS ${quoteIdentifier(database)}`);
  }

  async createTable(ref: TableRef, options: TableOptions): Promise<void> {
    await this.createMarkedTable(ref, options);
  }

  private async createMarkedTable(ref: TableRef, options: TableOptions, comment?: string): Promise<void> {
    await this.command(createTableSql(ref.database, ref.table, options, comment));
    const [description] = await describeTables(this.client, ref.database, [ref.table]);
    if (description && !/^(Replicated|Shared)/.test(description.engine)) {
      await this.command(
        `ALTER TABLE ${qualifiedName(ref)} MODIFY SETTING non_replicated_deduplication_window = ${DEDUPLICATION_WINDOW}`,
      );
    }
  }

  /** ALTER TABLE … ADD COLUMN IF NOT EXISTS: metadata only, the rows already there read the default. */
  async addColumns(ref: TableRef, columns: readonly TypedColumnSql[]): Promise<void> {
    if (columns.length > 0) await this.command(addColumnsSql(ref, columns));
  }

  /**
   * Only the product's own `<table>_resync` is ever dropped here: first an earlier swap's
   * unfinished clean-up is finished (its marker on the live table would otherwise pass this
   * resync off as swapped), then a leftover `_resync` is dropped only if it carries the resync
   * marker (an abandoned resync's load); any other table of that name is refused, untouched.
   * The new table gets its marker in the CREATE itself, so it never exists unmarked.
   */
  async createResyncTable(ref: TableRef, options: TableOptions): Promise<string> {
    const resync = { database: ref.database, table: resyncTableName(ref.table) };
    await dropSwappedOutTable(this.client, ref);
    const [leftover] = await describeTables(this.client, ref.database, [resync.table]);
    if (leftover !== undefined) {
      if (leftover.comment !== RESYNC_MARKER) {
        throw new DestinationFatalError(
          `${qualifiedTableName(resync)} exists and was not created by a resync of ${ref.table} ` +
            '(its name is reserved for one): rename or drop it, then resync again',
        );
      }
      // A leftover from an abandoned resync holds rows of an older start point: start clean.
      await this.dropTable(resync);
    }
    await this.createMarkedTable(resync, options, RESYNC_MARKER);
    return resync.table;
  }

  async tableExists(ref: TableRef): Promise<boolean> {
    quoteIdentifier(ref.database);
    quoteIdentifier(ref.table);
    const found = await describeTables(this.client, ref.database, [ref.table]);
    return found.length > 0;
  }

  async insertRows(batch: InsertBatch): Promise<InsertResult> {
    requireToken(batch.deduplicationToken, 'insertRows');
    const tally: BodyTally = { rows: 0, bytes: 0 };
    const rows = await nonEmptyRows(batch.rows);
    if (rows === undefined) return tally;
    await this.insertBody(batch, Readable.from(jsonEachRowBody(rows, batch.useJsonNativeFormat, tally)));
    return tally;
  }

  async insertEncoded(batch: EncodedInsertBatch): Promise<InsertResult> {
    requireToken(batch.deduplicationToken, 'insertEncoded');
    const bytes = batch.body.reduce((sum, chunk) => sum + chunk.length, 0);
    // An empty body is an error (NO_DATA_TO_INSERT), not a no-op: nothing is sent.
    if (batch.rows === 0 || bytes === 0) return { rows: 0, bytes: 0 };
    await this.insertBody(batch, Readable.from(batch.body), batch.columns);
    return { rows: batch.rows, bytes };
  }

  /**
   * The body goes out as the caller writes it, at most a chunk ahead of the socket. When the body
   * throws, the request is destroyed before its chunked body is ended, so the server never commits
   * it, and the caller gets the body's own error (a source error stays a source error).
   */
  async insertStreamed(batch: StreamedInsertBatch): Promise<void> {
    requireToken(batch.deduplicationToken, 'insertStreamed');
    const body = await streamedBody(batch.body);
    // An empty body is an error (NO_DATA_TO_INSERT), not a no-op: nothing is sent.
    if (body === undefined) return;
    try {
      const blockSettings = await destinationCall(() => this.oneBlockSettings());
      await this.insertBody(batch, body.stream, batch.columns, blockSettings);
    } catch (err) {
      const failure = body.failure();
      throw failure === undefined ? err : failure.thrown;
    } finally {
      await body.release();
    }
  }

  private oneBlockSettings(): Promise<Record<string, string>> {
    this.oneBlock ??= oneBlockInsertSettings(this.client).catch((error: unknown) => {
      this.oneBlock = undefined;
      throw error;
    });
    return this.oneBlock;
  }

  /** One INSERT … FORMAT JSONEachRow with the body streamed, deduplicated by the batch's token. */
  private async insertBody(
    batch: TableRef & { deduplicationToken: string },
    body: Readable,
    typedColumns: readonly string[] = [],
    blockSettings: Record<string, string> = {},
  ): Promise<void> {
    const columns =
      typedColumns.length === 0
        ? INSERT_COLUMNS
        : `${INSERT_COLUMNS.slice(0, -1)}, ${typedColumns.map(quoteIdentifier).join(', ')})`;
    const query = `INSERT INTO ${qualifiedName(batch)} ${columns} FORMAT JSONEachRow`;
    await destinationCall(async () => {
      const result = await this.client.exec({
        query,
        values: body,
        clickhouse_settings: {
          ...CLICKHOUSE_JSON_SETTINGS,
          insert_deduplicate: 1,
          insert_deduplication_token: batch.deduplicationToken,
          async_insert: 0,
          ...blockSettings,
        },
      });
      await drain(result.stream);
    });
  }

  swapResyncTable(ref: TableRef): Promise<SwapMethod> {
    return swapResyncTable(this.client, ref);
  }

  dropSwappedOutTable(ref: TableRef): Promise<void> {
    return dropSwappedOutTable(this.client, ref);
  }

  async dropTable(ref: TableRef): Promise<void> {
    await this.command(`DROP TABLE IF EXISTS ${qualifiedName(ref)}`);
  }

  async purgeDeletedRows(ref: TableRef): Promise<void> {
    await this.command(`OPTIMIZE TABLE ${qualifiedName(ref)} FINAL CLEANUP`);
  }

  async countRows(ref: TableRef, options: Partial<RowCountOptions> = {}): Promise<number> {
    const liveOnly = options.liveOnly ?? false;
    const final = liveOnly || (options.final ?? false);
    const sql =
      `SELECT toString(count()) AS rows FROM ${qualifiedName(ref)}${final ? ' FINAL' : ''}` +
      (liveOnly ? ' WHERE `_peerdb_is_deleted` = 0' : '');
    const [row] = await this.selectRows<{ rows: string }>(sql);
    return Number(row?.rows ?? 0);
  }

  async readLiveRows(ref: TableRef): Promise<StoredRow[]> {
    const rows = await this.selectRows<{
      _id: string;
      doc: string;
      _peerdb_version: string;
      _peerdb_is_deleted: number;
    }>(
      // Versions exceed 2^53: read as text whatever the server's JSON number settings say (they
      // would also change how numbers inside `doc` render, so they are left alone).
      'SELECT `_id`, toString(`doc`) AS doc, toString(`_peerdb_version`) AS _peerdb_version, `_peerdb_is_deleted` ' +
        `FROM ${qualifiedName(ref)} FINAL WHERE \`_peerdb_is_deleted\` = 0 ORDER BY \`_id\``,
    );
    return rows.map((row) => ({
      _id: row._id,
      doc: row.doc,
      _peerdb_version: BigInt(row._peerdb_version),
      _peerdb_is_deleted: row._peerdb_is_deleted === 1 ? 1 : 0,
    }));
  }

  async close(): Promise<void> {
    await this.client.close();
  }

  private async command(query: string, settings: Record<string, number> = {}): Promise<void> {
    await destinationCall(() => this.client.command({ query, clickhouse_settings: settings }));
  }

  private selectRows<T>(query: string): Promise<T[]> {
    return destinationCall(async () => {
      const result = await this.client.query({
        query,
        format: 'JSONEachRow',
        clickhouse_settings: { ...CLICKHOUSE_JSON_SETTINGS },
      });
      return result.json<T>();
    });
  }
}

function requireToken(token: string, method: string): void {
  if (token.length === 0) throw new TypeError(`${method} needs a non-empty deduplicationToken`);
}

async function drain(stream: NodeJS.ReadableStream): Promise<void> {
  for await (const _ of stream) {
    // The body of an INSERT answer is empty; reading it returns the socket to the pool.
  }
}

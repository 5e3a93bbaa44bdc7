import type { ClickHouseClient } from '@clickhouse/client';
import { quoteIdentifier } from '../../core/table-schema.js';
import type { TableRef } from '../../ports/destination.js';
import { destinationCall } from './client.js';

/**
 * The comment a resync table carries until it has replaced the live table. After EXCHANGE the
 * live name holds the marked table, which is how a retried swap knows the exchange happened.
 */
export const RESYNC_MARKER = 'mongo-clickhouse-pipes: resync table, not yet swapped in';

export interface TableDescription {
  name: string;
  engine: string;
  comment: string;
}

export function qualifiedName(ref: TableRef): string {
  return `${quoteIdentifier(ref.database)}.${quoteIdentifier(ref.table)}`;
}

/** The named tables that exist in the database (missing ones are simply absent). */
export async function describeTables(
  client: ClickHouseClient,
  database: string,
  tables: readonly string[],
): Promise<TableDescription[]> {
  quoteIdentifier(database);
  for (const table of tables) quoteIdentifier(table);
  return destinationCall(async () => {
    const result = await client.query({
      query:
        'SELECT name, engine, comment FROM system.tables ' +
        'WHERE database = {database:String} AND has({tables:Array(String)}, name)',
      query_params: { database, tables: [...tables] },
      format: 'JSONEachRow',
    });
    return result.json<TableDescription>();
  });
}

export async function setTableComment(
  client: ClickHouseClient,
  ref: TableRef,
  comment: string,
): Promise<void> {
  await destinationCall(() =>
    client.command({
      query: `ALTER TABLE ${qualifiedName(ref)} MODIFY COMMENT ${stringLiteral(comment)}`,
    }),
  );
}

function stringLiteral(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

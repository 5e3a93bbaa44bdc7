import type { ClickHouseClient } from '@clickhouse/client';
import { quoteIdentifier } from '../../core/table-schema.js';
import type { TableRef } from '../../ports/destination.js';
import type { DatabaseRightsFact, DestinationFacts } from '../../ports/preflight.js';
import { type ClickHouseConnection, createClickHouseClient, destinationCall } from './client.js';
import { describeTables } from './tables.js';

/**
 * What a pipe does in a database of its (functions/adapters/clickhouse/destination.ts): creates,
 * alters (settings, comments), writes, reads, optimizes and drops its tables.
 */
const TABLE_RIGHTS = ['CREATE TABLE', 'ALTER TABLE', 'INSERT', 'SELECT', 'OPTIMIZE', 'DROP TABLE'];

/**
 * Reads what the pre-flight judges (functions/engines/preflight-destination.ts) from a ClickHouse
 * endpoint, creating nothing: the server version (which logs the user in), per target database
 * whether it exists and which rights the user lacks (`CHECK GRANT`), and which target tables
 * exist already. A refused login or an unreachable endpoint throws the classified destination error.
 */
export async function readDestinationFacts(
  connection: ClickHouseConnection,
  tables: readonly TableRef[],
): Promise<DestinationFacts> {
  const client = createClickHouseClient({ requestTimeoutMs: 30_000, ...connection });
  try {
    const serverVersion = await selectValue(client, 'SELECT version()');
    const databases: DatabaseRightsFact[] = [];
    const existingTables: TableRef[] = [];
    for (const database of new Set(tables.map((table) => table.database))) {
      databases.push(await databaseRights(client, database));
      const names = tables.filter((table) => table.database === database).map((table) => table.table);
      for (const found of await describeTables(client, database, names))
        existingTables.push({ database, table: found.name });
    }
    return { endpoint: endpointOf(connection.url), serverVersion, databases, existingTables };
  } finally {
    await client.close().catch(() => undefined);
  }
}

async function databaseRights(client: ClickHouseClient, database: string): Promise<DatabaseRightsFact> {
  const exists =
    (await selectValue(client, `SELECT count() FROM system.databases WHERE name = {database:String}`, {
      database,
    })) !== '0';
  const wanted = exists ? TABLE_RIGHTS : ['CREATE DATABASE', ...TABLE_RIGHTS];
  const missing: string[] = [];
  try {
    for (const right of wanted)
      if (!(await granted(client, `${right} ON ${quoteIdentifier(database)}.*`))) missing.push(right);
  } catch (err) {
    // CHECK GRANT came with ClickHouse 24.x: an older server cannot tell, which is not a refusal.
    const reason = err instanceof Error ? err.message : String(err);
    return { database, exists, checked: false, reason: `CHECK GRANT failed: ${reason}` };
  }
  return { database, exists, checked: true, missing };
}

/** `CHECK GRANT` answers 1 or 0 as plain text; it takes no FORMAT clause, so it goes as a raw statement. */
async function granted(client: ClickHouseClient, grant: string): Promise<boolean> {
  return destinationCall(async () => {
    const result = await client.exec({ query: `CHECK GRANT ${grant}` });
    let text = '';
    for await (const chunk of result.stream) text += String(chunk);
    return text.trim() === '1';
  });
}

async function selectValue(
  client: ClickHouseClient,
  query: string,
  params: Record<string, unknown> = {},
): Promise<string> {
  return destinationCall(async () => {
    const result = await client.query({ query, query_params: params, format: 'TabSeparated' });
    return (await result.text()).trim();
  });
}

/** The endpoint without user or password, for messages. */
function endpointOf(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}`;
  } catch {
    return '(unparsable URL)';
  }
}

import type { ClickHouseClient } from '@clickhouse/client';

/**
 * A streamed insert forms one block, whatever the server's or the user's profile says, so
 * ClickHouse commits all of it or none: a server commits each block of a long insert as soon as
 * it is formed, while the body is still coming, and a snapshot batch cut off before its pending
 * batch is recorded could leave part of itself in, under block tokens its re-read would not
 * match (docs/engines.md). The input format's blocks (`max_insert_block_size` rows) are squashed
 * until the body ends (`min_insert_block_size_rows/bytes`, thresholds no batch reaches).
 */
const BEYOND_ANY_BATCH = '1000000000000';

export const ONE_BLOCK_INSERT_SETTINGS: Readonly<Record<string, string>> = {
  max_insert_block_size: BEYOND_ANY_BATCH,
  min_insert_block_size_rows: BEYOND_ANY_BATCH,
  min_insert_block_size_bytes: '1000000000000000',
};

/**
 * Newer servers also close a block at `max_insert_block_size_bytes` when a profile turns on
 * `use_strict_insert_block_limits`. These go only to servers that know them: a setting a server
 * does not know fails the insert.
 */
const WHERE_KNOWN: Readonly<Record<string, string>> = {
  use_strict_insert_block_limits: '0',
  max_insert_block_size_bytes: '0',
};

/** The one-block settings for this server: ONE_BLOCK_INSERT_SETTINGS and those of WHERE_KNOWN it knows. */
export async function oneBlockInsertSettings(client: ClickHouseClient): Promise<Record<string, string>> {
  const result = await client.query({
    query: 'SELECT name FROM system.settings WHERE name IN {names:Array(String)}',
    query_params: { names: Object.keys(WHERE_KNOWN) },
    format: 'JSONEachRow',
  });
  const known = new Set((await result.json<{ name: string }>()).map((row) => row.name));
  const extra = Object.entries(WHERE_KNOWN).filter(([name]) => known.has(name));
  return { ...ONE_BLOCK_INSERT_SETTINGS, ...Object.fromEntries(extra) };
}

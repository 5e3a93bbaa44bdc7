import { UnsupportedValueError } from './errors.js';
import { RESYNC_SUFFIX, SWAPPED_OUT_SUFFIX } from './settings.js';
import { type ShapeSettings, tableShapeFor, tableShapeOf } from './table-shape.js';

interface CollectionRef {
  sourceDatabaseName: string;
  sourceCollection: string;
}

/** Column names and meaning shared with ClickPipes, so queries written for it work unchanged. */
export const DESTINATION_COLUMNS = [
  '_id',
  'doc',
  '_peerdb_synced_at',
  '_peerdb_is_deleted',
  '_peerdb_version',
] as const;

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Quote a validated identifier; anything outside the strict rule is refused, never escaped. */
export function quoteIdentifier(name: string): string {
  if (!IDENTIFIER.test(name)) {
    throw new UnsupportedValueError(`${JSON.stringify(name)} is not a safe ClickHouse identifier`);
  }
  return `\`${name}\``;
}

export function resyncTableName(table: string): string {
  return `${table}${RESYNC_SUFFIX}`;
}

/** Where the swap's rename fallback parks the old table until it is dropped. */
export function swappedOutTableName(table: string): string {
  return `${table}${SWAPPED_OUT_SUFFIX}`;
}

export interface TableOptions {
  useJsonNativeFormat: boolean;
  deleteOnMerge: boolean;
  /** The mapping's typed columns (docs/table-schema.md, "Typed columns"), after `doc`. */
  columns?: readonly TypedColumnSql[];
}

export interface TypedColumnSql {
  name: string;
  /** The ClickHouse type as the CREATE writes it (columnTypeSql). */
  sql: string;
}

/**
 * The pipe's table options with the typed columns of one mapping: a `settings.tableMappings`
 * entry, or (with the pipe's settings) any record naming its collection.
 */
export function tableOptionsFor(
  options: TableOptions,
  mapping: ShapeSettings & CollectionRef,
  settings?: { tableMappings: readonly (ShapeSettings & CollectionRef)[] },
): TableOptions {
  const shape = settings === undefined ? tableShapeOf(mapping) : tableShapeFor(settings, mapping);
  if (shape === null || shape.columns.length === 0) return { ...options, columns: [] };
  return { ...options, columns: shape.columns.map(({ name, sql }) => ({ name, sql })) };
}

/**
 * The destination table (docs/table-schema.md). With deleteOnMerge, background merges that
 * collapse a partition to one part also drop rows whose latest version is a delete; FINAL
 * queries return the same rows either way.
 */
export function createTableSql(
  database: string,
  table: string,
  options: TableOptions,
  /** A table comment set by the CREATE itself (so the table never exists without it). */
  comment?: string,
): string {
  const settings = options.deleteOnMerge
    ? '\nSETTINGS allow_experimental_replacing_merge_with_cleanup = 1, ' +
      'enable_replacing_merge_with_cleanup_for_min_age_to_force_merge = 1, ' +
      'min_age_to_force_merge_seconds = 3600, min_age_to_force_merge_on_partition_only = 1'
    : '';
  return (
    `CREATE TABLE IF NOT EXISTS ${quoteIdentifier(database)}.${quoteIdentifier(table)} (\n` +
    '  `_id` String,\n' +
    `  \`doc\` ${options.useJsonNativeFormat ? 'JSON' : 'String'},\n` +
    (options.columns ?? []).map((column) => `  ${quoteIdentifier(column.name)} ${column.sql},\n`).join('') +
    '  `_peerdb_synced_at` DateTime64(9) DEFAULT now64(),\n' +
    '  `_peerdb_is_deleted` UInt8,\n' +
    '  `_peerdb_version` UInt64\n' +
    ') ENGINE = ReplacingMergeTree(`_peerdb_version`, `_peerdb_is_deleted`)\n' +
    `PRIMARY KEY \`_id\` ORDER BY \`_id\`${settings}` +
    (comment === undefined ? '' : `\nCOMMENT ${stringLiteral(comment)}`)
  );
}

/** A ClickHouse string literal: backslashes and quotes escaped. */
export function stringLiteral(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/**
 * The one spelling of a table mapping's key, `<sourceDatabase>.<sourceCollection>`: the pipe
 * store keys mappings by it, CDC routes events by it, and the API names tables with it.
 */
export function tableKeyOf(
  mapping: Readonly<{ sourceDatabaseName: string; sourceCollection: string }>,
): string {
  return `${mapping.sourceDatabaseName}.${mapping.sourceCollection}`;
}

/** The same key from a change event's namespace (`{ db, coll }`). */
export function namespaceKey(namespace: Readonly<{ db: string; coll: string }>): string {
  return `${namespace.db}.${namespace.coll}`;
}

/**
 * A destination table as messages and per-table counts name it, `<database>.<table>` (unquoted:
 * SQL quotes each part itself). The pipe store's table claims key by it too.
 */
export function qualifiedTableName(ref: Readonly<{ database: string; table: string }>): string {
  return `${ref.database}.${ref.table}`;
}

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

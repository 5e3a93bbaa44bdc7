import type { Document } from 'mongodb';
import type { SourceNamespace } from '../../ports/source.js';

/**
 * The change stream pipeline of a pipe: only its collections' events (plus the database-level
 * and stream-level events that end them), minus excluded operation types, projected to the
 * fields the row conversion reads.
 */
export function changeStreamPipeline(
  namespaces: readonly SourceNamespace[],
  excludedOperationTypes: readonly string[] = [],
): Document[] {
  const databases = [...new Set(namespaces.map((namespace) => namespace.db))];
  const match: Document = {
    $or: [
      ...namespaces.map((namespace) => ({ 'ns.db': namespace.db, 'ns.coll': namespace.coll })),
      { operationType: 'dropDatabase', 'ns.db': { $in: databases } },
      { operationType: 'invalidate' },
    ],
  };
  if (excludedOperationTypes.length > 0) match.operationType = { $nin: [...excludedOperationTypes] };
  return [
    { $match: match },
    // updateDescription is left out: the looked-up fullDocument carries the whole new state, and
    // dropping the diff keeps a large document's event under the 16 MB limit.
    {
      $project: {
        operationType: 1,
        clusterTime: 1,
        ns: 1,
        documentKey: 1,
        fullDocument: 1,
        to: 1,
      },
    },
  ];
}

/** The scope a pipe watches: one database when all collections share it, else the cluster. */
export function watchScope(
  namespaces: readonly SourceNamespace[],
): { kind: 'database'; db: string } | { kind: 'cluster' } {
  const databases = [...new Set(namespaces.map((namespace) => namespace.db))];
  return databases.length === 1 ? { kind: 'database', db: databases[0] as string } : { kind: 'cluster' };
}

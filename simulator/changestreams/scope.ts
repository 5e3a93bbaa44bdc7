/**
 * What a change stream watches: one collection, one database, or the whole cluster. Which
 * namespaces each scope sees follows the server (system collections and the internal
 * databases are never reported).
 */
import { CommandError } from '../contract.js';

export type ChangeStreamScope =
  | { kind: 'collection'; db: string; coll: string }
  | { kind: 'database'; db: string }
  | { kind: 'cluster' };

/** The aggregate's target as STORAGE sees it: `collection` is null for `aggregate: 1`. */
export interface ChangeStreamTarget {
  db: string;
  collection: string | null;
}

const INTERNAL_DATABASES = new Set(['admin', 'config', 'local']);

export function resolveScope(target: ChangeStreamTarget, allChangesForCluster: boolean): ChangeStreamScope {
  if (allChangesForCluster) {
    if (target.db !== 'admin' || target.collection !== null) {
      throw new CommandError(
        73,
        'InvalidNamespace',
        "A cluster-wide change stream must be opened with {aggregate: 1} on the 'admin' database",
      );
    }
    return { kind: 'cluster' };
  }
  if (INTERNAL_DATABASES.has(target.db)) {
    throw new CommandError(
      73,
      'InvalidNamespace',
      `$changeStream may not be opened on the internal ${target.db} database`,
    );
  }
  if (target.collection === null) return { kind: 'database', db: target.db };
  if (target.collection.startsWith('system.')) {
    throw new CommandError(
      73,
      'InvalidNamespace',
      `$changeStream may not be opened on the internal ${target.db}.${target.collection} collection`,
    );
  }
  return { kind: 'collection', db: target.db, coll: target.collection };
}

/** `cursor.ns` of the aggregate reply. */
export function cursorNamespace(scope: ChangeStreamScope): string {
  if (scope.kind === 'collection') return `${scope.db}.${scope.coll}`;
  if (scope.kind === 'database') return `${scope.db}.$cmd.aggregate`;
  return 'admin.$cmd.aggregate';
}

export function splitNamespace(ns: string): { db: string; coll: string } {
  const dot = ns.indexOf('.');
  return dot < 0 ? { db: ns, coll: '' } : { db: ns.slice(0, dot), coll: ns.slice(dot + 1) };
}

/** Whether an event on `db.coll` (coll '' for database-level events) belongs to the scope. */
export function scopeSees(scope: ChangeStreamScope, db: string, coll: string): boolean {
  if (coll.startsWith('system.')) return false;
  if (scope.kind === 'collection') return db === scope.db && coll === scope.coll;
  if (scope.kind === 'database') return db === scope.db;
  return !INTERNAL_DATABASES.has(db);
}

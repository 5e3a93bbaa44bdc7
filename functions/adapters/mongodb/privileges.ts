import type { Document } from 'mongodb';
import type { SourceNamespace } from '../../ports/source.js';

/** One privilege the pipe needs: actions on a namespace (`collection: ''` = the whole database). */
export interface RequiredPrivilege {
  db: string;
  collection: string;
  actions: string[];
  why: string;
}

/**
 * What the pipe needs: find (snapshot) and changeStream on every mapped collection, at the scope
 * the change reader watches (a database when all collections share one, else the cluster), and
 * find on `local` to read the oplog window.
 */
export function requiredPrivileges(namespaces: readonly SourceNamespace[]): RequiredPrivilege[] {
  const databases = [...new Set(namespaces.map((namespace) => namespace.db))];
  const required: RequiredPrivilege[] = namespaces.map((namespace) => ({
    db: namespace.db,
    collection: namespace.coll,
    actions: ['find'],
    why: 'snapshot reads',
  }));
  if (databases.length === 1) {
    required.push({
      db: databases[0] as string,
      collection: '',
      actions: ['find', 'changeStream'],
      why: 'change stream on the database',
    });
  } else {
    required.push({
      db: '',
      collection: '',
      actions: ['find', 'changeStream'],
      why: 'change stream on the cluster',
    });
  }
  required.push({ db: 'local', collection: 'oplog.rs', actions: ['find'], why: 'oplog window' });
  return required;
}

interface Privilege {
  resource?: { db?: string; collection?: string; anyResource?: boolean; cluster?: boolean };
  actions?: string[];
}

function covers(resource: Privilege['resource'], need: RequiredPrivilege): boolean {
  if (!resource) return false;
  if (resource.anyResource === true) return true;
  if (typeof resource.db !== 'string' || typeof resource.collection !== 'string') return false;
  const dbMatches =
    resource.db === need.db ||
    (resource.db === '' && need.db !== 'local' && need.db !== 'admin' && need.db !== 'config');
  const collMatches =
    resource.collection === need.collection ||
    (resource.collection === '' && !need.collection.startsWith('system.'));
  return dbMatches && collMatches;
}

/** The required privileges the `connectionStatus` reply does not grant, as readable lines. */
export function missingPrivileges(
  connectionStatus: Document,
  required: readonly RequiredPrivilege[],
): string[] {
  const granted = ((connectionStatus.authInfo as Document | undefined)?.authenticatedUserPrivileges ??
    []) as Privilege[];
  const missing: string[] = [];
  for (const need of required) {
    for (const action of need.actions) {
      const ok = granted.some(
        (privilege) => covers(privilege.resource, need) && (privilege.actions ?? []).includes(action),
      );
      if (!ok)
        missing.push(`${action} on ${need.db || '(any database)'}.${need.collection || '*'} (${need.why})`);
    }
  }
  return missing;
}

/** True when the connection is authenticated as some user (else the server runs without auth). */
export function isAuthenticated(connectionStatus: Document): boolean {
  const users = (connectionStatus.authInfo as Document | undefined)?.authenticatedUsers;
  return Array.isArray(users) && users.length > 0;
}

import { type Document, MongoClient, type MongoClientOptions } from 'mongodb';
import { classifySourceError } from '../../core/classify.js';
import { PipeError } from '../../core/errors.js';
import { hostsOfUri, redactText } from '../../core/redact.js';
import { namespaceKey } from '../../core/table-key.js';
import type { SourceNamespace } from '../../ports/source.js';
import { isAuthenticated, missingPrivileges, requiredPrivileges } from './privileges.js';
import { classifyDeployment, type MemberStates, memberStatesFrom, type TopologySummary } from './topology.js';

export type OplogWindow =
  | { available: true; source: 'local.oplog.rs'; firstAt: string; lastAt: string; seconds: number }
  | { available: false; reason: string };

export type PrivilegeCheck = { checked: true; missing: string[] } | { checked: false; reason: string };

/** The pre-flight report (pipe status shows it); every text in it is free of credentials. */
export interface PreflightReport {
  /** False when a problem blocks the pipe (missing privileges or collections). */
  ok: boolean;
  serverVersion: string;
  topology: TopologySummary;
  memberStates: MemberStates;
  oplogWindow: OplogWindow;
  privileges: PrivilegeCheck;
  collections: { db: string; coll: string; exists: boolean }[];
  problems: string[];
  warnings: string[];
}

export interface PreflightOptions {
  namespaces: readonly SourceNamespace[];
  /** Reuse a connected client (its URI is still needed for messages); else one is opened and closed. */
  client?: MongoClient;
  clientOptions?: MongoClientOptions;
}

/** Checks a source before a pipe is created (and on demand). Throws StandaloneSourceError for a standalone. */
export async function preflight(uri: string, options: PreflightOptions): Promise<PreflightReport> {
  const host = redactText(hostsOfUri(uri));
  const client =
    options.client ?? new MongoClient(uri, { serverSelectionTimeoutMS: 10_000, ...options.clientOptions });
  try {
    return await runChecks(client, host, options.namespaces);
  } catch (err) {
    throw redactError(err instanceof PipeError ? err : classifySourceError(err));
  } finally {
    if (!options.client) await client.close().catch(() => undefined);
  }
}

async function runChecks(
  client: MongoClient,
  host: string,
  namespaces: readonly SourceNamespace[],
): Promise<PreflightReport> {
  const admin = client.db('admin');
  const hello = await admin.command({ hello: 1 });
  const topology = classifyDeployment(hello, host);
  const buildInfo = await admin.command({ buildInfo: 1 });
  const problems: string[] = [];
  const warnings: string[] = [];
  const memberStates = await readMemberStates(client, topology);
  if (!memberStates.available) warnings.push(`member states unknown: ${memberStates.reason}`);
  const oplogWindow = await readOplogWindow(client, topology);
  if (!oplogWindow.available) warnings.push(`oplog window unknown: ${oplogWindow.reason}`);
  const privileges = await checkPrivileges(client, namespaces);
  if (privileges.checked && privileges.missing.length > 0) {
    problems.push(`missing privileges: ${privileges.missing.join('; ')}`);
  } else if (!privileges.checked) warnings.push(`privileges not checked: ${privileges.reason}`);
  const collections = await checkCollections(client, namespaces);
  for (const missing of collections.filter((collection) => !collection.exists)) {
    problems.push(`collection ${namespaceKey(missing)} does not exist`);
  }
  return {
    ok: problems.length === 0,
    serverVersion: String(buildInfo.version),
    topology,
    memberStates,
    oplogWindow,
    privileges,
    collections,
    problems: problems.map(redactText),
    warnings: warnings.map(redactText),
  };
}

async function readMemberStates(client: MongoClient, topology: TopologySummary): Promise<MemberStates> {
  if (topology.kind === 'sharded') {
    return {
      available: false,
      reason: 'the source is a sharded cluster (mongos): member states are per shard',
    };
  }
  try {
    return {
      available: true,
      members: memberStatesFrom(await client.db('admin').command({ replSetGetStatus: 1 })),
    };
  } catch (err) {
    return { available: false, reason: unavailableReason(err, 'replSetGetStatus') };
  }
}

/** Oldest and newest oplog entries in natural (insertion) order. */
async function readOplogWindow(client: MongoClient, topology: TopologySummary): Promise<OplogWindow> {
  if (topology.kind === 'sharded')
    return { available: false, reason: 'read it on each shard: mongos has no oplog' };
  try {
    const oplog = client.db('local').collection('oplog.rs');
    const edge = (direction: 1 | -1) =>
      oplog.find({}, { projection: { ts: 1, wall: 1 }, sort: { $natural: direction }, limit: 1 }).next();
    const [first, last] = await Promise.all([edge(1), edge(-1)]);
    const firstTs = timestampSeconds(first);
    const lastTs = timestampSeconds(last);
    if (firstTs === null || lastTs === null)
      return { available: false, reason: 'local.oplog.rs returned no entries' };
    return {
      available: true,
      source: 'local.oplog.rs',
      firstAt: new Date(firstTs * 1000).toISOString(),
      lastAt: new Date(lastTs * 1000).toISOString(),
      seconds: lastTs - firstTs,
    };
  } catch (err) {
    return { available: false, reason: unavailableReason(err, 'reading local.oplog.rs') };
  }
}

function timestampSeconds(entry: Document | null): number | null {
  const ts = entry?.ts as { t?: unknown; high?: unknown } | undefined;
  if (typeof ts?.t === 'number') return ts.t;
  if (typeof ts?.high === 'number') return ts.high >>> 0;
  return null;
}

async function checkPrivileges(
  client: MongoClient,
  namespaces: readonly SourceNamespace[],
): Promise<PrivilegeCheck> {
  try {
    const status = await client.db('admin').command({ connectionStatus: 1, showPrivileges: true });
    if (!isAuthenticated(status)) {
      return {
        checked: false,
        reason: 'the connection is not authenticated (the server runs without access control)',
      };
    }
    return { checked: true, missing: missingPrivileges(status, requiredPrivileges(namespaces)) };
  } catch (err) {
    return { checked: false, reason: unavailableReason(err, 'connectionStatus') };
  }
}

async function checkCollections(client: MongoClient, namespaces: readonly SourceNamespace[]) {
  const byDb = new Map<string, Set<string>>();
  for (const db of new Set(namespaces.map((namespace) => namespace.db))) {
    const names = await client.db(db).listCollections({}, { nameOnly: true }).toArray();
    byDb.set(db, new Set(names.map((entry) => entry.name)));
  }
  return namespaces.map((namespace) => ({
    db: namespace.db,
    coll: namespace.coll,
    exists: byDb.get(namespace.db)?.has(namespace.coll) === true,
  }));
}

function unavailableReason(err: unknown, what: string): string {
  const code = (err as { code?: unknown }).code;
  if (code === 13) return `not authorised to run ${what} (grant clusterMonitor to see it)`;
  return redactText(`${what} failed: ${err instanceof Error ? err.message : String(err)}`);
}

function redactError<T extends Error>(err: T): T {
  err.message = redactText(err.message);
  return err;
}

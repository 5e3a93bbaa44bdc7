import { type Document, MongoClient, type MongoClientOptions } from 'mongodb';
import { classifySourceError } from '../../core/classify.js';
import { PipeError } from '../../core/errors.js';
import { hostsOfUri, redactText } from '../../core/redact.js';
import { pipeOplogWindow } from '../../core/shard-oplog.js';
import { StandaloneSourceError } from '../../core/source-errors.js';
import type {
  ChangeStreamFact,
  DocumentDbFact,
  MemberStatesFact,
  PrivilegesFact,
  SourceFacts,
} from '../../ports/preflight.js';
import type { SourceNamespace } from '../../ports/source.js';
import { readOplogWindow } from './oplog-window.js';
import {
  isAuthenticated,
  missingPrivileges,
  type RequiredPrivilege,
  requiredPrivileges,
} from './privileges.js';
import { readShardedCluster } from './shard-members.js';
import { readShardOplogWindows, type ShardOplogOptions } from './shard-oplog.js';
import { classifyDeployment, isDocumentDbHost, memberStatesFrom } from './topology.js';
import { unavailableReason } from './unavailable-reason.js';

export interface PreflightOptions {
  namespaces: readonly SourceNamespace[];
  /** Reuse a connected client (its URI is still needed for messages); else one is opened and closed. */
  client?: MongoClient;
  clientOptions?: MongoClientOptions;
  /**
   * The source host patterns the deployment allows (core/hosts.ts; empty: any). Through a mongos
   * the shards' hosts, which the cluster names, are held to them before each shard's oplog is read.
   */
  allowedHosts?: readonly string[];
}

/**
 * Reads what the pre-flight judges (functions/engines/preflight-source.ts) from a source, for
 * these collections. A standalone server is a fact here, not an error; a source that cannot be
 * reached or refuses the login throws the classified source error, credentials removed.
 */
export async function preflight(uri: string, options: PreflightOptions): Promise<SourceFacts> {
  const host = redactText(hostsOfUri(uri));
  const client =
    options.client ?? new MongoClient(uri, { serverSelectionTimeoutMS: 10_000, ...options.clientOptions });
  try {
    const shardReach = {
      uri,
      ...(options.clientOptions ? { clientOptions: options.clientOptions } : {}),
      ...(options.allowedHosts ? { allowedHosts: options.allowedHosts } : {}),
    };
    return await readFacts(client, host, options.namespaces, shardReach);
  } catch (err) {
    throw redactError(err instanceof PipeError ? err : classifySourceError(err));
  } finally {
    if (!options.client) await client.close().catch(() => undefined);
  }
}

async function readFacts(
  client: MongoClient,
  host: string,
  namespaces: readonly SourceNamespace[],
  shardReach: ShardOplogOptions,
): Promise<SourceFacts> {
  const admin = client.db('admin');
  const topology = topologyOf(await admin.command({ hello: 1 }), host);
  const buildInfo = await admin.command({ buildInfo: 1 });
  const documentDb = await readDocumentDb(client, host);
  const history =
    topology.kind === 'sharded'
      ? await readShardedHistory(client, shardReach)
      : { memberStates: await readMemberStates(client), oplogWindow: await readOplogWindow(client) };
  return {
    host,
    serverVersion: String(buildInfo.version),
    topology,
    ...history,
    privileges: await checkPrivileges(client, namespaces, { documentDb: documentDb !== undefined, topology }),
    changeStream: await openChangeStream(client, namespaces),
    collections: await checkCollections(client, namespaces),
    ...(documentDb ? { documentDb } : {}),
  };
}

/**
 * Through a mongos: the shards and their members as it sees them, and each shard's oplog window
 * read on the shard (a mongos has none); the pipe's window is the shortest shard's.
 */
async function readShardedHistory(
  client: MongoClient,
  shardReach: ShardOplogOptions,
): Promise<Pick<SourceFacts, 'memberStates' | 'shards' | 'oplogWindow' | 'shardOplogWindows'>> {
  const { memberStates, shards, listed } = await readShardedCluster(client);
  if (!Array.isArray(listed))
    return {
      memberStates,
      shards,
      oplogWindow: { available: false, reason: `the shards could not be listed: ${listed.reason}` },
    };
  // What the driver resolved for the pipe, a mongodb+srv TXT record's authSource included.
  const authSource = client.options.credentials?.source;
  const shardOplogWindows = await readShardOplogWindows(
    listed,
    authSource ? { ...shardReach, authSource } : shardReach,
  );
  return { memberStates, shards, oplogWindow: pipeOplogWindow(shardOplogWindows), shardOplogWindows };
}

/**
 * Amazon DocumentDB, and where its change streams are switched on. Its `hello` and `buildInfo`
 * read as a MongoDB replica set, so it is known by its endpoint names or by answering
 * `$listChangeStreams`, an aggregation stage only DocumentDB has (MongoDB refuses it with 40324,
 * unrecognised stage); the same stage lists the `modifyChangeStreams` switches.
 */
async function readDocumentDb(client: MongoClient, host: string): Promise<DocumentDbFact | undefined> {
  try {
    const listed = await client
      .db('admin')
      .aggregate([{ $listChangeStreams: 1 }])
      .toArray();
    return {
      changeStreams: listed.map((entry) => ({
        database: String(entry.database ?? ''),
        collection: String(entry.collection ?? ''),
      })),
    };
  } catch (err) {
    if (!isDocumentDbHost(host)) return undefined;
    return {
      changeStreams: null,
      reason: unavailableReason(err, '$listChangeStreams', 'a role allowed to run it'),
    };
  }
}

function topologyOf(hello: Document, host: string): SourceFacts['topology'] {
  try {
    const { kind, setName, primary } = classifyDeployment(hello, host);
    return { kind, setName, primary };
  } catch (err) {
    if (err instanceof StandaloneSourceError) return { kind: 'standalone', setName: null, primary: null };
    throw err;
  }
}

/**
 * Opens a change stream where the pipe's change reader would (the database when every mapped
 * collection is in one, else the cluster) and closes it: what a standalone server, a missing
 * privilege or a server without majority reads refuses, it refuses here too.
 */
async function openChangeStream(
  client: MongoClient,
  namespaces: readonly SourceNamespace[],
): Promise<ChangeStreamFact> {
  const databases = [...new Set(namespaces.map((namespace) => namespace.db))];
  const single = databases.length === 1 ? (databases[0] as string) : null;
  const scope = single === null ? 'the cluster' : `database ${single}`;
  const stage = single === null ? { $changeStream: { allChangesForCluster: true } } : { $changeStream: {} };
  const db = client.db(single ?? 'admin');
  try {
    const reply = await db.command({ aggregate: 1, pipeline: [stage], cursor: { batchSize: 0 } });
    const cursorId = (reply.cursor as Document | undefined)?.id;
    if (cursorId && String(cursorId) !== '0')
      await db.command({ killCursors: '$cmd.aggregate', cursors: [cursorId] }).catch(() => undefined);
    return { opened: true, scope };
  } catch (err) {
    return {
      opened: false,
      scope,
      reason: unavailableReason(err, 'opening a change stream', 'changeStream and find'),
    };
  }
}

async function readMemberStates(client: MongoClient): Promise<MemberStatesFact> {
  try {
    return {
      available: true,
      members: memberStatesFrom(await client.db('admin').command({ replSetGetStatus: 1 })),
    };
  } catch (err) {
    return { available: false, reason: unavailableReason(err, 'replSetGetStatus') };
  }
}

/**
 * The privileges a pipe's user needs on this source. Amazon DocumentDB has no `local.oplog.rs`
 * to grant (its history is the change stream log), and a mongos has no oplog of its own (each
 * shard's is read on the shard), so neither is asked for `local`.
 */
export function privilegesFor(
  namespaces: readonly SourceNamespace[],
  source: { documentDb: boolean; topology: SourceFacts['topology'] },
): RequiredPrivilege[] {
  const withoutOplog = source.documentDb || source.topology.kind === 'sharded';
  return requiredPrivileges(namespaces).filter((need) => !withoutOplog || need.db !== 'local');
}

/** A server that lists no privileges is not judged on them. */
async function checkPrivileges(
  client: MongoClient,
  namespaces: readonly SourceNamespace[],
  source: { documentDb: boolean; topology: SourceFacts['topology'] },
): Promise<PrivilegesFact> {
  try {
    const status = await client.db('admin').command({ connectionStatus: 1, showPrivileges: true });
    if (!isAuthenticated(status)) {
      return {
        checked: false,
        reason: 'the connection is not authenticated (the server runs without access control)',
      };
    }
    if (!Array.isArray((status.authInfo as Document | undefined)?.authenticatedUserPrivileges))
      return { checked: false, reason: 'the server does not list the privileges of the user' };
    return { checked: true, missing: missingPrivileges(status, privilegesFor(namespaces, source)) };
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

function redactError<T extends Error>(err: T): T {
  err.message = redactText(err.message);
  return err;
}

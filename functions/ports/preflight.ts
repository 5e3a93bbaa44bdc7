/**
 * What the pre-flight reads from a source and a destination (`POST /preflight`, and the create
 * machine's Provision step): facts only. The engines (functions/engines/preflight*.ts) judge
 * them; adapters read them. Every text is free of credentials.
 */
import type { ShardMembers } from '../core/shard-members.js';
import type { OplogWindow, ShardOplogWindow } from '../core/shard-oplog.js';
import type { TableRef } from './destination.js';
import type { SourceNamespace } from './source.js';

export type SourceTopologyKind = 'replicaSet' | 'sharded' | 'standalone';

export type MemberStatesFact =
  | { available: true; members: { name: string; state: string }[] }
  | { available: false; reason: string };

/**
 * Through a mongos: each shard's members as the mongos's replica set monitor sees them
 * (`connPoolStats`, action of `clusterMonitor`), the shards named by `listShards`. `note` says
 * what is partial (e.g. the shards could not be listed, so every monitored set is shown).
 */
export type ShardsFact =
  | { available: true; shards: ShardMembers[]; note: string | null }
  | { available: false; reason: string };

export type OplogWindowFact = OplogWindow;

export type PrivilegesFact = { checked: true; missing: string[] } | { checked: false; reason: string };

/** A change stream opened (and closed at once) at the scope the pipe would watch. */
export type ChangeStreamFact =
  | { opened: true; scope: string }
  | { opened: false; scope: string; reason: string };

/** One `modifyChangeStreams` switch of Amazon DocumentDB; '' stands for every database or collection. */
export interface ChangeStreamSwitch {
  database: string;
  collection: string;
}

/**
 * Amazon DocumentDB: change streams are off until `modifyChangeStreams` switches them on for a
 * collection, a database or the cluster. `changeStreams` is what `$listChangeStreams` lists,
 * null when it could not be read (`reason` says why).
 */
export type DocumentDbFact =
  | { changeStreams: ChangeStreamSwitch[] }
  | { changeStreams: null; reason: string };

export interface SourceFacts {
  /** The host list of the connection string, credentials removed. */
  host: string;
  serverVersion: string;
  topology: { kind: SourceTopologyKind; setName: string | null; primary: string | null };
  memberStates: MemberStatesFact;
  /** Present when the source is a mongos: its view of each shard's members. */
  shards?: ShardsFact;
  /** On a mongos, the pipe's window: the shortest shard's, unknown while any shard's is (core/shard-oplog.ts). */
  oplogWindow: OplogWindowFact;
  /**
   * Present when the source is a mongos whose shards were listed: each shard's window, read on a
   * short-lived connection to the shard's replica set with the pipe's own credentials.
   */
  shardOplogWindows?: ShardOplogWindow[];
  privileges: PrivilegesFact;
  changeStream: ChangeStreamFact;
  collections: { db: string; coll: string; exists: boolean }[];
  /** Present when the source is Amazon DocumentDB. */
  documentDb?: DocumentDbFact;
}

/** Rights on one database: the pipe creates, writes, reads and drops its tables there. */
export type DatabaseRightsFact =
  | { database: string; exists: boolean; checked: true; missing: string[] }
  | { database: string; exists: boolean; checked: false; reason: string };

export interface DestinationFacts {
  /** The ClickHouse HTTP endpoint, credentials removed. */
  endpoint: string;
  serverVersion: string;
  databases: DatabaseRightsFact[];
  /** The target tables that exist already. */
  existingTables: TableRef[];
}

export interface PreflightProbe {
  /**
   * Connects to the source a create request names (a connection string or a secret) and reads
   * its facts for these collections. Throws the named errors (core/errors.ts) when it cannot
   * connect: SourceUnavailableError, SourceFatalError, a secret or host-allowlist error.
   */
  source(source: unknown, namespaces: readonly SourceNamespace[]): Promise<SourceFacts>;
  /**
   * Connects to the destination record (or the deployment's default) and reads its facts for
   * these target tables. Throws the named errors when it cannot connect or log in.
   */
  destination(destination: unknown, tables: readonly TableRef[]): Promise<DestinationFacts>;
}

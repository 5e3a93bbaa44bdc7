/**
 * Through a mongos: each shard's oplog window, read on the shard's replica set itself (a mongos
 * has none), on a short-lived connection made with the pipe's own credentials and options
 * (core/shard-connection.ts). The shards are read in parallel and each within a time bound, so
 * a shard that cannot be reached or refuses the pipe's user costs the pre-flight seconds, not a
 * failure: its window is reported unknown with the reason. Every connection is closed.
 */
import { MongoClient, type MongoClientOptions } from 'mongodb';
import { hostAllowed } from '../../core/hosts.js';
import { type ShardHost, shardConnectionString, shardHosts } from '../../core/shard-connection.js';
import type { OplogWindow, ShardOplogWindow } from '../../core/shard-oplog.js';
import { briefMessage, withinDeadline } from './bounded.js';
import { readOplogEdges } from './oplog-window.js';
import type { ListedShard } from './shard-members.js';
import { unavailableReason } from './unavailable-reason.js';

/** How long one shard may take to find a member and, separately, to connect. */
export const SHARD_TIMEOUT_MS = 5_000;

export interface ShardOplogOptions {
  /** The pipe's connection string: the shards are reached with its credentials and options. */
  uri: string;
  /** The pipe's client options besides its string (TLS files…); the time limits here win. */
  clientOptions?: MongoClientOptions;
  timeoutMs?: number;
  /** Host patterns a source may be on (core/hosts.ts); a shard elsewhere is not connected to. Empty: any. */
  allowedHosts?: readonly string[];
  /**
   * The authSource the pipe's connected client resolved (`client.options.credentials.source`):
   * for a `mongodb+srv` string that includes what its DNS TXT record set (Atlas sets `admin`),
   * which the shard's `mongodb://` string would otherwise lose.
   */
  authSource?: string;
}

export function readShardOplogWindows(
  shards: readonly ListedShard[],
  options: ShardOplogOptions,
): Promise<ShardOplogWindow[]> {
  return Promise.all(
    shards.map(async (shard) => ({
      shard: shard.name,
      setName: shard.setName,
      window: await readShardWindow(shard, options),
    })),
  );
}

async function readShardWindow(shard: ListedShard, options: ShardOplogOptions): Promise<OplogWindow> {
  const made = shardClientFor(shard, options);
  if ('reason' in made) return { available: false, reason: made.reason };
  const { client, hosts } = made;
  const timeoutMs = options.timeoutMs ?? SHARD_TIMEOUT_MS;
  try {
    // Connected first: two reads starting the connection together see "Topology is closed" when it
    // fails, not the server selection error that says why.
    // Selecting a member, then connecting and two finds: each bounded by the driver, both by this.
    return await withinDeadline(
      client.connect().then(() => readOplogEdges(client)),
      2 * timeoutMs,
      () => new ShardDeadline(),
    );
  } catch (err) {
    return { available: false, reason: shardFailure(err, hosts, timeoutMs) };
  } finally {
    // Also ends an operation the deadline left waiting: close() closes checked-out connections.
    await client.close().catch(() => undefined);
  }
}

/**
 * A client (not connected) for one shard's replica set, or why none is made: a host entry that is
 * not `host[:port]`, a host outside the allowlist, a string the driver refuses. Only validated
 * hosts reach the string; the set name and the resolved authSource are options, not text.
 */
export function shardClientFor(
  shard: ListedShard,
  options: ShardOplogOptions,
): { client: MongoClient; hosts: string } | { reason: string } {
  const listed = shardHosts(shard.host);
  if ('refused' in listed) return { reason: listed.refused };
  const outside = new Set(
    listed.hosts.map((host) => host.name).filter((name) => !hostAllowed(name, options.allowedHosts ?? [])),
  );
  if (outside.size > 0)
    return { reason: `not connected: ${[...outside].join(', ')} not among the allowed source hosts` };
  const uri = shardConnectionString(options.uri, listed.hosts);
  if (uri === null) return { reason: "the shard's connection string could not be made from the pipe's" };
  const timeoutMs = options.timeoutMs ?? SHARD_TIMEOUT_MS;
  try {
    const client = new MongoClient(uri, {
      ...options.clientOptions,
      replicaSet: shard.setName,
      ...(options.authSource ? { authSource: options.authSource } : {}),
      serverSelectionTimeoutMS: timeoutMs,
      connectTimeoutMS: timeoutMs,
    });
    return { client, hosts: addresses(listed.hosts) };
  } catch (err) {
    // The driver parses the string in its constructor: a refusal there is this shard's reason.
    return {
      reason: `the shard's client could not be made from the pipe's settings: ${briefMessage(err)}`,
    };
  }
}

const addresses = (hosts: readonly ShardHost[]) => hosts.map((host) => host.address).join(',');

class ShardDeadline extends Error {}

const seconds = (ms: number) => `${ms / 1000} s`;

/** Why a shard's window is unknown, with what to do about it. */
export function shardFailure(err: unknown, hosts: string, timeoutMs: number): string {
  if (err instanceof ShardDeadline) return `no answer from ${hosts} within ${seconds(2 * timeoutMs)}`;
  const code = (err as { code?: unknown }).code;
  if (code === 18)
    return (
      "the shard refused the pipe's credentials (authentication failed): users made through mongos live on " +
      "the config servers, not on the shards; create the pipe's user on each shard too, with read on local"
    );
  if (code === 13)
    // The server's words too: from MongoDB 8.0 a shard also refuses direct operations it does not allow.
    return (
      `the pipe's user may not read local.oplog.rs on the shard (not authorised: ${briefMessage(err)}): ` +
      "grant the shard's own user read on local there"
    );
  if ((err as { name?: unknown }).name === 'MongoServerSelectionError')
    return `no member of ${hosts} reachable within ${seconds(timeoutMs)}: ${briefMessage(err)}`;
  return unavailableReason(err, 'reading local.oplog.rs on the shard');
}

/**
 * Through a mongos: the shards (`listShards`) and each shard's members as the mongos's replica
 * set monitor sees them (`connPoolStats.replicaSets`); both need `clusterMonitor`. A mongos has
 * no `replSetGetStatus`, and the pipe's user may not be able to reach the shards directly.
 */
import type { Document, MongoClient } from 'mongodb';
import { type MonitoredMember, monitoredState, type ShardMember } from '../../core/shard-members.js';
import type { MemberStatesFact, ShardsFact } from '../../ports/preflight.js';
import { unavailableReason } from './unavailable-reason.js';

/** One shard as `listShards` names it; `host` is `<setName>/<host:port>,…` for a replica set. */
export interface ListedShard {
  name: string;
  setName: string;
  host: string;
}

export function listedShardsFrom(reply: Document): ListedShard[] {
  const shards = Array.isArray(reply.shards) ? (reply.shards as Document[]) : [];
  return shards.map((shard) => {
    const host = String(shard.host);
    const slash = host.indexOf('/');
    return { name: String(shard._id), setName: slash > 0 ? host.slice(0, slash) : String(shard._id), host };
  });
}

/** Each monitored replica set's members; null when the reply has no `replicaSets` at all. */
export function monitoredSetsFrom(reply: Document): Map<string, ShardMember[]> | null {
  const sets = reply.replicaSets as Document | undefined;
  if (!sets || typeof sets !== 'object') return null;
  const monitored = new Map<string, ShardMember[]>();
  for (const [setName, set] of Object.entries(sets)) {
    const hosts = Array.isArray((set as Document)?.hosts) ? ((set as Document).hosts as Document[]) : [];
    monitored.set(
      setName,
      hosts.map((host) => ({ name: String(host.addr), state: monitoredState(asMonitored(host)) })),
    );
  }
  return monitored;
}

function asMonitored(host: Document): MonitoredMember {
  return {
    addr: String(host.addr),
    ok: host.ok === true,
    ismaster: host.ismaster === true,
    secondary: host.secondary === true,
    hidden: host.hidden === true,
  };
}

const NO_REPLICA_SETS =
  'connPoolStats reported no replica sets: the mongos has not monitored any shard yet (run it again once it has routed a read)';

/**
 * Joins the two replies: the listed shards with their sets' members, or, when the shards could
 * not be listed, every monitored set (the config servers' set may be among them).
 */
export function shardsFact(
  listed: ListedShard[] | { reason: string },
  monitored: Map<string, ShardMember[]> | null,
): ShardsFact {
  if (monitored === null || monitored.size === 0) return { available: false, reason: NO_REPLICA_SETS };
  if (!Array.isArray(listed)) {
    const shards = [...monitored].map(([setName, members]) => ({ shard: setName, setName, members }));
    const note = `the shards could not be listed (${listed.reason}): every replica set the mongos monitors is shown, the config servers' among them`;
    return { available: true, shards, note };
  }
  const shards = listed.map((shard) => ({
    shard: shard.name,
    setName: shard.setName,
    members: monitored.get(shard.setName) ?? [],
  }));
  return { available: true, shards, note: null };
}

/**
 * The shards in the members' place (`source.members`), each shard's members, and the shards as
 * listed (their hosts, for reading each shard's oplog there) or why they could not be.
 */
export async function readShardedCluster(client: MongoClient): Promise<{
  memberStates: MemberStatesFact;
  shards: ShardsFact;
  listed: ListedShard[] | { reason: string };
}> {
  const admin = client.db('admin');
  let listed: ListedShard[] | { reason: string };
  try {
    listed = listedShardsFrom(await admin.command({ listShards: 1 }));
  } catch (err) {
    listed = { reason: unavailableReason(err, 'listShards') };
  }
  let shards: ShardsFact;
  try {
    shards = shardsFact(listed, monitoredSetsFrom(await admin.command({ connPoolStats: 1 })));
  } catch (err) {
    shards = { available: false, reason: unavailableReason(err, 'connPoolStats') };
  }
  return { memberStates: memberStatesOf(listed), shards, listed };
}

function memberStatesOf(listed: ListedShard[] | { reason: string }): MemberStatesFact {
  if (!Array.isArray(listed))
    return {
      available: false,
      reason: `the source is a sharded cluster (mongos): member states are per shard; ${listed.reason}`,
    };
  return {
    available: true,
    members: listed.map((shard) => ({ name: `${shard.name} (${shard.host})`, state: 'SHARD' })),
  };
}

/**
 * What a mongos tells a `clusterMonitor` user about its shards. `listShards`: each shard's name
 * and `<setName>/<hosts>` (mongodb/mongo `src/mongo/s/commands/cluster_list_shards_cmd.cpp`;
 * `state: 1` once the shard is aware it is one).
 *
 * `connPoolStats` (action `connPoolStats`, in the `clusterMonitor` role): its
 * connection pools and, under `replicaSets`, its replica set monitor's view of each shard. Each
 * member is reported as the monitor sees it (mongodb/mongo
 * `src/mongo/client/streamable_replica_set_monitor.cpp`, `appendInfo`): `addr`; `ok` for a
 * primary or secondary (anything else it cannot use); `ismaster` for the primary; `secondary`;
 * `hidden` for an arbiter; `pingTimeMillis`, the int32 maximum when it has no round trip time.
 * Hidden members are not listed: the monitor learns members from `hello`, which leaves them out.
 * The simulator's shards are in process, so a reachable member's ping is 0 and the pools are
 * empty; it has no config servers, whose set a real mongos also lists.
 */
import type { Document } from 'bson';
import type { CommandHandler, MemberState } from '../contract.js';
import type { ShardLink } from './shard-link.js';

const UNKNOWN_PING_MS = 2_147_483_647;

function monitorView(host: string, state: MemberState): Document {
  const ok = state === 'PRIMARY' || state === 'SECONDARY';
  return {
    addr: host,
    ok,
    ismaster: state === 'PRIMARY',
    hidden: state === 'ARBITER',
    secondary: state === 'SECONDARY',
    pingTimeMillis: ok ? 0 : UNKNOWN_PING_MS,
  };
}

function shardView(shard: ShardLink): Document {
  const topology = shard.deployment.topology;
  const hosts = topology.config.members
    .filter((member) => !member.hidden)
    .map((member) => monitorView(member.host, topology.stateOf(member.host)));
  return { hosts };
}

export function connPoolStatsCommand(shards: readonly ShardLink[]): CommandHandler {
  return () => {
    const replicaSets: Document = {};
    for (const shard of shards) replicaSets[shard.name] = shardView(shard);
    return {
      numClientConnections: 0,
      numAScopedConnections: 0,
      totalInUse: 0,
      totalAvailable: 0,
      totalCreated: 0,
      totalRefreshing: 0,
      pools: {},
      hosts: {},
      replicaSets,
    };
  };
}

export function listShardsCommand(shards: readonly ShardLink[]): CommandHandler {
  return () => ({
    shards: shards.map((shard) => ({
      _id: shard.name,
      host: `${shard.name}/${shard.deployment.memberNames().join(',')}`,
      state: 1,
    })),
  });
}

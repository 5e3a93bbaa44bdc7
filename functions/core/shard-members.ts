/**
 * The members of each shard of a sharded cluster as its mongos sees them. A mongos reports its
 * replica set monitor's view of every shard in `connPoolStats.replicaSets` (`addr`, `ok`,
 * `ismaster`, `secondary`, `hidden` per member); it cannot tell a member that is down from one
 * that is up but unusable (RECOVERING, STARTUP2, ROLLBACK…): both are `ok: false`.
 */

/** One member as the mongos's monitor reports it. */
export interface MonitoredMember {
  addr: string;
  ok: boolean;
  ismaster: boolean;
  secondary: boolean;
  hidden: boolean;
}

/**
 * PRIMARY, SECONDARY, ARBITER (the monitor marks arbiters hidden and not ok), or NOT_OK: the
 * mongos cannot use it (down, unreachable, or in a state other than PRIMARY / SECONDARY).
 */
export type MonitoredState = 'PRIMARY' | 'SECONDARY' | 'ARBITER' | 'NOT_OK';

export interface ShardMember {
  name: string;
  state: MonitoredState;
}

export interface ShardMembers {
  /** The shard's name (`listShards` `_id`), or its replica set's when the shards are not listed. */
  shard: string;
  setName: string;
  members: ShardMember[];
}

export function monitoredState(member: MonitoredMember): MonitoredState {
  if (member.ok && member.ismaster) return 'PRIMARY';
  if (member.ok && member.secondary) return 'SECONDARY';
  if (member.hidden && !member.ok) return 'ARBITER';
  return 'NOT_OK';
}

/** What is wrong with one shard: no primary, members the mongos cannot use. Empty when healthy. */
export function shardTroubles(shard: ShardMembers): string[] {
  const troubles: string[] = [];
  if (!shard.members.some((member) => member.state === 'PRIMARY')) troubles.push('no primary');
  for (const member of shard.members) if (member.state === 'NOT_OK') troubles.push(`${member.name} not ok`);
  return troubles;
}

/** `shard0 (rs0): h1:27018 PRIMARY, h2:27018 SECONDARY` */
export function describeShard(shard: ShardMembers): string {
  const name = shard.shard === shard.setName ? shard.shard : `${shard.shard} (${shard.setName})`;
  const members = shard.members.map((member) => `${member.name} ${member.state}`).join(', ');
  return `${name}: ${members || 'no members reported'}`;
}

/** Every shard's troubles, each line naming its shard; empty when every shard is healthy. */
export function shardsTroubles(shards: readonly ShardMembers[]): string[] {
  return shards.flatMap((shard) => shardTroubles(shard).map((trouble) => `${shard.shard}: ${trouble}`));
}

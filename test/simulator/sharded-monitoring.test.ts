/**
 * What the simulator's mongos tells a monitoring user about its shards, through the real
 * driver: `listShards` names each shard and its replica set; `connPoolStats.replicaSets` is the
 * mongos's view of every shard's members, a stopped member `ok: false`.
 */
import { type Document, MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ShardedClusterHandle, startShardedCluster } from '../../simulator/index.js';

let cluster: ShardedClusterHandle;
let client: MongoClient;

beforeAll(async () => {
  cluster = await startShardedCluster({ shards: 2, membersPerShard: 3, mongos: 1, noopIntervalMs: 100 });
  client = new MongoClient(cluster.uri, { serverSelectionTimeoutMS: 5_000 });
  await client.connect();
});

afterAll(async () => {
  await client?.close();
  await cluster?.stop();
});

function hostsOf(stats: Document, setName: string): Document[] {
  return ((stats.replicaSets as Document)[setName] as Document).hosts as Document[];
}

describe('mongos monitoring commands', () => {
  it('lists the shards with their replica sets', async () => {
    const reply = await client.db('admin').command({ listShards: 1 });
    const members = cluster.shards[1]?.deployment.memberNames().join(',');
    expect(reply.shards).toEqual([
      expect.objectContaining({ _id: 'shard0', state: 1 }),
      { _id: 'shard1', host: `shard1/${members}`, state: 1 },
    ]);
  });

  it("reports each shard's members as it sees them: one primary, the others secondaries", async () => {
    const stats = await client.db('admin').command({ connPoolStats: 1 });
    expect(Object.keys(stats.replicaSets as Document)).toEqual(['shard0', 'shard1']);
    const shard0 = cluster.shards[0]?.deployment;
    const hosts = hostsOf(stats, 'shard0');
    expect(hosts.map((host) => host.addr)).toEqual(shard0?.memberNames());
    const primary = hosts.filter((host) => host.ismaster === true);
    expect(primary.map((host) => host.addr)).toEqual([shard0?.topology.primary]);
    expect(hosts.filter((host) => host.secondary === true && host.ok === true)).toHaveLength(2);
    expect(hosts.every((host) => host.hidden === false && host.pingTimeMillis === 0)).toBe(true);
  });

  it('shows a stopped member as not ok, with no round trip time', async () => {
    const topology = cluster.shards[1]?.deployment.topology;
    const stopped = topology?.hosts().find((host) => host !== topology.primary) as string;
    topology?.setState(stopped, 'DOWN');
    try {
      const stats = await client.db('admin').command({ connPoolStats: 1 });
      const member = hostsOf(stats, 'shard1').find((host) => host.addr === stopped);
      expect(member).toEqual({
        addr: stopped,
        ok: false,
        ismaster: false,
        hidden: false,
        secondary: false,
        pingTimeMillis: 2_147_483_647,
      });
    } finally {
      topology?.setState(stopped, 'SECONDARY');
    }
  });
});

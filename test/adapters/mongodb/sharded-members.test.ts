/**
 * The pre-flight and the pipe status through the simulator's mongos, with the real driver: each
 * shard's members as the mongos sees them (connPoolStats), the shards named by listShards, and
 * what the source.members check says when a member stops, a shard has no primary, or the role
 * may not run the commands.
 */
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { preflight } from '../../../functions/adapters/mongodb/preflight.js';
import {
  monitoredSetsFrom,
  readShardedCluster,
  shardsFact,
} from '../../../functions/adapters/mongodb/shard-members.js';
import { MongoSourceMonitor } from '../../../functions/adapters/mongodb/source-health.js';
import { sourceChecks } from '../../../functions/engines/preflight-source.js';
import type { SourceFacts } from '../../../functions/ports/preflight.js';
import { type ShardedClusterHandle, startShardedCluster } from '../../../simulator/index.js';

let cluster: ShardedClusterHandle;
let client: MongoClient;
const namespaces = [{ db: 'shop', coll: 'orders' }];

beforeAll(async () => {
  // A long election delay: a shard whose primary stops stays without one for the test.
  cluster = await startShardedCluster({
    shards: 2,
    membersPerShard: 3,
    noopIntervalMs: 100,
    electionDelayMs: 60_000,
  });
  client = new MongoClient(cluster.uri, { serverSelectionTimeoutMS: 5_000 });
  await client.connect();
  await client
    .db('shop')
    .collection('orders')
    .insertOne({ _id: 1 } as never);
});

afterAll(async () => {
  await client?.close();
  await cluster?.stop();
});

const membersCheck = (facts: SourceFacts) =>
  sourceChecks(facts).find((check) => check.id === 'source.members');

/** Makes the mongos answer `command` with Unauthorized (13) once. */
async function refuseOnce(command: string): Promise<void> {
  await client.db('admin').command({
    configureFailPoint: 'failCommand',
    mode: { times: 1 },
    data: { failCommands: [command], errorCode: 13 },
  });
}

describe('member states through a mongos', () => {
  it("reads every shard's members, one primary each, and passes", async () => {
    const facts = await preflight(cluster.uri, { namespaces, client });
    expect(facts.shards?.available).toBe(true);
    const shards = facts.shards?.available ? facts.shards.shards : [];
    expect(shards.map((shard) => shard.shard)).toEqual(['shard0', 'shard1']);
    for (const [index, shard] of shards.entries()) {
      const deployment = cluster.shards[index]?.deployment;
      expect(shard.members.map((member) => member.name)).toEqual(deployment?.memberNames());
      expect(
        shard.members.filter((member) => member.state === 'PRIMARY').map((member) => member.name),
      ).toEqual([deployment?.topology.primary]);
    }
    const check = membersCheck(facts);
    expect(check?.status).toBe('passed');
    expect(check?.message).toMatch(/^shard0: .+ PRIMARY.*; shard1: /);
  });

  it('says so when connPoolStats is refused (Unauthorized), the shards still listed', async () => {
    await refuseOnce('connPoolStats');
    const facts = await preflight(cluster.uri, { namespaces, client });
    expect(facts.shards).toEqual({
      available: false,
      reason: 'not authorised to run connPoolStats (grant clusterMonitor to see it)',
    });
    const check = membersCheck(facts);
    expect(check).toMatchObject({ status: 'warned' });
    expect(check?.message).toMatch(
      /^shards shard0 \(shard0\/.+\), shard1 .+; members of the shards unknown: not authorised/,
    );
    expect(check?.advice).toContain('clusterMonitor');
  });

  it('shows every monitored set, with a note, when listShards is refused', async () => {
    await refuseOnce('listShards');
    const facts = await preflight(cluster.uri, { namespaces, client });
    expect(facts.shards).toMatchObject({
      available: true,
      note: expect.stringContaining('could not be listed'),
    });
    expect(membersCheck(facts)?.status).toBe('warned');
  });

  it('warns when connPoolStats reports no replica sets', () => {
    const fact = shardsFact([], monitoredSetsFrom({ pools: {}, hosts: {}, ok: 1 }));
    expect(fact).toEqual({ available: false, reason: expect.stringContaining('no replica sets') });
  });

  it("gives the pipe status each shard's members, a stopped member NOT_OK", async () => {
    const topology = cluster.shards[0]?.deployment.topology;
    const stopped = topology?.hosts().find((host) => host !== topology.primary) as string;
    const watching = new MongoClient(cluster.uri, { serverSelectionTimeoutMS: 5_000 });
    // Built before connecting, so it sees the driver's first description of the deployment.
    const monitor = new MongoSourceMonitor(watching);
    topology?.setState(stopped, 'DOWN');
    try {
      await watching.connect();
      const health = await monitor.health();
      expect(health.kind).toBe('sharded');
      expect(health.shards?.map((shard) => shard.shard)).toEqual(['shard0', 'shard1']);
      const shard0 = health.shards?.[0]?.members ?? [];
      expect(shard0.find((member) => member.name === stopped)?.state).toBe('NOT_OK');
      expect(shard0.filter((member) => member.state === 'PRIMARY')).toHaveLength(1);
      expect(health.note).toContain('connPoolStats');
      await refuseOnce('connPoolStats');
      const refused = await monitor.health();
      expect(refused.shards).toBeUndefined();
      expect(refused.note).toMatch(/not authorised to run connPoolStats/);
    } finally {
      topology?.setState(stopped, 'SECONDARY');
      await watching.close();
    }
  });

  it('shows a stopped member as not ok, then a shard without a primary', async () => {
    const topology = cluster.shards[1]?.deployment.topology;
    const secondary = topology?.hosts().find((host) => host !== topology.primary) as string;
    topology?.setState(secondary, 'DOWN');
    const facts = await preflight(cluster.uri, { namespaces, client });
    const oneDown = membersCheck(facts);
    expect(oneDown?.status).toBe('warned');
    expect(oneDown?.message).toMatch(new RegExp(`^shard1: ${secondary} not ok; `));
    expect(oneDown?.message).toContain(`${secondary} NOT_OK`);
    topology?.setState(topology.primary as string, 'DOWN');
    // Only the members are read again: the rest of the pre-flight would wait for shard1's primary.
    const noPrimary = membersCheck({ ...facts, ...(await readShardedCluster(client)) });
    expect(noPrimary?.message).toMatch(/^shard1: no primary; /);
    expect(noPrimary?.advice).toContain('without a primary');
  });
});

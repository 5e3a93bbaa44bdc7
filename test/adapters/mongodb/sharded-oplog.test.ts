/**
 * Each shard's oplog window through the simulator's mongos, with the real driver: read on a
 * short-lived connection to each shard's replica set made from the pipe's own connection string,
 * the shortest reported as the pipe's; a shard whose members are all stopped, an unreachable
 * host, a host outside the allowlist or a user refused on the shard is a per-shard reason within
 * the bound, never a failure; every connection closed.
 */
import { createServer } from 'node:net';
import { Timestamp } from 'bson';
import { MongoClient, MongoServerError } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readOplogEdges } from '../../../functions/adapters/mongodb/oplog-window.js';
import { preflight } from '../../../functions/adapters/mongodb/preflight.js';
import { readShardedCluster } from '../../../functions/adapters/mongodb/shard-members.js';
import {
  readShardOplogWindows,
  shardClientFor,
  shardFailure,
} from '../../../functions/adapters/mongodb/shard-oplog.js';
import { pipeOplogWindow } from '../../../functions/core/shard-oplog.js';
import { refuseUnusableSource, sourceChecks } from '../../../functions/engines/preflight-source.js';
import type { SourceFacts } from '../../../functions/ports/preflight.js';
import { type ShardedClusterHandle, startShardedCluster } from '../../../simulator/index.js';

let cluster: ShardedClusterHandle;
let client: MongoClient;
const namespaces = [{ db: 'shop', coll: 'orders' }];

beforeAll(async () => {
  cluster = await startShardedCluster({ shards: 2, membersPerShard: 3, noopIntervalMs: 100 });
  client = new MongoClient(cluster.uri, { serverSelectionTimeoutMS: 5_000 });
  await client.connect();
  await client
    .db('shop')
    .collection('orders')
    .insertMany([{ _id: 1 }, { _id: 2 }, { _id: 3 }, { _id: 4 }] as never[]);
  // Windows are whole seconds: wait past two, then cut shard1's oplog to now, so it is the shorter.
  await new Promise((resolve) => setTimeout(resolve, 2_100));
  const shard1 = cluster.shards[1]?.deployment;
  shard1?.oplog.truncateBefore(new Timestamp({ t: Math.floor(Date.now() / 1000), i: 0 }));
  // Cut at the start of a second, the oplog may be empty until the next no-op (100 ms, later on
  // a loaded machine): the window must have an entry to read.
  for (let wait = 0; wait < 50 && shard1?.oplog.size === 0; wait += 1) await shard1.oplog.waitForAppend(200);
}, 30_000);

afterAll(async () => {
  await client?.close();
  await cluster?.stop();
});

const oplogCheck = (facts: SourceFacts) => sourceChecks(facts).find((check) => check.id === 'source.oplog');

async function listedShards() {
  const { listed } = await readShardedCluster(client);
  if (!Array.isArray(listed)) throw new Error(`listShards: ${listed.reason}`);
  return listed;
}

/** The connections open on every member of every shard. */
const shardConnections = () =>
  cluster.shards.flatMap((shard) =>
    shard.deployment.memberNames().map((name) => shard.deployment.listener(name).connectionCount),
  );

/**
 * The counts once every connection closed, or as they are after 3 s. Nothing else connects to
 * the shards directly: the simulator's mongos reaches them in process.
 */
async function settledConnections(): Promise<number[]> {
  const deadline = Date.now() + 3_000;
  while (Date.now() < deadline && shardConnections().some((count) => count > 0))
    await new Promise((resolve) => setTimeout(resolve, 50));
  return shardConnections();
}

describe("each shard's oplog window through a mongos", () => {
  it("serves local.oplog.rs on a direct connection to a shard's replica set", async () => {
    const direct = new MongoClient(cluster.shards[0]?.uri as string, { serverSelectionTimeoutMS: 5_000 });
    try {
      expect(await readOplogEdges(direct)).toMatchObject({ available: true });
    } finally {
      await direct.close();
    }
  });

  it("reads every shard's window and reports the shortest as the pipe's, closing its connections", async () => {
    const facts = await preflight(cluster.uri, { namespaces, client });
    const windows = facts.shardOplogWindows ?? [];
    expect(windows.map((shard) => shard.shard)).toEqual(['shard0', 'shard1']);
    const [shard0, shard1] = windows.map((shard) => shard.window);
    if (!shard0?.available || !shard1?.available) throw new Error(`not read: ${JSON.stringify(windows)}`);
    expect(shard0.seconds).toBeGreaterThanOrEqual(2);
    expect(shard1.seconds).toBeLessThan(shard0.seconds);
    expect(facts.oplogWindow).toEqual(shard1);
    const check = oplogCheck(facts);
    expect(check?.status).toBe('warned'); // seconds, not an hour
    expect(check?.message).toMatch(
      /^the pipe's window is the shortest shard's: shard1's oplog covers \d+ s \(/,
    );
    expect(check?.message).toContain(`shard0 covers ${shard0.seconds} s; shard1 covers ${shard1.seconds} s`);
    expect(check?.advice).toContain('on every shard');
    expect(await settledConnections()).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('gives a shard whose members are all stopped a reason within the bound; the check warns and Provision goes on', async () => {
    // The rest of the pre-flight is read while the shard is up: with none of its members, the
    // mongos cannot open the change stream either (source.changeStream would fail, rightly).
    const healthy = await preflight(cluster.uri, { namespaces, client });
    const listed = await listedShards();
    const topology = cluster.shards[1]?.deployment.topology;
    const primary = topology?.primary as string;
    const hosts = topology?.hosts() ?? [];
    for (const host of hosts) topology?.setState(host, 'DOWN');
    try {
      const started = Date.now();
      const windows = await readShardOplogWindows(listed, { uri: cluster.uri, timeoutMs: 1_000 });
      // Twice the bound plus room for a loaded machine; unbounded, server selection takes 30 s.
      expect(Date.now() - started).toBeLessThan(2 * 1_000 + 1_500);
      expect(windows[0]?.window.available).toBe(true);
      expect(windows[1]?.window).toEqual({
        available: false,
        reason: expect.stringMatching(/^no member of 127\.0\.0\.1:\d+,.+ reachable within 1 s: /),
      });
      const stopped = { ...healthy, shardOplogWindows: windows, oplogWindow: pipeOplogWindow(windows) };
      expect(stopped.oplogWindow).toMatchObject({
        available: false,
        reason: expect.stringMatching(/^shard1: no member/),
      });
      const check = oplogCheck(stopped);
      expect(check?.status).toBe('warned');
      expect(check?.message).toMatch(
        /^a mongos has no oplog: .+ the shortest shard's; it is at most \d+ s \(shard0, the shortest read\); shard0 covers \d+ s; shard1 unknown: no member of /,
      );
      expect(check?.advice).toContain('rs.printReplicationInfo()');
      expect(() => refuseUnusableSource(stopped)).not.toThrow();
    } finally {
      for (const host of hosts) topology?.setState(host, 'SECONDARY');
      topology?.elect(primary);
    }
  }, 20_000);

  it('gives an unreachable host its reason within the bound', async () => {
    const port = await closedPort();
    const started = Date.now();
    const [gone] = await readShardOplogWindows(
      [{ name: 'shard9', setName: 'shard9', host: `shard9/127.0.0.1:${port}` }],
      { uri: cluster.uri, timeoutMs: 1_000 },
    );
    // Twice the bound plus room for a loaded machine; unbounded, server selection takes 30 s.
    expect(Date.now() - started).toBeLessThan(2 * 1_000 + 1_500);
    expect(gone?.window).toMatchObject({
      available: false,
      reason: expect.stringContaining(`127.0.0.1:${port} reachable within 1 s`),
    });
  });

  it('does not connect to shard hosts outside the allowed source hosts', async () => {
    const facts = await preflight(cluster.uri, { namespaces, client, allowedHosts: ['*.example.com'] });
    expect(facts.shardOplogWindows?.map((shard) => shard.window)).toEqual([
      { available: false, reason: 'not connected: 127.0.0.1 not among the allowed source hosts' },
      { available: false, reason: 'not connected: 127.0.0.1 not among the allowed source hosts' },
    ]);
    expect(oplogCheck(facts)).toMatchObject({
      status: 'warned',
      message: expect.stringContaining('shard0 unknown: not connected:'),
    });
    expect(await settledConnections()).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('refuses a listed host entry carrying URI options, even on an allowed host, and connects to nothing', async () => {
    const [shard0, shard1] = await listedShards();
    if (!shard0 || !shard1) throw new Error('two shards listed');
    // On driver 7.9 these options would parse: PLAIN sends the pipe's password in clear.
    const injected = { ...shard0, host: `${shard0.host}/?authMechanism=PLAIN&authSource=$external&appName=` };
    const windows = await readShardOplogWindows([injected, shard1], {
      uri: cluster.uri,
      allowedHosts: ['127.0.0.1'],
      timeoutMs: 1_000,
    });
    expect(windows[0]?.window).toEqual({
      available: false,
      reason: expect.stringMatching(
        /^not connected: listShards names a host that is not host\[:port\] \("127\.0\.0\.1:\d+\/\?authMechanism=PLAIN/,
      ),
    });
    expect(windows[1]?.window.available).toBe(true);
    expect(await settledConnections()).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('gives a per-shard reason when the driver refuses to make the shard client, the others still read', async () => {
    const listed = await listedShards();
    // PLAIN without a user name: the driver's constructor throws on it.
    const windows = await readShardOplogWindows(listed, {
      uri: `${cluster.uri}?authMechanism=PLAIN`,
      timeoutMs: 1_000,
    });
    expect(windows.map((shard) => shard.window)).toEqual([
      {
        available: false,
        reason: expect.stringMatching(/^the shard's client could not be made from the pipe's settings: /),
      },
      {
        available: false,
        reason: expect.stringMatching(/^the shard's client could not be made from the pipe's settings: /),
      },
    ]);
  });

  it("authenticates on the shard where the pipe's client resolved its authSource (a mongodb+srv TXT record's)", async () => {
    const shard = { name: 'shard0', setName: 'rs 0', host: 'rs 0/h1.example.net:27017,h2.example.net:27017' };
    const made = shardClientFor(shard, {
      uri: 'mongodb+srv://u:p@cluster.example.net/mydb',
      authSource: 'admin',
    });
    if ('reason' in made) throw new Error(made.reason);
    try {
      const resolved = made.client.options;
      expect(resolved.credentials?.source).toBe('admin');
      expect(resolved.credentials?.username).toBe('u');
      expect(resolved.dbName).toBe('mydb');
      expect(resolved.replicaSet).toBe('rs 0');
      expect(resolved.tls).toBe(true);
      expect(resolved.hosts.map(String)).toEqual(['h1.example.net:27017', 'h2.example.net:27017']);
    } finally {
      await made.client.close();
    }
    // Without a resolved one, the driver's own default for a mongodb:// string: the path's database.
    const unresolved = shardClientFor(shard, { uri: 'mongodb+srv://u:p@cluster.example.net/mydb' });
    if ('reason' in unresolved) throw new Error(unresolved.reason);
    expect(unresolved.client.options.credentials?.source).toBe('mydb');
    await unresolved.client.close();
  });

  it("says so per shard when the shard refuses the pipe's user to read its oplog", async () => {
    const shard = cluster.shards[0]?.deployment;
    const members = shard?.memberNames() ?? [];
    for (const member of members)
      shard?.failPoints(member).configure('failCommand', 'alwaysOn', {
        failCommands: ['find'],
        namespace: 'local.oplog.rs',
        errorCode: 13,
      });
    try {
      const facts = await preflight(cluster.uri, { namespaces, client });
      expect(facts.shardOplogWindows?.[0]?.window).toEqual({
        available: false,
        reason: expect.stringMatching(
          /^the pipe's user may not read local\.oplog\.rs on the shard \(not authorised: Failing command via 'failCommand' failpoint\): grant the shard's own user read on local/,
        ),
      });
      expect(facts.shardOplogWindows?.[1]?.window.available).toBe(true);
      expect(facts.oplogWindow).toMatchObject({
        available: false,
        reason: expect.stringMatching(/^shard0: /),
      });
      expect(oplogCheck(facts)?.status).toBe('warned');
    } finally {
      for (const member of members) shard?.failPoints(member).configure('failCommand', 'off');
    }
  });

  it('names a failed login on the shard as the shard-local user it is', () => {
    const refused = new MongoServerError({ ok: 0, code: 18, errmsg: 'Authentication failed.' });
    expect(shardFailure(refused, 'h1:27018', 5_000)).toMatch(
      /authentication failed.+create the pipe's user on each shard/,
    );
  });
});

/** A loopback port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

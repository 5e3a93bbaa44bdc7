import {
  MongoClient,
  type ServerHeartbeatSucceededEvent,
  type TopologyDescriptionChangedEvent,
} from 'mongodb';
import { afterEach, describe, expect, it } from 'vitest';
import { type ReplicaSetHandle, startReplicaSet } from '../../../simulator/index.js';

const opened: Array<{ close(): Promise<void> }> = [];

async function startSet(options: Parameters<typeof startReplicaSet>[0] = {}): Promise<ReplicaSetHandle> {
  const replicaSet = await startReplicaSet({ noopIntervalMs: 0, ...options });
  opened.push({ close: () => replicaSet.stop() });
  return replicaSet;
}

function client(uri: string, options: ConstructorParameters<typeof MongoClient>[1] = {}): MongoClient {
  const mongoClient = new MongoClient(uri, { serverSelectionTimeoutMS: 5000, ...options });
  opened.unshift({ close: () => mongoClient.close() });
  return mongoClient;
}

/** Resolves with the first topology description that satisfies `predicate` (bounded). */
function waitForTopology(
  mongoClient: MongoClient,
  predicate: (event: TopologyDescriptionChangedEvent) => boolean,
  timeoutMs = 20_000,
): Promise<TopologyDescriptionChangedEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      mongoClient.off('topologyDescriptionChanged', listener);
      reject(new Error('topology condition not reached'));
    }, timeoutMs);
    const listener = (event: TopologyDescriptionChangedEvent) => {
      if (!predicate(event)) return;
      clearTimeout(timer);
      mongoClient.off('topologyDescriptionChanged', listener);
      resolve(event);
    };
    mongoClient.on('topologyDescriptionChanged', listener);
  });
}

function primaryOf(event: TopologyDescriptionChangedEvent): string | undefined {
  for (const [address, server] of event.newDescription.servers)
    if (server.type === 'RSPrimary') return address;
  return undefined;
}

afterEach(async () => {
  for (const item of opened.splice(0)) await item.close();
});

describe('driver discovery', () => {
  it('handshakes, pings and discovers a 3-member set with its primary', async () => {
    const replicaSet = await startSet();
    const mongoClient = client(replicaSet.uri);
    const discovered = waitForTopology(
      mongoClient,
      (event) =>
        event.newDescription.type === 'ReplicaSetWithPrimary' &&
        [...event.newDescription.servers.values()].filter((server) => server.type === 'RSSecondary')
          .length === 2,
    );
    await mongoClient.connect();
    const ping = await mongoClient.db('admin').command({ ping: 1 });
    expect(ping.ok).toBe(1);
    const event = await discovered;
    expect(primaryOf(event)).toBe(replicaSet.primary);
    expect(event.newDescription.setName).toBe('rs0');
    const hello = await mongoClient.db('admin').command({ hello: 1 });
    expect(hello).toMatchObject({
      isWritablePrimary: true,
      setName: 'rs0',
      maxWireVersion: 21,
      me: replicaSet.primary,
    });
    expect(hello.hosts).toEqual(replicaSet.members.map((member) => member.name));
    expect(hello.electionId.toHexString()).toBe('7fffffff0000000000000001');
  });

  it('reports member states through replSetGetStatus', async () => {
    const replicaSet = await startSet();
    const [, second, third] = replicaSet.members;
    replicaSet.setMemberState(second!.name, 'RECOVERING');
    replicaSet.setMemberState(third!.name, 'ROLLBACK');
    const mongoClient = client(replicaSet.uri);
    const status = await mongoClient.db('admin').command({ replSetGetStatus: 1 });
    expect(status.members.map((member: { stateStr: string }) => member.stateStr)).toEqual([
      'PRIMARY',
      'RECOVERING',
      'ROLLBACK',
    ]);
    expect(status.members.map((member: { state: number }) => member.state)).toEqual([1, 3, 9]);
    expect(status.members[0].electionTime).toBeDefined();
  });

  it('streams hello so the monitor finds the new primary after a step-down without polling', async () => {
    const replicaSet = await startSet({ electionDelayMs: 50 });
    // A heartbeat interval far beyond the test timeout: only streamed hellos can report the change.
    const mongoClient = client(replicaSet.uri, { heartbeatFrequencyMS: 600_000 });
    const awaited: ServerHeartbeatSucceededEvent[] = [];
    mongoClient.on('serverHeartbeatSucceeded', (event) => {
      if (event.awaited) awaited.push(event);
    });
    await mongoClient.connect();
    await mongoClient.db('admin').command({ ping: 1 });
    const oldPrimary = replicaSet.primary!;
    const newPrimaryFound = waitForTopology(mongoClient, (event) => {
      const primary = primaryOf(event);
      return primary !== undefined && primary !== oldPrimary;
    });
    await mongoClient.db('admin').command({ replSetStepDown: 30 });
    const event = await newPrimaryFound;
    expect(primaryOf(event)).toBe(replicaSet.primary);
    expect(awaited.length).toBeGreaterThan(0);
    const hello = await mongoClient.db('admin').command({ hello: 1 });
    expect(hello.electionId.toHexString()).toBe('7fffffff0000000000000002');
  });

  it('refuses replSetStepDown on a secondary and outside the admin database', async () => {
    const replicaSet = await startSet();
    const secondary = replicaSet.members.find((member) => member.state === 'SECONDARY')!;
    const direct = client(`mongodb://${secondary.name}/?directConnection=true`);
    await expect(direct.db('admin').command({ replSetStepDown: 10 })).rejects.toMatchObject({ code: 10107 });
    await expect(direct.db('test').command({ replSetGetStatus: 1 })).rejects.toMatchObject({ code: 13 });
  });

  it('drops connections to a DOWN member and elects another primary', async () => {
    const replicaSet = await startSet({ electionDelayMs: 20 });
    const mongoClient = client(replicaSet.uri, { heartbeatFrequencyMS: 600_000 });
    await mongoClient.connect();
    const oldPrimary = replicaSet.primary!;
    const newPrimaryFound = waitForTopology(mongoClient, (event) => {
      const primary = primaryOf(event);
      return primary !== undefined && primary !== oldPrimary;
    });
    replicaSet.setMemberState(oldPrimary, 'DOWN');
    await newPrimaryFound;
    expect(replicaSet.primary).not.toBe(oldPrimary);
    const ping = await mongoClient.db('admin').command({ ping: 1 });
    expect(ping.ok).toBe(1);
    expect(replicaSet.deployment.listener(oldPrimary).connectionCount).toBe(0);
  });

  it('discovers an arbiter that holds no data and a STARTUP member as a ghost', async () => {
    const replicaSet = await startSet({ memberOptions: [{}, {}, { arbiterOnly: true }] });
    const [, second, arbiter] = replicaSet.members;
    expect(arbiter!.state).toBe('ARBITER');
    replicaSet.setMemberState(second!.name, 'STARTUP');
    const mongoClient = client(replicaSet.uri);
    const discovered = waitForTopology(mongoClient, (event) => {
      const types = [...event.newDescription.servers.values()].map((server) => server.type);
      return types.includes('RSArbiter') && types.includes('RSGhost') && types.includes('RSPrimary');
    });
    await mongoClient.connect();
    await discovered;
    const hello = await mongoClient.db('admin').command({ hello: 1 });
    expect(hello.arbiters).toEqual([arbiter!.name]);
    expect(hello.hosts).toEqual([replicaSet.members[0]!.name, second!.name]);
    const direct = client(`mongodb://${arbiter!.name}/?directConnection=true`);
    await expect(direct.db('app').collection('items').findOne({})).rejects.toMatchObject({ code: 13436 });
    expect((await direct.db('admin').command({ hello: 1 })).arbiterOnly).toBe(true);
  });
});

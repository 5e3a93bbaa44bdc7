import { MongoClient, type TopologyDescription } from 'mongodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  driverReading,
  MongoSourceMonitor,
  trackTopology,
} from '../../../functions/adapters/mongodb/source-health.js';
import type { SourceHealth } from '../../../functions/ports/source.js';
import { type ReplicaSetHandle, startReplicaSet } from '../../../simulator/index.js';

const NOT_AUTHORISED = 'not authorised to run replSetGetStatus (grant clusterMonitor to see member states)';

/** A simulator set on 127.0.0.1 and a tracked client (tracked before it connects, as runtime.ts does). */
async function startTracked(
  options: Parameters<typeof startReplicaSet>[0],
  clientOptions: ConstructorParameters<typeof MongoClient>[1],
): Promise<{ rs: ReplicaSetHandle; client: MongoClient }> {
  const rs = await startReplicaSet({ noopIntervalMs: 0, ...options });
  const client = new MongoClient(rs.uri, clientOptions);
  trackTopology(client);
  try {
    await client.connect();
  } catch (err) {
    await rs.stop();
    throw err;
  }
  return { rs, client };
}

/** Reads until `ok` holds or `timeoutMs` passes (bounded), and returns the last reading. */
async function readUntil(
  monitor: MongoSourceMonitor,
  ok: (health: SourceHealth) => boolean,
  timeoutMs = 8_000,
): Promise<SourceHealth> {
  const deadline = Date.now() + timeoutMs;
  let health = await monitor.health();
  while (!ok(health) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    health = await monitor.health();
  }
  return health;
}

/** Resolves when the driver reports a topology of `type` (bounded). */
function driverSees(client: MongoClient, type: string, timeoutMs = 5_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const listener = (event: { newDescription: TopologyDescription }) => {
      if (event.newDescription.type !== type) return;
      clearTimeout(timer);
      client.off('topologyDescriptionChanged', listener);
      resolve();
    };
    const timer = setTimeout(() => {
      client.off('topologyDescriptionChanged', listener);
      reject(new Error(`the driver did not report ${type} within ${timeoutMs} ms`));
    }, timeoutMs);
    client.on('topologyDescriptionChanged', listener);
  });
}

const stateOf = (health: SourceHealth, name: string | undefined) =>
  health.members.find((member) => member.name === name)?.state;
const states = (health: SourceHealth) => health.members.map((member) => member.state).sort();

describe('MongoSourceMonitor on a 3-member set', () => {
  let rs: ReplicaSetHandle;
  let client: MongoClient;

  beforeAll(async () => {
    // A long election delay leaves a window with no primary after a step-down; fast heartbeats
    // let the driver see a member come back between tests.
    ({ rs, client } = await startTracked(
      { electionDelayMs: 2_000 },
      { serverSelectionTimeoutMS: 5_000, heartbeatFrequencyMS: 500 },
    ));
  }, 60_000);

  afterAll(async () => {
    await client?.close().catch(() => undefined);
    await rs?.stop();
  });

  afterEach(async () => {
    for (const member of rs.members) {
      rs.failPoints(member.name).configure('failCommand', 'off');
      if (member.state !== 'PRIMARY' && member.state !== 'SECONDARY')
        rs.setMemberState(member.name, 'SECONDARY');
    }
    await rs.waitForPrimary(10_000);
  });

  it('reads one PRIMARY and two SECONDARY members from replSetGetStatus', async () => {
    const health = await new MongoSourceMonitor(client, { now: () => 1_700_000_000_000 }).health();
    expect(health).toMatchObject({
      checkedAt: 1_700_000_000_000,
      kind: 'replicaSet',
      setName: rs.setName,
      primary: rs.primary,
      membersFrom: 'replSetGetStatus',
      note: null,
    });
    expect(health.members.map((member) => member.name).sort()).toEqual(
      rs.members.map((member) => member.name).sort(),
    );
    expect(states(health)).toEqual(['PRIMARY', 'SECONDARY', 'SECONDARY']);
    expect(stateOf(health, rs.primary)).toBe('PRIMARY');
    expect(health.members.every((member) => member.health === 1)).toBe(true);
  });

  it('shows a member put in RECOVERING, ROLLBACK or DOWN under that name', async () => {
    const monitor = new MongoSourceMonitor(client);
    const [first, second] = rs.members.filter((member) => member.state === 'SECONDARY').map((m) => m.name);
    rs.setMemberState(first as string, 'RECOVERING');
    rs.setMemberState(second as string, 'ROLLBACK');
    const lagging = await monitor.health();
    expect(lagging.membersFrom).toBe('replSetGetStatus');
    expect(stateOf(lagging, first)).toBe('RECOVERING');
    expect(stateOf(lagging, second)).toBe('ROLLBACK');
    expect(stateOf(lagging, rs.primary)).toBe('PRIMARY');

    rs.setMemberState(first as string, 'SECONDARY');
    rs.setMemberState(second as string, 'DOWN');
    const down = await monitor.health();
    // The server's stateStr for state 8 is "(not reachable/healthy)"; the reading names it DOWN.
    expect(down.members.find((member) => member.name === second)).toEqual({
      name: second,
      state: 'DOWN',
      health: 0,
    });
    expect(stateOf(down, first)).toBe('SECONDARY');
    expect(down.primary).toBe(rs.primary);
  });

  it('follows a step-down: no primary during the election, then the new one', async () => {
    const monitor = new MongoSourceMonitor(client);
    const before = rs.primary;
    expect((await monitor.health()).primary).toBe(before);
    const noPrimarySeen = driverSees(client, 'ReplicaSetNoPrimary');
    rs.stepDown({ stepDownSecs: 60 });
    // Once the driver knows there is no primary, only a non-primary read preference gets an answer
    // before the election (a primary-only reading would wait for the new primary).
    await noPrimarySeen;
    const electing = await monitor.health();
    expect(rs.primary).toBeUndefined(); // the reading was taken inside the election window
    expect(electing).toMatchObject({ kind: 'replicaSet', primary: null, membersFrom: 'replSetGetStatus' });
    expect(states(electing)).toEqual(['SECONDARY', 'SECONDARY', 'SECONDARY']);

    const after = await rs.waitForPrimary(10_000);
    expect(after).not.toBe(before);
    const elected = await monitor.health();
    expect(elected.primary).toBe(after);
    expect(stateOf(elected, after)).toBe('PRIMARY');
    expect(stateOf(elected, before)).toBe('SECONDARY');
  });

  it('falls back to the driver view when replSetGetStatus is not authorised (13)', async () => {
    // The simulator has no access control; every member refuses replSetGetStatus with 13
    // Unauthorized, as a real server does for a user without clusterMonitor.
    for (const member of rs.members) {
      rs.failPoints(member.name).configure('failCommand', 'alwaysOn', {
        failCommands: ['replSetGetStatus'],
        errorCode: 13,
      });
    }
    const monitor = new MongoSourceMonitor(client, { now: () => 42 });
    const primary = rs.primary;
    const health = await readUntil(
      monitor,
      (reading) => reading.primary === primary && states(reading).join() === 'PRIMARY,SECONDARY,SECONDARY',
    );
    expect(health).toMatchObject({
      checkedAt: 42,
      kind: 'replicaSet',
      setName: rs.setName,
      primary,
      membersFrom: 'driver',
      note: NOT_AUTHORISED,
    });
    expect(health.note).toContain('clusterMonitor');
    expect(states(health)).toEqual(['PRIMARY', 'SECONDARY', 'SECONDARY']);
    expect(health.members.map((member) => member.name).sort()).toEqual(
      rs.members.map((member) => member.name).sort(),
    );
    expect(health.members.every((member) => member.health === null)).toBe(true);

    // A member that drops its connections becomes Unknown-with-error for the driver: DOWN.
    const lost = rs.members.find((member) => member.state === 'SECONDARY')?.name;
    rs.setMemberState(lost as string, 'DOWN');
    const down = await readUntil(monitor, (reading) => stateOf(reading, lost) === 'DOWN');
    expect(down.membersFrom).toBe('driver');
    expect(stateOf(down, lost)).toBe('DOWN');
    expect(stateOf(down, primary)).toBe('PRIMARY');
  });
});

describe('MongoSourceMonitor when the source is gone', () => {
  it('resolves with a note, within the server selection timeout, once the servers stopped', async () => {
    const { rs, client } = await startTracked({ members: 1 }, { serverSelectionTimeoutMS: 300 });
    try {
      const monitor = new MongoSourceMonitor(client);
      expect((await monitor.health()).membersFrom).toBe('replSetGetStatus');
      await rs.stop();
      const started = Date.now();
      const health = await monitor.health();
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(health.membersFrom).toBe('driver');
      expect(health.note).toMatch(/^replSetGetStatus failed: /);
      expect(health.primary).toBeNull();
      expect(health.members.length).toBe(1);
      expect(health.members.every((member) => member.state === 'DOWN')).toBe(true);
    } finally {
      await client.close().catch(() => undefined);
      await rs.stop();
    }
  });

  it('never puts the password of the URI in the note', async () => {
    const client = new MongoClient('mongodb://alice:s3cret-pw@127.0.0.1:1/?replicaSet=rs0', {
      serverSelectionTimeoutMS: 300,
    });
    trackTopology(client);
    trackTopology(client); // idempotent: one listener
    expect(client.listenerCount('topologyDescriptionChanged')).toBe(1);
    try {
      const started = Date.now();
      const health = await new MongoSourceMonitor(client).health();
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(health.membersFrom).toBe('driver');
      expect(health.note).toMatch(/^replSetGetStatus failed: /);
      expect(JSON.stringify(health)).not.toContain('s3cret-pw');
      expect(health.primary).toBeNull();
      expect(health.members.every((member) => member.state === 'DOWN' || member.state === 'UNKNOWN')).toBe(
        true,
      );
    } finally {
      await client.close().catch(() => undefined);
    }
  });
});

describe('driverReading', () => {
  const server = (address: string, type: string, extra: Record<string, unknown> = {}) =>
    [address, { address, type, error: null, setName: null, ...extra }] as const;
  const description = (type: string, servers: ReturnType<typeof server>[], setName: string | null = null) =>
    ({ type, setName, servers: new Map(servers) }) as unknown as TopologyDescription;

  it('maps every server type to seed 002 names', () => {
    const health = driverReading(
      description(
        'ReplicaSetWithPrimary',
        [
          server('h1:1', 'RSPrimary'),
          server('h2:1', 'RSSecondary'),
          server('h3:1', 'RSArbiter'),
          server('h4:1', 'RSOther'),
          server('h5:1', 'RSGhost'),
          server('h6:1', 'Unknown', { error: new Error('connection refused') }),
          server('h7:1', 'Unknown'),
        ],
        'rs9',
      ),
      Object.assign(new Error('boom'), { code: 8000 }),
      7,
    );
    expect(health).toMatchObject({
      checkedAt: 7,
      kind: 'replicaSet',
      setName: 'rs9',
      primary: 'h1:1',
      membersFrom: 'driver',
      note: 'replSetGetStatus failed: boom',
    });
    expect(health.members.map((member) => member.state)).toEqual([
      'PRIMARY',
      'SECONDARY',
      'ARBITER',
      'OTHER',
      'OTHER',
      'DOWN',
      'UNKNOWN',
    ]);
  });

  it('reports a mongos as sharded, with or without a tracked description', () => {
    const refusal = Object.assign(new Error('replSetGetStatus is not supported through mongos'), {
      info: 'mongos',
    });
    const sharded = driverReading(description('Sharded', [server('m1:1', 'Mongos')]), refusal, 1);
    expect(sharded).toMatchObject({ kind: 'sharded', setName: null, primary: null, membersFrom: 'driver' });
    expect(sharded.members).toEqual([{ name: 'm1:1', state: 'MONGOS', health: null }]);
    expect(sharded.note).toMatch(/sharded cluster \(mongos\)/);
    const untracked = driverReading(null, refusal, 1);
    expect(untracked).toMatchObject({ kind: 'sharded', members: [] });
  });

  it('says so when no topology was tracked, and redacts the failure', () => {
    const health = driverReading(null, new Error('auth failed for mongodb://bob:hunter2@h1:27017/x'), 3);
    expect(health).toMatchObject({
      checkedAt: 3,
      kind: 'unknown',
      members: [],
      primary: null,
      setName: null,
    });
    expect(health.note).toContain('no topology');
    expect(health.note).not.toContain('hunter2');
  });
});

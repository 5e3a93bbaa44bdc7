import { Long, Timestamp } from 'bson';
import { afterEach, describe, expect, it } from 'vitest';
import { CommandError } from '../../../simulator/contract.js';
import { buildConfig } from '../../../simulator/topology/config.js';
import { helloResponse } from '../../../simulator/topology/hello-response.js';
import { ReplicaSetTopology } from '../../../simulator/topology/topology.js';

const hosts = ['127.0.0.1:1', '127.0.0.1:2', '127.0.0.1:3'];
const clock = 1_000_000;
const topologies: ReplicaSetTopology[] = [];

function topology(options: Parameters<typeof buildConfig>[2] = [], count = 3): ReplicaSetTopology {
  const created = new ReplicaSetTopology({
    config: buildConfig('rs0', hosts.slice(0, count), options),
    electionDelayMs: 0,
    clusterTime: () => new Timestamp({ t: 1, i: 1 }),
    now: () => clock,
  });
  created.initiate();
  topologies.push(created);
  return created;
}

/** Waits for a scheduled election (bounded). */
async function settle(set: ReplicaSetTopology): Promise<void> {
  await set.waitForChange(set.counter, 1000);
}

afterEach(() => {
  for (const created of topologies.splice(0)) created.close();
});

describe('step-down and elections', () => {
  it('elects the next secondary and bars the stepped-down member for stepDownSecs', async () => {
    const set = topology();
    expect(set.primary).toBe(hosts[0]);
    expect(set.term).toBe(1);
    set.stepDown(hosts[0]!, 60, false);
    expect(set.primary).toBeUndefined();
    await settle(set);
    expect(set.primary).toBe(hosts[1]);
    expect(set.term).toBe(2);
    expect(set.frozenUntil(hosts[0]!)).toBe(clock + 60_000);
    set.stepDown(hosts[1]!, 60, false);
    await settle(set);
    expect(set.primary).toBe(hosts[2]);
  });

  it('refuses to step down without an electable secondary unless forced', async () => {
    const set = topology([{}, { priority: 0 }, { arbiterOnly: true }]);
    const error = (() => {
      try {
        set.stepDown(hosts[0]!, 10, false);
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(CommandError);
    expect(error).toMatchObject({ code: 262, codeName: 'ExceededTimeLimit' });
    expect(set.primary).toBe(hosts[0]);
    set.stepDown(hosts[0]!, 10, true);
    expect(set.stateOf(hosts[0]!)).toBe('SECONDARY');
    expect(set.primary).toBeUndefined();
  });

  it('loses its primary without a majority and elects one when a voter returns', async () => {
    const set = topology();
    set.setState(hosts[1]!, 'DOWN');
    expect(set.primary).toBe(hosts[0]);
    set.setState(hosts[2]!, 'DOWN');
    expect(set.primary).toBeUndefined();
    expect(set.stateOf(hosts[0]!)).toBe('SECONDARY');
    await settle(set);
    expect(set.primary).toBeUndefined();
    set.setState(hosts[2]!, 'SECONDARY');
    await settle(set);
    expect(set.primary).toBeDefined();
  });

  it('refuses replSetFreeze on the primary', () => {
    const set = topology();
    expect(() => set.freeze(hosts[0]!, 30)).toThrow(CommandError);
  });

  it('raises topologyVersion on every change and releases waiters', async () => {
    const set = topology();
    const before = set.counter;
    const waiting = set.waitForChange(before, 10_000);
    set.setState(hosts[2]!, 'RECOVERING');
    await waiting;
    expect(set.counter).toBe(before + 1);
    expect(Number(set.topologyVersion(hosts[0]!).counter)).toBe(before + 1);
  });

  it('gives a member that comes back from DOWN a new processId, like a restart', () => {
    const set = topology();
    const before = set.topologyVersion(hosts[2]!).processId;
    set.setState(hosts[2]!, 'RECOVERING');
    expect(set.topologyVersion(hosts[2]!).processId.equals(before)).toBe(true);
    set.setState(hosts[2]!, 'DOWN');
    set.setState(hosts[2]!, 'SECONDARY');
    expect(set.topologyVersion(hosts[2]!).processId.equals(before)).toBe(false);
  });

  it('treats REMOVED as reconfigured out: gone from hello, new config version, no vote counted', () => {
    const set = topology();
    const lastWrite = { opTime: { ts: new Timestamp({ t: 1, i: 1 }), t: Long.ONE }, wallTime: new Date() };
    const request = { memberName: hosts[0]!, connectionId: 1, legacy: false, helloOk: false };
    set.setState(hosts[2]!, 'REMOVED');
    const hello = helloResponse(set, lastWrite, request);
    expect(hello.hosts).toEqual([hosts[0], hosts[1]]);
    expect(hello.setVersion).toBe(2);
    // Two voters remain; losing one of them loses the majority.
    expect(set.primary).toBe(hosts[0]);
    set.setState(hosts[1]!, 'DOWN');
    expect(set.primary).toBeUndefined();
  });
});

import { describe, expect, it } from 'vitest';
import type { MemberState } from '../../../simulator/contract.js';
import { buildConfig } from '../../../simulator/topology/config.js';
import { electionIdHex, runElection } from '../../../simulator/topology/election.js';

const hosts = ['h:1', 'h:2', 'h:3'];

function elect(
  states: MemberState[],
  options: Parameters<typeof buildConfig>[2] = [],
  frozen: number[] = [],
) {
  const config = buildConfig('rs0', hosts.slice(0, states.length), options);
  return runElection({
    config,
    stateOf: (host) => states[hosts.indexOf(host)]!,
    frozenUntil: (host) => frozen[hosts.indexOf(host)] ?? 0,
    now: 1000,
  });
}

describe('runElection', () => {
  it('elects the highest-priority secondary, lowest _id on ties', () => {
    expect(elect(['SECONDARY', 'SECONDARY', 'SECONDARY'])).toEqual({ kind: 'elected', host: 'h:1' });
    expect(elect(['SECONDARY', 'SECONDARY', 'SECONDARY'], [{}, { priority: 5 }, {}])).toEqual({
      kind: 'elected',
      host: 'h:2',
    });
  });

  it('needs a majority of voting members up', () => {
    expect(elect(['SECONDARY', 'DOWN', 'DOWN'])).toEqual({ kind: 'no-majority' });
    expect(elect(['SECONDARY', 'DOWN', 'SECONDARY'])).toEqual({ kind: 'elected', host: 'h:1' });
  });

  it('counts votes of RECOVERING, ROLLBACK, STARTUP2 and ARBITER members but never elects them', () => {
    expect(elect(['SECONDARY', 'RECOVERING', 'DOWN'])).toEqual({ kind: 'elected', host: 'h:1' });
    expect(elect(['DOWN', 'ROLLBACK', 'SECONDARY'])).toEqual({ kind: 'elected', host: 'h:3' });
    expect(elect(['SECONDARY', 'STARTUP2', 'DOWN'])).toEqual({ kind: 'elected', host: 'h:1' });
    expect(elect(['SECONDARY', 'DOWN', 'ARBITER'], [{}, {}, { arbiterOnly: true }])).toEqual({
      kind: 'elected',
      host: 'h:1',
    });
    expect(elect(['RECOVERING', 'ROLLBACK', 'STARTUP2'])).toEqual({ kind: 'no-candidate' });
  });

  it('skips frozen members and says when to retry', () => {
    expect(elect(['SECONDARY', 'SECONDARY', 'DOWN'], [], [5000, 0])).toEqual({
      kind: 'elected',
      host: 'h:2',
    });
    expect(elect(['SECONDARY', 'SECONDARY', 'DOWN'], [], [5000, 7000])).toEqual({
      kind: 'no-candidate',
      retryAt: 5000,
    });
  });

  it('encodes the term in electionId like OID::fromTerm', () => {
    expect(electionIdHex(1)).toBe('7fffffff0000000000000001');
    expect(electionIdHex(300)).toBe('7fffffff000000000000012c');
  });

  it('validates the configuration', () => {
    expect(() => buildConfig('bad name', hosts)).toThrow(RangeError);
    expect(() => buildConfig('rs0', hosts, [{ priority: 0 }, { priority: 0 }, { priority: 0 }])).toThrow(
      /electable/,
    );
    expect(() => buildConfig('rs0', hosts, [{ hidden: true, priority: 1 }])).toThrow(/hidden/);
  });
});

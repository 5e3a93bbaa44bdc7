import { describe, expect, it } from 'vitest';
import {
  describeShard,
  type MonitoredMember,
  monitoredState,
  type ShardMembers,
  shardsTroubles,
  shardTroubles,
} from '../../functions/core/shard-members.js';

const member = (fields: Partial<MonitoredMember>): MonitoredMember => ({
  addr: 'h:1',
  ok: false,
  ismaster: false,
  secondary: false,
  hidden: false,
  ...fields,
});

describe('a shard member as the mongos sees it', () => {
  it('classifies primary, secondary, arbiter and the members it cannot use', () => {
    expect(monitoredState(member({ ok: true, ismaster: true }))).toBe('PRIMARY');
    expect(monitoredState(member({ ok: true, secondary: true }))).toBe('SECONDARY');
    expect(monitoredState(member({ hidden: true }))).toBe('ARBITER');
    expect(monitoredState(member({}))).toBe('NOT_OK');
    // A primary the monitor lost contact with is not a primary.
    expect(monitoredState(member({ ok: false, ismaster: true }))).toBe('NOT_OK');
  });
});

describe('shard troubles', () => {
  const healthy: ShardMembers = {
    shard: 'shard0',
    setName: 'shard0',
    members: [
      { name: 'a:1', state: 'PRIMARY' },
      { name: 'b:1', state: 'SECONDARY' },
      { name: 'c:1', state: 'ARBITER' },
    ],
  };

  it('finds none in a shard with a primary and every member usable', () => {
    expect(shardTroubles(healthy)).toEqual([]);
    expect(describeShard(healthy)).toBe('shard0: a:1 PRIMARY, b:1 SECONDARY, c:1 ARBITER');
  });

  it('names a shard without a primary and each member not ok, per shard', () => {
    const troubled: ShardMembers = {
      shard: 'east',
      setName: 'rsEast',
      members: [
        { name: 'd:1', state: 'NOT_OK' },
        { name: 'e:1', state: 'SECONDARY' },
      ],
    };
    expect(shardsTroubles([healthy, troubled])).toEqual(['east: no primary', 'east: d:1 not ok']);
    expect(describeShard(troubled)).toBe('east (rsEast): d:1 NOT_OK, e:1 SECONDARY');
    expect(describeShard({ shard: 'x', setName: 'x', members: [] })).toBe('x: no members reported');
  });
});

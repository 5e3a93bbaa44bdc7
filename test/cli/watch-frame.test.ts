import { describe, expect, it } from 'vitest';
import { duration, PLAIN, percent, progressBar, sparkline } from '../../cli/format.js';
import { renderFrame, Samples } from '../../cli/watch.js';

/** A pipe view as GET /pipes/{id} answers it, mid-snapshot, with a member down and an error. */
const VIEW = {
  id: 'p-1',
  name: 'shop',
  state: 'Snapshot',
  version: 3,
  lastError: { name: 'TransientError', message: 'connection reset', at: '2026-12-06T12:00:00.000Z' },
  tables: [
    {
      tableKey: 'shop.orders',
      targetTable: 'orders',
      state: 'Snapshotting',
      stopReason: null,
      stopMessage: null,
      progress: { documentsCopied: 2_500, documentsEstimated: 10_000, partitionsDone: 1, partitionsTotal: 4 },
    },
    {
      tableKey: 'shop.items',
      targetTable: 'items',
      state: 'Stopped',
      stopReason: 'collectionDropped',
      stopMessage: 'the collection was dropped',
      progress: { documentsCopied: 0, documentsEstimated: 0, partitionsDone: 0, partitionsTotal: 0 },
    },
  ],
  cdc: {
    mode: 'continuous',
    running: true,
    lagMs: 4_200,
    lastCommittedAt: '2026-12-06T12:00:01.000Z',
    lastRun: { events: 12_345, batches: 40, eventsPerSecond: 812.5, endedBecause: 'budget' },
  },
  source: {
    health: {
      checkedAt: '2026-12-06T12:00:02.000Z',
      kind: 'replicaSet',
      setName: 'rs0',
      members: [
        { name: 'a:27017', state: 'PRIMARY', health: 1 },
        { name: 'b:27017', state: 'RECOVERING', health: 1 },
      ],
      membersFrom: 'driver',
      note: 'replSetGetStatus is not allowed for this user',
    },
  },
};

describe('the watch frame', () => {
  it("shows each shard's members through a mongos, and a shard without a primary", () => {
    const health = {
      checkedAt: '2026-12-06T12:00:02.000Z',
      kind: 'sharded',
      setName: null,
      members: [{ name: 'mongos1:27017', state: 'MONGOS', health: null }],
      membersFrom: 'driver',
      note: 'member states are per shard',
      shards: [
        { shard: 'shard0', setName: 'shard0', members: [{ name: 'a:1', state: 'PRIMARY' }] },
        {
          shard: 'shard1',
          setName: 'shard1',
          members: [
            { name: 'b:1', state: 'NOT_OK' },
            { name: 'c:1', state: 'SECONDARY' },
          ],
        },
      ],
    };
    const frame = renderFrame({ ...VIEW, source: { health } }, new Samples(), PLAIN, new Date(0)).split('\n');
    const source = frame.slice(frame.indexOf('source') + 1, frame.indexOf('source') + 6);
    expect(source).toEqual([
      '  sharded, members from driver, at 2026-12-06T12:00:02.000Z',
      '  mongos1:27017  MONGOS',
      '  shard0: a:1 PRIMARY',
      '  shard1: b:1 NOT_OK, c:1 SECONDARY (no primary)',
      '  member states are per shard',
    ]);
  });

  it('shows state, a bar per table, lag and events/s with sparklines, members and the last error', () => {
    const samples = new Samples();
    for (const lagMs of [1_000, 8_000, 4_200]) samples.add({ ...VIEW, cdc: { ...VIEW.cdc, lagMs } });
    const frame = renderFrame(VIEW, samples, PLAIN, new Date('2026-12-06T12:00:03Z'));
    expect(frame.split('\n')).toEqual([
      'shop  p-1  Snapshot  version 3  2026-12-06T12:00:03.000Z',
      '',
      'tables',
      `  shop.orders → orders  Snapshotting [${'█'.repeat(6)}${'░'.repeat(18)}]  25%  2,500 of 10,000 docs  1/4 partitions`,
      `  shop.items → items    Stopped     [${'░'.repeat(24)}]   ?%  0 of 0 docs  0/0 partitions  collectionDropped: the collection was dropped`,
      '',
      'cdc',
      '  continuous, running now; last commit 2026-12-06T12:00:01.000Z',
      '  lag       4.2 s            ▂█▅',
      '  events/s  812.5            ███',
      '  last run  12,345 events in 40 batches, ended budget',
      '',
      'source',
      '  replicaSet rs0, members from driver, at 2026-12-06T12:00:02.000Z',
      '  a:27017  PRIMARY',
      '  b:27017  RECOVERING',
      '  replSetGetStatus is not allowed for this user',
      '',
      'last error  TransientError: connection reset (2026-12-06T12:00:00.000Z)',
      '',
    ]);
  });

  it('before the first CDC run: no lag, no rate, no member states', () => {
    const fresh = {
      ...VIEW,
      lastError: null,
      cdc: { ...VIEW.cdc, lagMs: null, lastRun: null },
      source: { health: null },
    };
    const frame = renderFrame(fresh, new Samples(), PLAIN, new Date(0));
    expect(frame).toContain('  lag       not measured yet \n');
    expect(frame).toContain('  events/s  not reported yet \n');
    expect(frame).toContain('  not checked yet (the first CDC run reads it)');
    expect(frame).toContain('last error  none');
  });

  it("starts the sparklines from the pipe's recorded CDC history, then adds what it reads", () => {
    const samples = new Samples();
    samples.seed({
      samples: [
        { at: '2026-12-06T11:58:00.000Z', lagMs: null, events: 0, eventsPerSecond: 0 },
        { at: '2026-12-06T11:59:00.000Z', lagMs: 2_000, events: 600, eventsPerSecond: 10 },
      ],
    });
    samples.add(VIEW);
    expect(samples.lagMs).toEqual([2_000, 4_200]);
    expect(samples.eventsPerSecond).toEqual([0, 10, 812.5]);
  });

  it('keeps the last 30 samples; bars, percentages, sparklines and durations', () => {
    const samples = new Samples();
    for (let n = 0; n < 40; n += 1) samples.add({ cdc: { lagMs: n, lastRun: null } });
    expect(samples.lagMs).toEqual(Array.from({ length: 30 }, (_, index) => index + 10));
    expect(samples.eventsPerSecond).toEqual([]);
    expect(progressBar(5, 10, 10)).toBe('[█████░░░░░]');
    expect(progressBar(12, 10, 4)).toBe('[████]');
    expect(percent(12, 10)).toBe('100%');
    expect(sparkline([0, 1, 2, 4, 8])).toBe('▁▂▃▅█');
    expect(sparkline([0, 0])).toBe('▁▁');
    expect([850, 4_200, 190_000, 7_500_000].map(duration)).toEqual([
      '850 ms',
      '4.2 s',
      '3 min 10 s',
      '2 h 5 min',
    ]);
  });
});

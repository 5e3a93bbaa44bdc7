import { BSON, Long, Timestamp } from 'bson';
import { afterEach, describe, expect, it } from 'vitest';
import { ClusterClockImpl, compareTimestamps } from '../../../simulator/oplog/clock.js';
import { Oplog } from '../../../simulator/oplog/oplog.js';

const open: Oplog[] = [];

function makeOplog(options: { maxBytes?: number; maxEntries?: number; now?: () => number } = {}): Oplog {
  const clock = new ClusterClockImpl(options.now ? { now: options.now } : {});
  const oplog = new Oplog({
    clock,
    term: () => Long.fromNumber(2),
    ...(options.maxBytes !== undefined ? { maxBytes: options.maxBytes } : {}),
    ...(options.maxEntries !== undefined ? { maxEntries: options.maxEntries } : {}),
  });
  open.push(oplog);
  return oplog;
}

function insertDraft(id: number) {
  return { op: 'i' as const, ns: 'db.c', o: { _id: id }, o2: { _id: id } };
}

afterEach(() => {
  for (const oplog of open.splice(0)) oplog.close();
});

describe('cluster clock', () => {
  it('ticks strictly upward within a second and resets the increment on a new second', () => {
    let millis = 1_000_000;
    const clock = new ClusterClockImpl({ now: () => millis });
    const a = clock.tick();
    const b = clock.tick();
    expect([a.high, a.low, b.high, b.low]).toEqual([1000, 1, 1000, 2]);
    millis += 1500;
    const c = clock.tick();
    expect([c.high, c.low]).toEqual([1001, 1]);
    expect(compareTimestamps(clock.current(), c)).toBe(0);
  });

  it('never goes backwards when the wall clock does, and can be advanced to a gossiped time', () => {
    let millis = 5_000_000;
    const clock = new ClusterClockImpl({ now: () => millis });
    clock.tick();
    millis -= 10_000;
    const later = clock.tick();
    expect([later.high, later.low]).toEqual([5000, 2]);
    clock.advanceTo(new Timestamp({ t: 6000, i: 7 }));
    expect(compareTimestamps(clock.tick(), new Timestamp({ t: 6000, i: 7 }))).toBe(1);
  });
});

describe('oplog', () => {
  it('stamps entries with increasing ts, the term and a wall time, in order', () => {
    const oplog = makeOplog();
    const stamped = oplog.append([insertDraft(1), insertDraft(2)]);
    expect(stamped.map((entry) => entry.o._id)).toEqual([1, 2]);
    expect(compareTimestamps(stamped[0]?.ts as Timestamp, stamped[1]?.ts as Timestamp)).toBe(-1);
    expect(stamped[0]?.t.toNumber()).toBe(2);
    expect(stamped[0]?.wall).toBeInstanceOf(Date);
    expect(oplog.entriesAfter(stamped[0]?.ts as Timestamp).map((entry) => entry.o._id)).toEqual([2]);
    expect(oplog.entriesFrom(stamped[0]?.ts as Timestamp).map((entry) => entry.o._id)).toEqual([1, 2]);
  });

  it('drops the oldest entries beyond the entry bound and remembers what it dropped', () => {
    const oplog = makeOplog({ maxEntries: 3 });
    const stamped = oplog.append([1, 2, 3, 4, 5].map(insertDraft));
    expect(oplog.all().map((entry) => entry.o._id)).toEqual([3, 4, 5]);
    expect(oplog.oldest()?.o._id).toBe(3);
    expect(oplog.droppedThrough()?.equals(stamped[1]?.ts as Timestamp)).toBe(true);
  });

  it('drops the oldest entries beyond the byte bound, measured as BSON size', () => {
    const probe = makeOplog();
    const [sample] = probe.append([insertDraft(1)]);
    const size = BSON.calculateObjectSize(sample as object);
    const oplog = makeOplog({ maxBytes: size * 2 + 1 });
    oplog.append([1, 2, 3, 4].map(insertDraft));
    expect(oplog.size).toBe(2);
    expect(oplog.bytes).toBeLessThanOrEqual(size * 2 + 1);
  });

  it('truncateBefore removes older entries; many appends keep lookups correct after compaction', () => {
    const oplog = makeOplog({ maxEntries: 1500 });
    for (let id = 0; id < 5000; id += 1) oplog.append([insertDraft(id)]);
    expect(oplog.oldest()?.o._id).toBe(3500);
    const cut = oplog.all()[100]?.ts as Timestamp;
    expect(oplog.truncateBefore(cut)).toBe(100);
    expect(oplog.oldest()?.o._id).toBe(3600);
    expect(oplog.entriesAfter(cut, 2).map((entry) => entry.o._id)).toEqual([3601, 3602]);
  });

  it('notifies listeners and wakes waiters on append; a waiter times out with false', async () => {
    const oplog = makeOplog();
    const seen: number[] = [];
    const stop = oplog.onAppend((entries) => seen.push(...entries.map((entry) => entry.o._id as number)));
    const woken = oplog.waitForAppend(10_000);
    oplog.append([insertDraft(7)]);
    expect(await woken).toBe(true);
    stop();
    oplog.append([insertDraft(8)]);
    expect(seen).toEqual([7]);
    expect(await oplog.waitForAppend(1)).toBe(false);
  });

  it('the no-op writer appends periodic no-ops while idle', async () => {
    const oplog = makeOplog();
    oplog.startNoopWriter(5);
    for (let attempt = 0; attempt < 200 && oplog.size === 0; attempt += 1) await oplog.waitForAppend(50);
    oplog.stopNoopWriter();
    expect(oplog.latest()).toMatchObject({ op: 'n', ns: '', o: { msg: 'periodic noop' } });
  });

  it('rejects invalid bounds and intervals', () => {
    expect(() => makeOplog({ maxEntries: 0 })).toThrow(RangeError);
    expect(() => makeOplog().startNoopWriter(0)).toThrow(RangeError);
  });
});

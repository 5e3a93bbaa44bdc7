import { describe, expect, it } from 'vitest';
import {
  pipeOplogWindow,
  type ShardOplogWindow,
  shortestShard,
  unknownShards,
} from '../../functions/core/shard-oplog.js';

const read = (shard: string, seconds: number): ShardOplogWindow => ({
  shard,
  setName: `${shard}-rs`,
  window: {
    available: true,
    firstAt: new Date(Date.UTC(2026, 11, 6) - seconds * 1000).toISOString(),
    lastAt: new Date(Date.UTC(2026, 11, 6)).toISOString(),
    seconds,
  },
});
const unread = (shard: string, reason: string): ShardOplogWindow => ({
  shard,
  setName: `${shard}-rs`,
  window: { available: false, reason },
});

describe("the pipe's oplog window through a mongos", () => {
  it("is the shortest shard's when every shard's was read", () => {
    const shards = [read('a', 7200), read('b', 3000), read('c', 9000)];
    expect(shortestShard(shards)?.shard).toBe('b');
    expect(pipeOplogWindow(shards)).toEqual(read('b', 3000).window);
  });

  it("is unknown while any shard's is, naming each such shard; the shortest read is still known", () => {
    const shards = [read('a', 7200), unread('b', 'refused'), unread('c', 'unreachable')];
    expect(pipeOplogWindow(shards)).toEqual({ available: false, reason: 'b: refused; c: unreachable' });
    expect(unknownShards(shards)).toEqual([
      { shard: 'b', reason: 'refused' },
      { shard: 'c', reason: 'unreachable' },
    ]);
    expect(shortestShard(shards)?.shard).toBe('a');
  });

  it('is unknown without shards', () => {
    expect(pipeOplogWindow([])).toEqual({ available: false, reason: 'no shards were listed' });
    expect(shortestShard([unread('a', 'x')])).toBeNull();
  });
});

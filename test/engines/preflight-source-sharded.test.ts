import { describe, expect, it } from 'vitest';
import { pipeOplogWindow, type ShardOplogWindow } from '../../functions/core/shard-oplog.js';
import { refuseUnusableSource, sourceChecks } from '../../functions/engines/preflight-source.js';
import type { SourceFacts } from '../../functions/ports/preflight.js';

const window = (shard: string, seconds: number): ShardOplogWindow => ({
  shard,
  setName: shard,
  window: {
    available: true,
    firstAt: '2026-12-05T00:00:00.000Z',
    lastAt: new Date(Date.UTC(2026, 11, 5) + seconds * 1000).toISOString(),
    seconds,
  },
});

/** A mongos's facts with these shard windows (or none listed). */
function facts(shards: ShardOplogWindow[] | { reason: string }): SourceFacts {
  const listed = Array.isArray(shards);
  return {
    host: 'mongos1:27017',
    serverVersion: '7.0.14',
    topology: { kind: 'sharded', setName: null, primary: null },
    memberStates: { available: true, members: [] },
    oplogWindow: listed ? pipeOplogWindow(shards) : { available: false, reason: shards.reason },
    ...(listed ? { shardOplogWindows: shards } : {}),
    privileges: { checked: true, missing: [] },
    changeStream: { opened: true, scope: 'database shop' },
    collections: [{ db: 'shop', coll: 'orders', exists: true }],
  };
}

const oplog = (source: SourceFacts) => sourceChecks(source).find((check) => check.id === 'source.oplog');

describe('source.oplog through a mongos', () => {
  it("passes when the shortest shard's window is an hour or more, and says whose it is", () => {
    const check = oplog(facts([window('shard0', 86_400), window('shard1', 3_600)]));
    expect(check).toMatchObject({ status: 'passed' });
    expect(check?.message).toBe(
      "the pipe's window is the shortest shard's: shard1's oplog covers 60 min " +
        '(2026-12-05T00:00:00.000Z to 2026-12-05T01:00:00.000Z); shard0 covers 24.0 h; shard1 covers 60 min',
    );
  });

  it("warns when the shortest shard's window is under an hour", () => {
    const check = oplog(facts([window('shard0', 86_400), window('shard1', 3_599)]));
    expect(check).toMatchObject({ status: 'warned', advice: expect.stringContaining('on every shard') });
  });

  it('warns, naming the shard and why, when a shard could not be read; Provision goes on', () => {
    const source = facts([
      window('shard0', 86_400),
      { shard: 'shard1', setName: 'shard1', window: { available: false, reason: 'refused' } },
    ]);
    expect(oplog(source)).toMatchObject({
      status: 'warned',
      message:
        "a mongos has no oplog: the pipe's change stream reads every shard's, so its window is the shortest " +
        "shard's; it is at most 24.0 h (shard0, the shortest read); shard0 covers 24.0 h; shard1 unknown: refused",
    });
    expect(() => refuseUnusableSource(source)).not.toThrow();
  });

  it('warns with the reason when the shards could not be listed', () => {
    const check = oplog(
      facts({ reason: 'the shards could not be listed: not authorised to run listShards' }),
    );
    expect(check?.status).toBe('warned');
    expect(check?.message).toMatch(/shortest shard's; the shards could not be listed: not authorised/);
  });
});

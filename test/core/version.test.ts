import { Timestamp } from 'bson';
import { describe, expect, it } from 'vitest';
import { UnsupportedValueError } from '../../functions/core/errors.js';
import {
  clusterTimeFromVersion,
  SNAPSHOT_VERSION,
  versionFromClusterTime,
  versionString,
} from '../../functions/core/version.js';

describe('_peerdb_version', () => {
  it('is t·2^32 + i', () => {
    expect(versionFromClusterTime({ t: 1, i: 0 })).toBe(4294967296n);
    expect(versionFromClusterTime({ t: 1651836794, i: 1 })).toBe(1651836794n * 4294967296n + 1n);
    expect(versionString({ t: 1651836794, i: 1 })).toBe('7094585008559489025');
  });

  it('reads bson Timestamps (t/i) and old-style high/low objects alike', () => {
    const expected = versionFromClusterTime({ t: 1700000000, i: 9 });
    expect(versionFromClusterTime(new Timestamp({ t: 1700000000, i: 9 }))).toBe(expected);
    expect(versionFromClusterTime({ high: 1700000000, low: 9 })).toBe(expected);
  });

  it('increases with oplog position: later seconds beat any increment, then increments order', () => {
    const positions = [
      { t: 100, i: 1 },
      { t: 100, i: 2 },
      { t: 100, i: 0xffffffff },
      { t: 101, i: 0 },
      { t: 101, i: 1 },
      { t: 0xffffffff, i: 0xffffffff },
    ];
    const versions = positions.map(versionFromClusterTime);
    for (let index = 1; index < versions.length; index++) {
      expect(versions[index]).toBeGreaterThan(versions[index - 1] as bigint);
    }
    expect(versions.at(-1)).toBe(2n ** 64n - 1n);
  });

  it('every CDC version is above the snapshot version', () => {
    expect(SNAPSHOT_VERSION).toBe(0n);
    expect(versionFromClusterTime({ t: 0, i: 1 })).toBeGreaterThan(SNAPSHOT_VERSION);
  });

  it('round-trips to the cluster time', () => {
    expect(clusterTimeFromVersion(versionFromClusterTime({ t: 1630496062, i: 2 }))).toEqual({
      t: 1630496062,
      i: 2,
    });
  });

  it.each([
    ['negative seconds', { t: -1, i: 0 }],
    ['fractional increment', { t: 1, i: 0.5 }],
    ['seconds past 32 bits', { t: 2 ** 32, i: 0 }],
    ['not a timestamp', 'yesterday'],
    ['null', null],
  ])('refuses %s', (_name, value) => {
    expect(() => versionFromClusterTime(value)).toThrow(UnsupportedValueError);
  });
});

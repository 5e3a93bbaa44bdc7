import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cityHash128 } from '../../../local/clickhouse/cityhash128.js';
import { streamBytes, type Vector, varint } from '../../fixtures/clickhouse/cityhash-inputs.js';

/**
 * CityHash128 v1.0.2 against checksums ClickHouse wrote itself (see
 * test/fixtures/clickhouse/make-cityhash-vectors.ts for how the fixture was made).
 */

const fixture = JSON.parse(
  readFileSync(new URL('../../fixtures/clickhouse/cityhash128-vectors.json', import.meta.url), 'utf8'),
) as { vectors: Vector[] };

const streams = new Map<string, Buffer>();
function hashedBytes(vector: Vector): Buffer {
  const key = `${vector.seed}/${vector.valueLength}`;
  let stream = streams.get(key);
  if (stream === undefined) {
    stream = Buffer.concat([varint(vector.valueLength), streamBytes(vector.seed, vector.valueLength)]);
    streams.clear();
    streams.set(key, stream);
  }
  return Buffer.concat([Buffer.from(vector.header, 'hex'), stream.subarray(vector.from, vector.to)]);
}

describe('cityHash128', () => {
  it('matches ClickHouse for 2 001 block lengths from 10 to 2 011 bytes', () => {
    const small = fixture.vectors.filter((vector) => vector.to - vector.from < 4096);
    expect(small.length).toBeGreaterThan(2000);
    const lengths = new Set<number>();
    for (const vector of small) {
      const input = hashedBytes(vector);
      lengths.add(input.byteLength);
      expect(cityHash128(input).toString('hex'), `length ${input.byteLength}`).toBe(vector.checksum);
    }
    expect(lengths.size).toBe(2001);
  });

  it('matches ClickHouse for MiB-sized blocks', () => {
    const large = fixture.vectors.filter((vector) => vector.to - vector.from >= 4096);
    expect(large.length).toBeGreaterThanOrEqual(6);
    for (const vector of large) {
      expect(cityHash128(hashedBytes(vector)).toString('hex')).toBe(vector.checksum);
    }
  });

  it('tells inputs one bit apart', () => {
    const input = streamBytes(7, 300);
    const flipped = Buffer.from(input);
    flipped[150] = (flipped[150] as number) ^ 1;
    expect(cityHash128(flipped).equals(cityHash128(input))).toBe(false);
  });
});

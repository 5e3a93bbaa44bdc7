import { describe, expect, it } from 'vitest';
import { UnsupportedValueError } from '../../functions/core/errors.js';
import {
  type BoundValue,
  bracketOfBound,
  bracketOfType,
  compareStrings,
  decodePartitionBounds,
  encodePartitionBounds,
  type IdSummary,
  type PartitionBounds,
  planPartitions,
} from '../../functions/core/partition-plan.js';
import { seededRandom } from '../support/seeded-random.js';

/** A test `_id`: a bound-like value or a value of another bracket, compared in MongoDB's order. */
type TestId = BoundValue | { type: 'other'; bracket: number; rank: number };

function bracketOf(id: TestId): number {
  return id.type === 'other' ? id.bracket : bracketOfBound(id);
}

function numeric(id: BoundValue): { big: bigint | null; num: number } {
  if (id.type === 'integer') return { big: BigInt(id.value), num: Number(id.value) };
  if (id.type === 'double') return { big: null, num: id.value };
  throw new Error('not numeric');
}

/** MongoDB's full order: bracket first, then the value within the bracket. */
function compareIds(a: TestId, b: TestId): number {
  const bracket = bracketOf(a) - bracketOf(b);
  if (bracket !== 0) return Math.sign(bracket);
  if (a.type === 'other' || b.type === 'other') {
    return Math.sign((a.type === 'other' ? a.rank : 0) - (b.type === 'other' ? b.rank : 0));
  }
  if (a.type === 'objectId' && b.type === 'objectId') return a.hex < b.hex ? -1 : a.hex > b.hex ? 1 : 0;
  if (a.type === 'string' && b.type === 'string') return Math.sign(compareStrings(a.value, b.value));
  const x = numeric(a);
  const y = numeric(b);
  if (x.big !== null && y.big !== null) return x.big < y.big ? -1 : x.big > y.big ? 1 : 0;
  return Math.sign(x.num - y.num);
}

function inPartition(id: TestId, bounds: PartitionBounds): boolean {
  return (
    (bounds.lower === null || compareIds(id, bounds.lower) >= 0) &&
    (bounds.upper === null || compareIds(id, bounds.upper) < 0)
  );
}

const GENERATORS: Record<string, (next: () => number) => BoundValue> = {
  objectId: (next) => ({
    type: 'objectId',
    hex: [...Array(24)].map(() => Math.floor(next() * 16).toString(16)).join(''),
  }),
  int: (next) => ({ type: 'integer', value: String(Math.floor(next() * 2_000_000) - 1_000_000) }),
  long: (next) => ({
    type: 'integer',
    value: (
      BigInt(Math.floor(next() * 2 ** 30)) * 2n ** 32n +
      BigInt(Math.floor(next() * 2 ** 32))
    ).toString(),
  }),
  double: (next) => ({ type: 'double', value: (next() - 0.5) * 1e6 }),
  intAndDouble: (next) =>
    next() < 0.5
      ? { type: 'integer', value: String(Math.floor(next() * 1000)) }
      : { type: 'double', value: next() * 1000 },
  string: (next) => ({
    type: 'string',
    value: [...Array(1 + Math.floor(next() * 8))]
      .map(() => String.fromCodePoint(0x20 + Math.floor(next() * 0x2ff)))
      .join(''),
  }),
};

/** Ids of other brackets (null, documents, booleans, dates…) that must land somewhere exactly once. */
const STRANGERS: TestId[] = [
  'minKey',
  'null',
  'object',
  'binData',
  'bool',
  'date',
  'timestamp',
  'maxKey',
].map((type, rank) => ({ type: 'other', bracket: bracketOfType(type), rank }));

function summaryOf(ids: TestId[], pick: 'min' | 'max'): IdSummary {
  const sorted = [...ids].sort(compareIds);
  const id = (pick === 'min' ? sorted[0] : sorted[sorted.length - 1]) as TestId;
  return id.type === 'other' ? { type: 'other', bsonType: 'object' } : id;
}

function expectExactCover(ids: TestId[], partitions: PartitionBounds[]): void {
  for (const id of ids) {
    const holders = partitions.filter((bounds) => inPartition(id, bounds)).length;
    expect(holders, `id ${JSON.stringify(id)}`).toBe(1);
  }
}

describe('planPartitions', () => {
  for (const [family, generate] of Object.entries(GENERATORS)) {
    it(`splits ${family} _ids into ranges that cover every _id of every type exactly once`, () => {
      for (let seed = 1; seed <= 20; seed++) {
        const next = seededRandom(seed);
        const ids: TestId[] = [...Array(500)].map(() => generate(next));
        const plan = planPartitions({
          estimatedCount: ids.length,
          targetRowsPerPartition: 50,
          minId: summaryOf(ids, 'min'),
          maxId: summaryOf(ids, 'max'),
          stringSample: ids.flatMap((id) => (id.type === 'string' ? [id.value] : [])).slice(0, 200),
        });
        expect(plan.strategy).not.toBe('single');
        expect(plan.partitions.length).toBeGreaterThan(1);
        expect(plan.partitions.length).toBeLessThanOrEqual(10);
        expect(plan.partitions[0]?.lower).toBeNull();
        expect(plan.partitions[plan.partitions.length - 1]?.upper).toBeNull();
        plan.partitions.slice(1).forEach((bounds, index) => {
          expect(bounds.lower).toEqual(plan.partitions[index]?.upper);
          if (bounds.upper !== null) expect(compareIds(bounds.upper, bounds.lower as BoundValue)).toBe(1);
        });
        expectExactCover([...ids, ...STRANGERS], plan.partitions);
      }
    });
  }

  it('spreads ObjectId ranges evenly between min and max', () => {
    const plan = planPartitions({
      estimatedCount: 4000,
      targetRowsPerPartition: 1000,
      minId: { type: 'objectId', hex: '000000000000000000000000' },
      maxId: { type: 'objectId', hex: '000000040000000000000000' },
    });
    expect(plan.strategy).toBe('objectId-range');
    expect(plan.partitions.map((bounds) => (bounds.upper as { hex: string } | null)?.hex ?? null)).toEqual([
      '000000010000000000000000',
      '000000020000000000000000',
      '000000030000000000000000',
      null,
    ]);
  });

  it('keeps long _ids exact beyond 2^53', () => {
    const plan = planPartitions({
      estimatedCount: 2000,
      targetRowsPerPartition: 1000,
      minId: { type: 'integer', value: '9007199254740993' },
      maxId: { type: 'integer', value: '9007199254740999' },
    });
    expect(plan.partitions[0]?.upper).toEqual({ type: 'integer', value: '9007199254740996' });
  });

  it('uses one partition for a small collection, mixed types, compound _ids and a range with no room', () => {
    const oid = { type: 'objectId', hex: '65a000000000000000000000' } as const;
    const cases: [number, IdSummary, IdSummary][] = [
      [10, oid, oid],
      [1_000_000, { type: 'integer', value: '1' }, { type: 'string', value: 'z' }],
      [1_000_000, { type: 'other', bsonType: 'object' }, { type: 'other', bsonType: 'object' }],
      [1_000_000, { type: 'integer', value: '1' }, { type: 'integer', value: '1' }],
      [1_000_000, { type: 'string', value: 'a' }, { type: 'string', value: 'b' }],
    ];
    for (const [estimatedCount, minId, maxId] of cases) {
      const plan = planPartitions({
        estimatedCount,
        targetRowsPerPartition: 1000,
        minId,
        maxId,
        stringSample: [],
      });
      expect(plan.strategy, JSON.stringify(minId)).toBe('single');
      expect(plan.partitions).toEqual([{ lower: null, upper: null }]);
    }
  });

  it('caps the number of partitions', () => {
    const plan = planPartitions({
      estimatedCount: 1e9,
      targetRowsPerPartition: 1000,
      minId: { type: 'integer', value: '0' },
      maxId: { type: 'integer', value: '1000000000' },
      maxPartitions: 64,
    });
    expect(plan.partitions).toHaveLength(64);
  });

  it('orders string quantiles by UTF-8 bytes, as MongoDB compares strings', () => {
    // U+FF5E sorts before U+1F600 in UTF-8 but after it in UTF-16 code units.
    expect(compareStrings('\uff5e', '\u{1f600}')).toBeLessThan(0);
    expect('\uff5e' < '\u{1f600}').toBe(false);
  });
});

describe('partition bounds serialisation', () => {
  it('round-trips every bound type', () => {
    const bounds: PartitionBounds[] = [
      { lower: null, upper: { type: 'objectId', hex: '65a1b2c3d4e5f60718293a4b' } },
      { lower: { type: 'integer', value: '-9223372036854775808' }, upper: { type: 'double', value: 2.5 } },
      { lower: { type: 'string', value: 'a"b\u0000c' }, upper: null },
    ];
    for (const bound of bounds) expect(decodePartitionBounds(encodePartitionBounds(bound))).toEqual(bound);
  });

  it('refuses malformed stored bounds', () => {
    for (const stored of [
      '{',
      '{"lower":null}',
      '{"lower":{"type":"objectId","hex":"xyz"},"upper":null}',
      42,
    ]) {
      expect(() => decodePartitionBounds(stored)).toThrow(UnsupportedValueError);
    }
  });
});

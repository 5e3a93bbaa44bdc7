import { describe, expect, it } from 'vitest';
import {
  type ChunkFacts,
  compareBounds,
  planChunkPartitions,
} from '../../functions/core/chunk-partition-plan.js';
import {
  type BoundValue,
  bracketOfBound,
  bracketOfType,
  type PartitionBounds,
  type PartitionPlanInput,
} from '../../functions/core/partition-plan.js';
import { seededRandom } from '../support/seeded-random.js';

/** A value of another bracket (null, documents, dates…): it must land in exactly one partition too. */
type Stranger = { type: 'other'; bracket: number };
type TestId = BoundValue | Stranger;

const STRANGERS: Stranger[] = ['minKey', 'null', 'object', 'binData', 'bool', 'date', 'maxKey'].map(
  (type) => ({ type: 'other', bracket: bracketOfType(type) }),
);

function compareIds(a: TestId, b: TestId): number {
  const bracketA = a.type === 'other' ? a.bracket : bracketOfBound(a);
  const bracketB = b.type === 'other' ? b.bracket : bracketOfBound(b);
  if (bracketA !== bracketB) return Math.sign(bracketA - bracketB);
  if (a.type === 'other' || b.type === 'other') return 0;
  return compareBounds(a, b);
}

function inRange(id: TestId, lower: BoundValue | null, upper: BoundValue | null): boolean {
  return (lower === null || compareIds(id, lower) >= 0) && (upper === null || compareIds(id, upper) < 0);
}

const FAMILIES: Record<string, (next: () => number) => BoundValue> = {
  objectId: (next) => ({
    type: 'objectId',
    hex: [...Array(24)].map(() => Math.floor(next() * 16).toString(16)).join(''),
  }),
  integer: (next) => ({ type: 'integer', value: String(Math.floor(next() * 2_000_000) - 1_000_000) }),
  double: (next) => ({ type: 'double', value: (next() - 0.5) * 1e6 }),
  string: (next) => ({
    type: 'string',
    value: [...Array(1 + Math.floor(next() * 6))]
      .map(() => String.fromCodePoint(0x61 + Math.floor(next() * 26)))
      .join(''),
  }),
};

interface World {
  ids: BoundValue[];
  chunks: ChunkFacts[];
  range: PartitionPlanInput;
}

/** Random ids, random split points among them, chunks dealt to shards in runs or at random. */
function randomWorld(seed: number, generate: (next: () => number) => BoundValue): World {
  const next = seededRandom(seed);
  const ids = [...Array(200 + Math.floor(next() * 800))].map(() => generate(next)).sort(compareBounds);
  const splits = [...Array(1 + Math.floor(next() * 30))]
    .map(() => ids[Math.floor(next() * ids.length)] as BoundValue)
    .sort(compareBounds)
    .filter((value, index, all) => index === 0 || compareBounds(all[index - 1] as BoundValue, value) < 0);
  const bounds: (BoundValue | null)[] = [null, ...splits, null];
  const shards = 1 + Math.floor(next() * 4);
  const runs = next() < 0.5;
  const chunks = bounds.slice(1).map((max, index): ChunkFacts => {
    const min = bounds[index] as BoundValue | null;
    const shard = runs ? Math.floor((index * shards) / (bounds.length - 1)) : Math.floor(next() * shards);
    const count = ids.filter((id) => inRange(id, min, max)).length;
    return { min, max, shard: `shard${shard}`, count };
  });
  const target = 10 + Math.floor(next() * 150);
  const strings = ids.flatMap((id) => (id.type === 'string' ? [id.value] : []));
  const range: PartitionPlanInput = {
    estimatedCount: ids.length,
    targetRowsPerPartition: target,
    minId: ids[0] as BoundValue,
    maxId: ids[ids.length - 1] as BoundValue,
    stringSample: strings.slice(0, 300),
  };
  return { ids, chunks, range };
}

function expectOrderedCover(partitions: PartitionBounds[], ids: TestId[]): void {
  expect(partitions[0]?.lower).toBeNull();
  expect(partitions[partitions.length - 1]?.upper).toBeNull();
  partitions.slice(1).forEach((bounds, index) => {
    expect(bounds.lower).toEqual(partitions[index]?.upper);
    if (bounds.upper !== null) expect(compareBounds(bounds.upper, bounds.lower as BoundValue)).toBe(1);
  });
  for (const id of ids) {
    const holders = partitions.filter((bounds) => inRange(id, bounds.lower, bounds.upper));
    expect(holders, `id ${JSON.stringify(id)}`).toHaveLength(1);
  }
}

function overlaps(chunk: ChunkFacts, bounds: PartitionBounds): boolean {
  const min = chunk.min as BoundValue | null;
  const max = chunk.max as BoundValue | null;
  const aboveLower = max === null || bounds.lower === null || compareBounds(max, bounds.lower) > 0;
  const belowUpper = min === null || bounds.upper === null || compareBounds(min, bounds.upper) < 0;
  return aboveLower && belowUpper;
}

/** The whole chunk lies inside the partition (not cut by it). */
function within(chunk: ChunkFacts, bounds: PartitionBounds): boolean {
  const min = chunk.min as BoundValue | null;
  const max = chunk.max as BoundValue | null;
  const fromLower = bounds.lower === null || (min !== null && compareBounds(min, bounds.lower) >= 0);
  const toUpper = bounds.upper === null || (max !== null && compareBounds(max, bounds.upper) <= 0);
  return fromLower && toUpper;
}

describe('planChunkPartitions', () => {
  for (const [family, generate] of Object.entries(FAMILIES)) {
    it(`follows random ${family} chunk sets: every _id once, in order, one shard each, merges within target`, () => {
      const strategies = new Set<string>();
      for (let seed = 1; seed <= 60; seed += 1) {
        const { ids, chunks, range } = randomWorld(seed, generate);
        const plan = planChunkPartitions({ chunks, range });
        strategies.add(plan.strategy);
        expectOrderedCover(plan.partitions, [...ids, ...STRANGERS]);
        if (plan.strategy !== 'shard-chunks') {
          expect(plan.reason).toMatch(/^not following shard chunks \(/);
          continue;
        }
        const wanted = Math.ceil(ids.length / range.targetRowsPerPartition);
        expect(plan.partitions.length).toBeLessThanOrEqual(
          2 * wanted + new Set(chunks.map((c) => c.shard)).size,
        );
        for (const bounds of plan.partitions) {
          const touched = chunks.filter((chunk) => overlaps(chunk, bounds));
          expect(new Set(touched.map((chunk) => chunk.shard)).size, JSON.stringify(bounds)).toBe(1);
          const documents = ids.filter((id) => inRange(id, bounds.lower, bounds.upper)).length;
          // Whole chunks merged stay within the target; a piece of one chunk is at most that chunk.
          if (touched.length > 1 && touched.every((chunk) => within(chunk, bounds)))
            expect(documents).toBeLessThanOrEqual(range.targetRowsPerPartition);
          if (touched.length === 1) expect(documents).toBeLessThanOrEqual((touched[0] as ChunkFacts).count);
        }
      }
      expect(strategies.has('shard-chunks')).toBe(true);
    });
  }

  const oid = (n: number): BoundValue => ({ type: 'objectId', hex: n.toString(16).padStart(24, '0') });
  const range = (count: number, target: number): PartitionPlanInput => ({
    estimatedCount: count,
    targetRowsPerPartition: target,
    minId: oid(1),
    maxId: oid(1_000_000),
  });

  it('merges neighbouring chunks of one shard up to the target and cuts a big chunk inside its bounds', () => {
    const chunks: ChunkFacts[] = [
      { min: null, max: oid(100), shard: 'a', count: 300 },
      { min: oid(100), max: oid(200), shard: 'a', count: 400 },
      { min: oid(200), max: oid(300), shard: 'b', count: 2_000 },
      { min: oid(300), max: null, shard: 'a', count: 100 },
    ];
    const plan = planChunkPartitions({ chunks, range: range(2_800, 1_000) });
    expect(plan.strategy).toBe('shard-chunks');
    expect(plan.reason).toContain('4 chunks on 2 shard(s)');
    expect(plan.partitions).toEqual([
      { lower: null, upper: oid(200) },
      { lower: oid(200), upper: oid(250) },
      { lower: oid(250), upper: oid(300) },
      { lower: oid(300), upper: null },
    ]);
  });

  it('keeps the range plan, saying why, when the chunks cannot bound partitions or cost too many', () => {
    const cases: [string, ChunkFacts[]][] = [
      ['no chunks were read', []],
      ['MinKey to MaxKey', [{ min: oid(1), max: null, shard: 'a', count: 5_000 }]],
      [
        'not contiguous',
        [
          { min: null, max: oid(10), shard: 'a', count: 2_500 },
          { min: oid(20), max: null, shard: 'b', count: 2_500 },
        ],
      ],
      [
        'more than one type bracket',
        [
          { min: null, max: oid(10), shard: 'a', count: 2_500 },
          { min: oid(10), max: { type: 'string', value: 'x' }, shard: 'b', count: 2_500 },
          { min: { type: 'string', value: 'x' }, max: null, shard: 'a', count: 2_500 },
        ],
      ],
      [
        'type date cannot bound',
        [
          { min: null, max: { type: 'other', bsonType: 'date' }, shard: 'a', count: 2_500 },
          { min: { type: 'other', bsonType: 'date' }, max: null, shard: 'b', count: 2_500 },
        ],
      ],
      ['fit one partition', [{ min: null, max: null, shard: 'a', count: 10 }]],
      [
        'would make 40 partitions',
        [...Array(40)].map((_, index) => ({
          min: index === 0 ? null : oid(index * 10),
          max: index === 39 ? null : oid(index * 10 + 10),
          shard: index % 2 === 0 ? 'a' : 'b',
          count: 100,
        })),
      ],
    ];
    for (const [why, chunks] of cases) {
      const plan = planChunkPartitions({ chunks, range: range(5_000, 1_000) });
      expect(plan.strategy, why).not.toBe('shard-chunks');
      expect(plan.reason, why).toMatch(/^not following shard chunks \(/);
      expect(plan.reason, why).toContain(why);
      expectOrderedCover(plan.partitions, [oid(5), oid(15), ...STRANGERS]);
    }
  });
});

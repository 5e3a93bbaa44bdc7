import { z } from 'zod';
import { UnsupportedValueError } from './errors.js';

/**
 * Snapshot partition planning, pure: the source adapter gathers a collection's `_id` facts
 * (count, smallest and largest `_id`, a sample of string `_id`s) and this module turns them into
 * half-open `_id` ranges `[lower, upper)` of about `targetRows` documents each.
 *
 * Coverage rule: the first partition has no lower bound and the last no upper bound, and each
 * inner bound is shared by two neighbours, so every `_id` of every BSON type falls in exactly one
 * partition, including `_id`s of other types inserted while the snapshot runs (an open end
 * reaches across type brackets: see docs/source.md for how the adapter turns that into a query).
 */

/** A bound value the planner can produce: the three `_id` families it knows how to split. */
export type BoundValue =
  | { type: 'objectId'; hex: string }
  /** int or long: exact decimal text, so values beyond 2^53 keep every digit. */
  | { type: 'integer'; value: string }
  | { type: 'double'; value: number }
  | { type: 'string'; value: string };

/** `null` lower = from the very first `_id`; `null` upper = to the very last. */
export interface PartitionBounds {
  lower: BoundValue | null;
  upper: BoundValue | null;
}

/**
 * The smallest or largest `_id` as the planner needs to see it. `other` stands for every type
 * the planner does not split (Decimal128, documents, dates, booleans, null, MinKey…): such a
 * collection, or one whose smallest and largest `_id` are of different brackets, is one partition.
 */
export type IdSummary = BoundValue | { type: 'other'; bsonType: string };

export interface PartitionPlanInput {
  /** The collection's estimated document count (metadata count: cheap, may be stale). */
  estimatedCount: number;
  targetRowsPerPartition: number;
  minId: IdSummary | null;
  maxId: IdSummary | null;
  /** String `_id`s from a `$sample`; used for quantiles when min and max are strings. */
  stringSample?: readonly string[];
  /** Upper limit on partitions, whatever the count says (keeps the plan and the Map small). */
  maxPartitions?: number;
}

export type PlanStrategy =
  | 'single'
  | 'objectId-range'
  | 'integer-range'
  | 'double-range'
  | 'string-quantiles'
  /** Along a ranged `_id` shard key's chunks (chunk-partition-plan.ts). */
  | 'shard-chunks';

export interface PartitionPlan {
  strategy: PlanStrategy;
  /** Why this strategy: shown in logs and pipe status. */
  reason: string;
  partitions: PartitionBounds[];
}

export const DEFAULT_MAX_PARTITIONS = 10_000;

/**
 * MongoDB's comparison order of `_id` brackets. Comparison operators ($lt, $gte…) only match
 * values of the bound's own bracket; the adapter widens open ends with the `$type`s below.
 */
export const TYPE_BRACKETS: readonly (readonly string[])[] = [
  ['minKey'],
  ['undefined', 'null'],
  ['double', 'int', 'long', 'decimal'],
  ['symbol', 'string'],
  ['object'],
  ['array'],
  ['binData'],
  ['objectId'],
  ['bool'],
  ['date'],
  ['timestamp'],
  ['regex'],
  ['dbPointer'],
  ['javascript'],
  ['javascriptWithScope'],
  ['maxKey'],
];

/** Index of the bracket a `$type` name belongs to. */
export function bracketOfType(typeName: string): number {
  const index = TYPE_BRACKETS.findIndex((bracket) => bracket.includes(typeName));
  if (index < 0) throw new RangeError(`unknown BSON type name ${typeName}`);
  return index;
}

export function bracketOfBound(bound: BoundValue): number {
  switch (bound.type) {
    case 'objectId':
      return bracketOfType('objectId');
    case 'integer':
    case 'double':
      return bracketOfType('double');
    case 'string':
      return bracketOfType('string');
  }
}

/** `$type` names of every bracket strictly below (`below`) or above the given one. */
export function typesOutsideBracket(bracket: number, side: 'below' | 'above'): string[] {
  const slice = side === 'below' ? TYPE_BRACKETS.slice(0, bracket) : TYPE_BRACKETS.slice(bracket + 1);
  return slice.flat();
}

const OBJECT_ID_HEX = /^[0-9a-f]{24}$/;
const INTEGER_TEXT = /^-?(0|[1-9][0-9]*)$/;

export function planPartitions(input: PartitionPlanInput): PartitionPlan {
  const target = input.targetRowsPerPartition;
  if (!Number.isInteger(target) || target < 1) throw new RangeError('targetRowsPerPartition must be ≥ 1');
  const cap = Math.max(1, input.maxPartitions ?? DEFAULT_MAX_PARTITIONS);
  const wanted = Math.min(cap, Math.ceil(Math.max(0, input.estimatedCount) / target));
  const single = (reason: string): PartitionPlan => ({
    strategy: 'single',
    reason,
    partitions: [{ lower: null, upper: null }],
  });
  if (wanted <= 1) return single(`about ${input.estimatedCount} documents fit one partition of ${target}`);
  const { minId, maxId } = input;
  if (minId === null || maxId === null) return single('the collection looked empty');
  if (minId.type === 'other' || maxId.type === 'other') {
    return single(
      `_id type ${minId.type === 'other' ? minId.bsonType : (maxId as { bsonType: string }).bsonType} is not split`,
    );
  }
  if (bracketOfBound(minId) !== bracketOfBound(maxId)) {
    return single(`mixed _id types (${minId.type} … ${maxId.type}): one partition covers them all`);
  }
  const cuts = cutPoints(minId, maxId, wanted, input.stringSample ?? []);
  if (cuts.values.length === 0) return single(`the ${minId.type} _id range has no room to split`);
  return { strategy: cuts.strategy, reason: cuts.reason, partitions: boundsFromCuts(cuts.values) };
}

function boundsFromCuts(cuts: readonly BoundValue[]): PartitionBounds[] {
  const partitions: PartitionBounds[] = [];
  let lower: BoundValue | null = null;
  for (const cut of cuts) {
    partitions.push({ lower, upper: cut });
    lower = cut;
  }
  partitions.push({ lower, upper: null });
  return partitions;
}

interface Cuts {
  strategy: PlanStrategy;
  reason: string;
  /** Strictly increasing inner bounds, all greater than min and not above max. */
  values: BoundValue[];
}

function cutPoints(min: BoundValue, max: BoundValue, wanted: number, sample: readonly string[]): Cuts {
  if (min.type === 'objectId' && max.type === 'objectId') {
    const values = splitBigInt(objectIdToBigInt(min.hex), objectIdToBigInt(max.hex), wanted).map(
      (value): BoundValue => ({ type: 'objectId', hex: value.toString(16).padStart(24, '0') }),
    );
    return {
      strategy: 'objectId-range',
      reason: `${wanted} even ObjectId ranges between min and max`,
      values,
    };
  }
  if (min.type === 'integer' && max.type === 'integer') {
    const values = splitBigInt(BigInt(min.value), BigInt(max.value), wanted).map(
      (value): BoundValue => ({ type: 'integer', value: value.toString() }),
    );
    return { strategy: 'integer-range', reason: `${wanted} even integer ranges between min and max`, values };
  }
  if (min.type === 'string' && max.type === 'string') {
    const values = stringQuantiles(sample, min.value, wanted).map(
      (value): BoundValue => ({ type: 'string', value }),
    );
    return {
      strategy: 'string-quantiles',
      reason: `quantiles of ${sample.length} sampled string _ids`,
      values,
    };
  }
  const low = numericValue(min);
  const high = numericValue(max);
  if (low === null || high === null) return { strategy: 'single', reason: 'non-numeric', values: [] };
  const values = splitDouble(low, high, wanted).map((value): BoundValue => ({ type: 'double', value }));
  return { strategy: 'double-range', reason: `${wanted} even numeric ranges between min and max`, values };
}

function numericValue(bound: BoundValue): number | null {
  if (bound.type === 'double') return Number.isFinite(bound.value) ? bound.value : null;
  if (bound.type === 'integer') return Number(bound.value);
  return null;
}

function objectIdToBigInt(hex: string): bigint {
  return BigInt(`0x${hex}`);
}

/** Up to `parts - 1` distinct cut points strictly above `low`, not above `high`, evenly spaced. */
function splitBigInt(low: bigint, high: bigint, parts: number): bigint[] {
  const cuts: bigint[] = [];
  const span = high - low;
  for (let k = 1; k < parts; k++) {
    const cut = low + (span * BigInt(k)) / BigInt(parts);
    if (cut > low && (cuts.length === 0 || cut > (cuts[cuts.length - 1] as bigint))) cuts.push(cut);
  }
  return cuts;
}

function splitDouble(low: number, high: number, parts: number): number[] {
  const cuts: number[] = [];
  for (let k = 1; k < parts; k++) {
    const cut = low + ((high - low) * k) / parts;
    if (Number.isFinite(cut) && cut > low && (cuts.length === 0 || cut > (cuts[cuts.length - 1] as number)))
      cuts.push(cut);
  }
  return cuts;
}

/** MongoDB's default (binary) string order: the bytes of the UTF-8 encoding. */
export function compareStrings(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function stringQuantiles(sample: readonly string[], min: string, parts: number): string[] {
  const sorted = [...new Set(sample)].filter((value) => compareStrings(value, min) > 0).sort(compareStrings);
  const count = Math.min(parts - 1, sorted.length);
  const cuts: string[] = [];
  for (let k = 1; k <= count; k++) {
    const value = sorted[Math.floor((k * sorted.length) / (count + 1))];
    if (
      value !== undefined &&
      (cuts.length === 0 || compareStrings(value, cuts[cuts.length - 1] as string) > 0)
    )
      cuts.push(value);
  }
  return cuts;
}

const boundValueSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('objectId'), hex: z.string().regex(OBJECT_ID_HEX) }),
  z.strictObject({ type: z.literal('integer'), value: z.string().regex(INTEGER_TEXT) }),
  z.strictObject({ type: z.literal('double'), value: z.number().refine(Number.isFinite) }),
  z.strictObject({ type: z.literal('string'), value: z.string() }),
]);

const partitionBoundsSchema = z.strictObject({
  lower: boundValueSchema.nullable(),
  upper: boundValueSchema.nullable(),
});

/** The stored form of a partition's bounds (the pipe store keeps it opaque): compact JSON. */
export function encodePartitionBounds(bounds: PartitionBounds): string {
  return JSON.stringify(partitionBoundsSchema.parse(bounds));
}

/** Reads bounds back from their stored form (a string, or the already-parsed object); refuses anything malformed. */
export function decodePartitionBounds(stored: unknown): PartitionBounds {
  let value: unknown = stored;
  if (typeof stored === 'string') {
    try {
      value = JSON.parse(stored);
    } catch {
      value = undefined;
    }
  }
  const result = partitionBoundsSchema.safeParse(value);
  if (!result.success) {
    throw new UnsupportedValueError(`stored partition bounds are malformed: ${result.error.message}`);
  }
  return result.data;
}

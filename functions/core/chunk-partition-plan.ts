import {
  type BoundValue,
  bracketOfBound,
  compareStrings,
  DEFAULT_MAX_PARTITIONS,
  type IdSummary,
  type PartitionBounds,
  type PartitionPlan,
  type PartitionPlanInput,
  planPartitions,
} from './partition-plan.js';

/**
 * Snapshot partitions along a ranged `_id` shard key's chunks, pure. Through a mongos a `find`
 * whose `_id` range lies inside the chunks of one shard is sent to that shard alone, where a
 * range across chunks of several shards is sent to each of them. So the partitions follow the
 * chunks: neighbouring chunks of one shard are merged up to the target rows, and a chunk above
 * the target is cut with the range planner of partition-plan.ts, inside its own bounds.
 *
 * The coverage rule holds as for every plan: the first chunk starts at MinKey and the last
 * ends at MaxKey (given here as `null`), so the first partition is open below, the last open
 * above, and neighbours share their bound.
 */

/** One chunk of `config.chunks` as the planner needs it. `null` min is MinKey, `null` max MaxKey. */
export interface ChunkFacts {
  min: IdSummary | null;
  max: IdSummary | null;
  shard: string;
  /** Documents in the chunk (counted by the adapter; may be slightly stale). */
  count: number;
}

export interface ChunkPlanInput {
  /** Sorted by `min`, as `config.chunks` is read. */
  chunks: readonly ChunkFacts[];
  /** What the range plan uses: the fallback, and the collection's edges for the open chunks. */
  range: PartitionPlanInput;
}

/** Why the chunk plan was not used, or null when it was. */
type Refusal = string | null;

/** Plans along the chunks where that holds and costs no more partitions, else the range plan with why not. */
export function planChunkPartitions(input: ChunkPlanInput): PartitionPlan {
  const { chunks, range } = input;
  const total = chunks.reduce((sum, chunk) => sum + Math.max(0, chunk.count), 0);
  const target = range.targetRowsPerPartition;
  const wanted = Math.ceil(total / target);
  const refusal = refuseChunks(chunks) ?? (wanted <= 1 ? `about ${total} documents fit one partition` : null);
  if (refusal !== null) return notFollowingChunks(planPartitions(range), refusal);
  const pieces = mergeSameShard(
    (chunks as readonly RangedChunk[]).flatMap((chunk) => splitChunk(chunk, range)),
    target,
  );
  const shards = new Set(chunks.map((chunk) => chunk.shard)).size;
  const cap = Math.max(1, range.maxPartitions ?? DEFAULT_MAX_PARTITIONS);
  // Chunks alternating between shards can make many small partitions: each costs a task and a
  // query, so more than about twice what the range plan makes is not worth one-shard reads.
  const affordable = Math.min(cap, 2 * wanted + shards);
  if (pieces.length > affordable) {
    return notFollowingChunks(
      planPartitions(range),
      `${chunks.length} chunks would make ${pieces.length} partitions (more than ${affordable} for about ${total} documents)`,
    );
  }
  return {
    strategy: 'shard-chunks',
    reason:
      `${chunks.length} chunks on ${shards} shard(s) → ${pieces.length} partitions of at most about ` +
      `${target} documents, each inside one shard's chunks`,
    partitions: pieces.map(({ lower, upper }) => ({ lower, upper })),
  };
}

/** Today's plan, its reason saying first why the chunks were not followed. */
export function notFollowingChunks(plan: PartitionPlan, why: string): PartitionPlan {
  return { ...plan, reason: `not following shard chunks (${why}); ${plan.reason}` };
}

interface RangedChunk {
  min: BoundValue | null;
  max: BoundValue | null;
  shard: string;
  count: number;
}

interface Piece extends PartitionBounds {
  shard: string;
  count: number;
}

/** Why these chunks cannot bound partitions: they must tile the key space in one type bracket. */
function refuseChunks(chunks: readonly ChunkFacts[]): Refusal {
  if (chunks.length === 0) return 'no chunks were read';
  const first = chunks[0] as ChunkFacts;
  const last = chunks[chunks.length - 1] as ChunkFacts;
  if (first.min !== null || last.max !== null) return 'the chunks do not run from MinKey to MaxKey';
  const inner = chunks.slice(1).map((chunk) => chunk.min);
  for (const bound of inner) {
    if (bound === null || bound.type === 'other')
      return `a chunk bound of type ${bound?.type === 'other' ? bound.bsonType : 'MinKey'} cannot bound a partition`;
  }
  const bounds = inner as BoundValue[];
  // An inner partition is read as {$gte: L, $lt: U}, which only matches L's and U's own bracket.
  if (new Set(bounds.map(bracketOfBound)).size > 1) return 'chunk bounds of more than one type bracket';
  for (let index = 0; index + 1 < chunks.length; index += 1) {
    const max = (chunks[index] as ChunkFacts).max;
    const next = bounds[index] as BoundValue;
    if (max === null || max.type === 'other' || compareBounds(max, next) !== 0)
      return 'the chunks read are not contiguous (the chunk table changed while it was read?)';
    if (index > 0 && compareBounds(bounds[index - 1] as BoundValue, next) >= 0)
      return 'the chunks read are not in order';
  }
  return null;
}

/** A chunk above the target, cut with the range planner between its own bounds (or the collection's edges). */
function splitChunk(chunk: RangedChunk, range: PartitionPlanInput): Piece[] {
  const whole: Piece[] = [{ lower: chunk.min, upper: chunk.max, shard: chunk.shard, count: chunk.count }];
  if (chunk.count <= range.targetRowsPerPartition) return whole;
  const low = chunk.min ?? edgeInside(range.minId, chunk);
  const high = chunk.max ?? edgeInside(range.maxId, chunk);
  if (low === null || high === null) return whole;
  const plan = planPartitions({
    estimatedCount: chunk.count,
    targetRowsPerPartition: range.targetRowsPerPartition,
    minId: low,
    maxId: high,
    stringSample: (range.stringSample ?? []).filter((value) => insideChunk({ type: 'string', value }, chunk)),
  });
  // The range planner's cuts lie above `low` and at most `high`; only those inside the chunk count.
  const cuts = plan.partitions
    .slice(1)
    .map((partition) => partition.lower as BoundValue)
    .filter((cut) => insideChunk(cut, chunk) && (chunk.min === null || compareBounds(cut, chunk.min) > 0));
  if (cuts.length === 0) return whole;
  const bounds = [chunk.min, ...cuts, chunk.max];
  const share = chunk.count / (cuts.length + 1);
  return bounds.slice(1).map((upper, index) => ({
    lower: bounds[index] as BoundValue | null,
    upper,
    shard: chunk.shard,
    count: share,
  }));
}

/** The collection's smallest or largest `_id` when it is in the chunk's bracket and range. */
function edgeInside(edge: IdSummary | null, chunk: RangedChunk): BoundValue | null {
  if (edge === null || edge.type === 'other') return null;
  const known = chunk.min ?? chunk.max;
  if (known !== null && bracketOfBound(known) !== bracketOfBound(edge)) return null;
  return insideChunk(edge, chunk) ? edge : null;
}

function insideChunk(value: BoundValue, chunk: RangedChunk): boolean {
  const bracket = bracketOfBound(value);
  const fitsLow =
    chunk.min === null || (bracketOfBound(chunk.min) === bracket && compareBounds(value, chunk.min) >= 0);
  const fitsHigh =
    chunk.max === null || (bracketOfBound(chunk.max) === bracket && compareBounds(value, chunk.max) < 0);
  return fitsLow && fitsHigh;
}

/** Neighbouring pieces of one shard merged while their documents stay within the target. */
function mergeSameShard(pieces: readonly Piece[], target: number): Piece[] {
  const merged: Piece[] = [];
  for (const piece of pieces) {
    const previous = merged[merged.length - 1];
    if (previous && previous.shard === piece.shard && previous.count + piece.count <= target) {
      merged[merged.length - 1] = { ...previous, upper: piece.upper, count: previous.count + piece.count };
    } else {
      merged.push({ ...piece });
    }
  }
  return merged;
}

/** MongoDB's order of two bounds (bracket first; numbers compare across int/long/double). */
export function compareBounds(a: BoundValue, b: BoundValue): number {
  const bracket = bracketOfBound(a) - bracketOfBound(b);
  if (bracket !== 0) return Math.sign(bracket);
  if (a.type === 'objectId' && b.type === 'objectId') return a.hex < b.hex ? -1 : a.hex > b.hex ? 1 : 0;
  if (a.type === 'string' && b.type === 'string') return Math.sign(compareStrings(a.value, b.value));
  if (a.type === 'integer' && b.type === 'integer') {
    const x = BigInt(a.value);
    const y = BigInt(b.value);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  return Math.sign(numberOf(a) - numberOf(b));
}

function numberOf(bound: BoundValue): number {
  return bound.type === 'integer' || bound.type === 'double' ? Number(bound.value) : Number.NaN;
}

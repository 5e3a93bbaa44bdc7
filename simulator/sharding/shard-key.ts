/**
 * Where a document lives: every collection is sharded on `_id`, ranged or hashed, and its key
 * space is cut into chunks, each owned by one shard (the config server's `config.chunks`).
 * Hashed keys use an MD5 of the value's BSON, read as a signed 64-bit integer, as the server's
 * hashed index does; the initial hashed chunks split that space evenly across the shards.
 */
import { createHash } from 'node:crypto';
import { BSON, Long } from 'bson';
import { compareBson, isNumeric, numericValue } from '../storage/bson-order.js';

export type ShardKeySpec = { kind: 'hashed' } | { kind: 'ranged'; splitPoints: unknown[] };

export interface Chunk {
  /** Inclusive lower bound; undefined is MinKey. */
  min: unknown;
  /** Exclusive upper bound; undefined is MaxKey. */
  max: unknown;
  shard: number;
}

const MIN_HASH = -(2n ** 63n);
const HASH_SPAN = 2n ** 64n;

export function hashedKey(id: unknown): bigint {
  const digest = createHash('md5')
    .update(BSON.serialize({ '': hashInput(id) }))
    .digest();
  return digest.readBigInt64LE(0);
}

/**
 * Numbers hash as the 64-bit integer they truncate to, whatever their BSON type, as the
 * server's hasher does, so `1`, `1.0` and `NumberLong(1)` find the same chunk.
 */
function hashInput(id: unknown): unknown {
  if (!isNumeric(id)) return id;
  const value = Math.trunc(numericValue(id));
  return Number.isFinite(value) ? Long.fromNumber(value) : id;
}

export class ShardKeyRouting {
  private chunkList: Chunk[];

  constructor(
    readonly spec: ShardKeySpec,
    shardCount: number,
  ) {
    this.chunkList =
      spec.kind === 'hashed' ? hashedChunks(shardCount) : rangedChunks(spec.splitPoints, shardCount);
  }

  get chunks(): readonly Chunk[] {
    return this.chunkList;
  }

  /** The key-space value of a document `_id`. */
  keyOf(id: unknown): unknown {
    return this.spec.kind === 'hashed' ? hashedKey(id) : id;
  }

  chunkIndexOf(id: unknown): number {
    const key = this.keyOf(id);
    const index = this.chunkList.findIndex((chunk) => this.contains(chunk, key));
    if (index < 0) throw new Error('No chunk covers the key (the chunk table has a hole)');
    return index;
  }

  shardOf(id: unknown): number {
    return (this.chunkList[this.chunkIndexOf(id)] as Chunk).shard;
  }

  contains(chunk: Chunk, key: unknown): boolean {
    const compare = this.spec.kind === 'hashed' ? compareBigints : compareBson;
    if (chunk.min !== undefined && compare(key, chunk.min) < 0) return false;
    return chunk.max === undefined || compare(key, chunk.max) < 0;
  }

  /** Records a migration: the chunk now belongs to `shard`. */
  assign(chunkIndex: number, shard: number): void {
    const chunk = this.chunkList[chunkIndex];
    if (!chunk) throw new RangeError(`No chunk ${chunkIndex}`);
    this.chunkList = this.chunkList.map((each, index) => (index === chunkIndex ? { ...each, shard } : each));
  }
}

function compareBigints(a: unknown, b: unknown): number {
  const left = a as bigint;
  const right = b as bigint;
  return left < right ? -1 : left > right ? 1 : 0;
}

function hashedChunks(shardCount: number): Chunk[] {
  const chunks: Chunk[] = [];
  for (let shard = 0; shard < shardCount; shard += 1) {
    const min = shard === 0 ? undefined : MIN_HASH + (HASH_SPAN * BigInt(shard)) / BigInt(shardCount);
    const max =
      shard === shardCount - 1 ? undefined : MIN_HASH + (HASH_SPAN * BigInt(shard + 1)) / BigInt(shardCount);
    chunks.push({ min, max, shard });
  }
  return chunks;
}

/** Chunks between consecutive split points, dealt round-robin to the shards. */
function rangedChunks(splitPoints: unknown[], shardCount: number): Chunk[] {
  const sorted = [...splitPoints].sort(compareBson);
  const bounds: unknown[] = [undefined, ...sorted, undefined];
  const chunks: Chunk[] = [];
  for (let index = 0; index + 1 < bounds.length; index += 1) {
    chunks.push({ min: bounds[index], max: bounds[index + 1], shard: index % shardCount });
  }
  return chunks;
}

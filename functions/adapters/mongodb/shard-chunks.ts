import type { Document, MongoClient } from 'mongodb';
import type { ChunkFacts } from '../../core/chunk-partition-plan.js';
import type { BoundValue, IdSummary } from '../../core/partition-plan.js';
import type { SourceNamespace } from '../../ports/source.js';
import { briefMessage, withinDeadline } from './bounded.js';
import { bsonTypeName, partitionFilter, summarizeId } from './id-values.js';

/**
 * What a mongos says about a collection's chunks, for the chunk-following snapshot plan
 * (core/chunk-partition-plan.ts): the chunks of a collection sharded on `{_id: 1}`, each with
 * its document count, or why there are none to follow. Only reads and translates.
 *
 * `config.collections` gives the key and the uuid; `config.chunks` is joined by `uuid` from
 * 5.0 on (the collection entry then has a `timestamp`) and by `ns` before (SERVER-53105).
 */
export type ChunkReading = { chunks: ChunkFacts[] } | { why: string };

/** The `config.collections` fields read (`unsplittable`: a tracked, unsharded collection, 8.0+). */
interface CollectionEntry {
  _id: string;
  key?: Document;
  uuid?: unknown;
  timestamp?: unknown;
  dropped?: boolean;
  unsplittable?: boolean;
}

/** Beyond this many chunks, counting each one costs more than a plan is worth. */
const MAX_COUNTED_CHUNKS = 2_000;
/** Chunk counts run this many at a time (each is an `_id` index count on one shard). */
const COUNT_CONCURRENCY = 8;
const UNAUTHORIZED = 13;
const MAX_TIME_MS_EXPIRED = 50;

/**
 * How long reading and counting the chunks may take. The counts together scan the whole `_id`
 * index, at plan time; the range plan needs none of it and is always correct, so past this the
 * plan is the range plan.
 */
export const CHUNK_READING_BUDGET_MS = 10_000;

export interface ChunkReadingOptions {
  budgetMs?: number;
}

/**
 * The chunks with their counts, or why not. Any failure on the way (a step-down during a count,
 * a proxy's own error, the time budget spent) is a reason to keep the range plan, not a failed plan.
 */
export async function readShardChunks(
  client: MongoClient,
  namespace: SourceNamespace,
  options: ChunkReadingOptions = {},
): Promise<ChunkReading> {
  const budget = new Budget(options.budgetMs ?? CHUNK_READING_BUDGET_MS);
  try {
    return await budget.bound(readChunks(client, namespace, budget));
  } catch (error) {
    return { why: whyNotRead(error, budget) };
  }
}

class BudgetSpent extends Error {}

/** A deadline: each server operation gets what is left as its maxTimeMS, and the whole is raced against it. */
class Budget {
  private readonly deadline: number;
  constructor(readonly ms: number) {
    this.deadline = Date.now() + ms;
  }

  /** Milliseconds left; spent, it stops the reading (no further count starts). */
  left(): number {
    const left = this.deadline - Date.now();
    if (left <= 0) throw new BudgetSpent();
    return Math.ceil(left);
  }

  /** The server may not end an operation at its maxTimeMS (a blocked connection): this does. */
  bound<T>(work: Promise<T>): Promise<T> {
    return withinDeadline(work, this.left(), () => new BudgetSpent());
  }
}

function whyNotRead(error: unknown, budget: Budget): string {
  const code = Number((error as { code?: unknown }).code);
  if (error instanceof BudgetSpent || code === MAX_TIME_MS_EXPIRED)
    return `the chunks were not read and counted within ${budget.ms / 1000} s`;
  const codeName = (error as { codeName?: unknown }).codeName;
  const named = typeof codeName === 'string' ? codeName : Number.isNaN(code) ? '' : `code ${code}`;
  return `reading the chunks failed${named ? ` (${named})` : ''}: ${briefMessage(error)}`;
}

async function readChunks(
  client: MongoClient,
  namespace: SourceNamespace,
  budget: Budget,
): Promise<ChunkReading> {
  const hello = await client.db('admin').command({ hello: 1 });
  if (hello.msg !== 'isdbgrid') return { why: 'not a mongos: a replica set has no chunks' };
  const listed = await listChunks(client, namespace, budget);
  if ('why' in listed) return listed;
  if (listed.documents.length > MAX_COUNTED_CHUNKS)
    return { why: `${listed.documents.length} chunks: more than ${MAX_COUNTED_CHUNKS} to count` };
  const chunks = listed.documents.map(chunkFacts);
  await countChunks(client, namespace, chunks, budget);
  return { chunks };
}

/** The collection's chunk documents from the config database, or why there are none to follow. */
async function listChunks(
  client: MongoClient,
  namespace: SourceNamespace,
  budget: Budget,
): Promise<{ documents: Document[] } | { why: string }> {
  const ns = `${namespace.db}.${namespace.coll}`;
  const config = client.db('config');
  try {
    const entry = await config
      .collection<CollectionEntry>('collections')
      .findOne({ _id: ns }, { maxTimeMS: budget.left() });
    if (entry === null || entry.dropped === true || entry.unsplittable === true)
      return { why: 'the collection is not sharded' };
    const keyWhy = whyKeyIsNotFollowed(entry.key);
    if (keyWhy !== null) return { why: keyWhy };
    const documents = await config
      .collection('chunks')
      .find(entry.timestamp !== undefined ? { uuid: entry.uuid } : { ns }, {
        projection: { min: 1, max: 1, shard: 1 },
        sort: { min: 1 },
        promoteValues: false,
        promoteLongs: false,
        maxTimeMS: budget.left(),
      })
      .toArray();
    return { documents };
  } catch (error) {
    if (Number((error as { code?: unknown }).code) === UNAUTHORIZED)
      return { why: 'not authorised to read the config database (Unauthorized)' };
    throw error;
  }
}

function whyKeyIsNotFollowed(key: Document | undefined): string | null {
  const fields = Object.keys(key ?? {});
  const value = key?._id;
  if (fields.length === 1 && value === 'hashed')
    return 'hashed _id shard key: its chunks are ranges of hash values, which a find by _id range cannot target';
  if (fields.length === 1 && Number(value) === 1) return null;
  return `shard key ${JSON.stringify(key)} is not a ranged {_id: 1}`;
}

/** A chunk's bounds as the planner sees them: MinKey and MaxKey become open ends. */
function chunkFacts(document: Document): ChunkFacts {
  return {
    min: boundOf(document.min?._id, 'minKey'),
    max: boundOf(document.max?._id, 'maxKey'),
    shard: String(document.shard),
    count: 0,
  };
}

function boundOf(value: unknown, open: 'minKey' | 'maxKey'): IdSummary | null {
  const type = bsonTypeName(value);
  if (type === open) return null;
  // MaxKey as a lower bound (or MinKey as an upper one) is no partition bound: the core refuses it.
  if (type === 'minKey' || type === 'maxKey') return { type: 'other', bsonType: type };
  return summarizeId(value);
}

/** Counts each chunk's documents in place; a chunk with a bound the planner cannot use is left at 0. */
async function countChunks(
  client: MongoClient,
  namespace: SourceNamespace,
  chunks: ChunkFacts[],
  budget: Budget,
) {
  const collection = client.db(namespace.db).collection(namespace.coll);
  const usable = (bound: IdSummary | null): bound is BoundValue | null =>
    bound === null || bound.type !== 'other';
  for (let start = 0; start < chunks.length; start += COUNT_CONCURRENCY) {
    const slice = chunks.slice(start, start + COUNT_CONCURRENCY);
    await Promise.all(
      slice.map(async (chunk) => {
        if (!usable(chunk.min) || !usable(chunk.max)) return;
        const filter = partitionFilter({ lower: chunk.min, upper: chunk.max });
        chunk.count = await collection.countDocuments(filter, { hint: { _id: 1 }, maxTimeMS: budget.left() });
      }),
    );
  }
}

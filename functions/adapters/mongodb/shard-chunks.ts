import type { Document, MongoClient } from 'mongodb';
import type { ChunkFacts } from '../../core/chunk-partition-plan.js';
import type { BoundValue, IdSummary } from '../../core/partition-plan.js';
import type { SourceNamespace } from '../../ports/source.js';
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

export async function readShardChunks(
  client: MongoClient,
  namespace: SourceNamespace,
): Promise<ChunkReading> {
  const hello = await client.db('admin').command({ hello: 1 });
  if (hello.msg !== 'isdbgrid') return { why: 'not a mongos: a replica set has no chunks' };
  const ns = `${namespace.db}.${namespace.coll}`;
  let chunkDocuments: Document[];
  try {
    const entry = await client.db('config').collection<CollectionEntry>('collections').findOne({ _id: ns });
    if (entry === null || entry.dropped === true || entry.unsplittable === true)
      return { why: 'the collection is not sharded' };
    const keyWhy = whyKeyIsNotFollowed(entry.key);
    if (keyWhy !== null) return { why: keyWhy };
    chunkDocuments = await client
      .db('config')
      .collection('chunks')
      .find(entry.timestamp !== undefined ? { uuid: entry.uuid } : { ns }, {
        projection: { min: 1, max: 1, shard: 1 },
        sort: { min: 1 },
        promoteValues: false,
        promoteLongs: false,
      })
      .toArray();
  } catch (error) {
    if (Number((error as { code?: unknown }).code) === UNAUTHORIZED)
      return { why: 'not authorised to read the config database (Unauthorized)' };
    throw error;
  }
  if (chunkDocuments.length > MAX_COUNTED_CHUNKS)
    return { why: `${chunkDocuments.length} chunks: more than ${MAX_COUNTED_CHUNKS} to count` };
  const chunks = chunkDocuments.map(chunkFacts);
  await countChunks(client, namespace, chunks);
  return { chunks };
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
async function countChunks(client: MongoClient, namespace: SourceNamespace, chunks: ChunkFacts[]) {
  const collection = client.db(namespace.db).collection(namespace.coll);
  const usable = (bound: IdSummary | null): bound is BoundValue | null =>
    bound === null || bound.type !== 'other';
  for (let start = 0; start < chunks.length; start += COUNT_CONCURRENCY) {
    const slice = chunks.slice(start, start + COUNT_CONCURRENCY);
    await Promise.all(
      slice.map(async (chunk) => {
        if (!usable(chunk.min) || !usable(chunk.max)) return;
        const filter = partitionFilter({ lower: chunk.min, upper: chunk.max });
        chunk.count = await collection.countDocuments(filter, { hint: { _id: 1 } });
      }),
    );
  }
}

import {
  BSON,
  type ClientSession,
  type Collection,
  type Document,
  Long,
  type MongoClient,
  MongoUnexpectedServerResponseError,
  ReadPreference,
  Timestamp,
} from 'mongodb';
import { notFollowingChunks, planChunkPartitions } from '../../core/chunk-partition-plan.js';
import { classifySourceError } from '../../core/classify.js';
import { SourceUnavailableError } from '../../core/errors.js';
import type { PartitionBounds } from '../../core/partition-plan.js';
import { planPartitions } from '../../core/partition-plan.js';
import type { PipeSettings } from '../../core/settings.js';
import type {
  PlanFacts,
  PlanOptions,
  SnapshotBatch,
  SnapshotReadOptions,
  SnapshotSource,
  SourceNamespace,
} from '../../ports/source.js';
import {
  bsonTypeName,
  decodeCheckpoint,
  encodeCheckpoint,
  LOST_DATE_TEXT,
  partitionFilter,
  rawIdCheckpoint,
  summarizeId,
} from './id-values.js';
import { type PartitionEnd, ReplyFilters } from './reply-filters.js';
import { readShardChunks } from './shard-chunks.js';

/** How documents are deserialised everywhere in the adapter: Int32 / Double / Long keep their type. */
export const DESERIALIZE_OPTIONS = {
  promoteValues: false,
  promoteBuffers: false,
  promoteLongs: false,
} as const;

const DEFAULT_SAMPLE_SIZE = 1000;
/** Documents per server reply: big enough to amortise the trip, small enough not to overshoot a batch. */
const MAX_REPLY_DOCUMENTS = 2000;

export interface MongoSnapshotSourceOptions {
  readPreference?: PipeSettings['readPreference'];
}

export class MongoSnapshotSource implements SnapshotSource {
  private readonly readPreference: PipeSettings['readPreference'];

  constructor(
    private readonly client: MongoClient,
    options: MongoSnapshotSourceOptions = {},
  ) {
    this.readPreference = options.readPreference ?? 'primary';
  }

  async planPartitions(namespace: SourceNamespace, options: PlanOptions) {
    try {
      const collection = this.collection(namespace);
      const estimatedCount = await collection.estimatedDocumentCount();
      const [minId, maxId] = await Promise.all([this.edgeId(collection, 1), this.edgeId(collection, -1)]);
      const sample =
        estimatedCount > 0 ? await this.sampleIds(collection, options.sampleSize ?? DEFAULT_SAMPLE_SIZE) : [];
      const census: PlanFacts['idTypeCensus'] = {};
      for (const id of [...(minId === undefined ? [] : [minId, maxId]), ...sample]) {
        const type = bsonTypeName(id);
        census[type] = (census[type] ?? 0) + 1;
      }
      const range = {
        estimatedCount,
        targetRowsPerPartition: options.targetRowsPerPartition,
        minId: minId === undefined ? null : summarizeId(minId),
        maxId: maxId === undefined ? null : summarizeId(maxId),
        stringSample: sample.filter((id): id is string => typeof id === 'string'),
      };
      // Through a mongos, partitions along a ranged _id key's chunks are each read by one shard.
      const chunks = await readShardChunks(this.client, namespace);
      const plan =
        'chunks' in chunks
          ? planChunkPartitions({ chunks: chunks.chunks, range })
          : notFollowingChunks(planPartitions(range), chunks.why);
      return { ...plan, estimatedCount, idTypeCensus: census };
    } catch (err) {
      throw classifySourceError(err);
    }
  }

  /**
   * The partition in `_id` order, a server reply at a time. Each reply is the first batch of one
   * `find` after the last `_id` read, run as a command with raw results: its documents are views
   * of the reply's bytes, with no per-document objects from the driver (a cursor's reply builds an
   * element index and a few objects for each document, which outlive the reply's use and were
   * most of the chunk's garbage). No cursor stays open between replies, so no reply depends on
   * reaching the server the previous one came from.
   *
   * A partition with no upper bound is read up to the largest `_id` it holds when the read
   * begins: without that end every reply would return what was inserted since the last, and a
   * read under steady inserts would chase the collection's tail. Later `_id`s were written after
   * the start point (the snapshot reads begin after it is recorded), so CDC brings them.
   *
   * With `end` (a replayed batch's last `_id`), the read goes to it instead, inclusive, and the
   * largest `_id` is not asked for: the replay must yield exactly the batch it replays.
   */
  async *readPartition(
    namespace: SourceNamespace,
    options: SnapshotReadOptions,
  ): AsyncGenerator<SnapshotBatch> {
    if (!(options.maxRows >= 1 && options.maxBytes >= 1))
      throw new RangeError('maxRows and maxBytes must be ≥ 1');
    const session = this.sessionFor(options);
    try {
      const last = await this.endOf(namespace, options, session);
      if (last === EMPTY) return;
      const reply: ReplyQuery = {
        namespace,
        limit: Math.min(options.maxRows, MAX_REPLY_DOCUMENTS),
        session,
        next: new ReplyFilters(options.bounds, options.checkpoint, last, `${namespace.db}.${namespace.coll}`),
      };
      // The batch being filled lives in this object only, so a batch handed over is not kept
      // alive here while the consumer works on it.
      const filling: Filling = { documents: [], bytes: 0 };
      for (;;) {
        const filter = reply.next.filter();
        if (filter === null) break;
        const answer = await this.readReply(reply, filter);
        const documents = throughEnd(answer.documents, reply.next.endToCut);
        // The next reply starts after this one's last `_id`, whatever the consumer takes of it.
        reply.next.answered(documents.length === 0 ? null : checkpointOf(documents), answer.exhausted);
        for (const buffer of documents) {
          if (isFull(filling, buffer.length, options)) yield takeBatch(filling);
          filling.documents.push(buffer);
          filling.bytes += buffer.length;
        }
      }
      if (filling.documents.length > 0) yield takeBatch(filling);
    } catch (err) {
      throw classifySourceError(err);
    } finally {
      await session?.endSession().catch(() => undefined);
    }
  }

  /**
   * One reply's documents: raw BSON views of the reply, in `_id` order; `exhausted` when the
   * filter matches nothing more. The find is not single-batch for that: asked for a batch one
   * over the limit, the server closes the cursor once the limit is reached or nothing is left,
   * and a reply short of its limit with the cursor closed is the second. A reply the 16 MiB reply
   * size cut short leaves the cursor open (then killed): not exhausted, the next reply goes on
   * after its last `_id`.
   */
  private async readReply(
    query: ReplyQuery,
    filter: Document,
  ): Promise<{ documents: Uint8Array[]; exhausted: boolean }> {
    const { session } = query;
    const result = await this.client.db(query.namespace.db).command(
      {
        find: query.namespace.coll,
        filter,
        sort: { _id: 1 },
        hint: { _id: 1 },
        limit: query.limit,
        // One over the limit: the server then meets the limit's end within the batch and closes
        // the cursor (a mongos stopping at a batch of exactly the limit would leave it open).
        batchSize: query.limit + 1,
        ...(session ? { readConcern: { level: 'local' } } : {}),
      },
      {
        readPreference: ReadPreference.fromString(this.readPreference),
        // Sub-documents stay bytes: the reply's `cursor` is read below, its batch left raw.
        raw: true,
        ...(session ? { session } : {}),
      },
    );
    const { documents, cursorId } = firstBatchOf(result.cursor);
    // No reply reads on from a cursor (the next may reach another server): one left open is
    // killed rather than left to time out holding the shards' cursors. Best effort: the kill
    // goes by the same read preference, so it may reach another mongos, which does not know it.
    if (!cursorId.isZero()) await this.killCursor(query, cursorId);
    // Asked for one document at least, a server returns one or closes the cursor: an empty batch
    // of an open cursor would end the partition with documents left, so it is refused.
    if (documents.length === 0 && !cursorId.isZero())
      throw new SourceUnavailableError('the source answered a find with no documents but an open cursor');
    return { documents, exhausted: cursorId.isZero() && documents.length < query.limit };
  }

  private async killCursor(query: ReplyQuery, cursorId: Long): Promise<void> {
    await this.client
      .db(query.namespace.db)
      .command(
        { killCursors: query.namespace.coll, cursors: [cursorId] },
        {
          readPreference: ReadPreference.fromString(this.readPreference),
          ...(query.session ? { session: query.session } : {}),
        },
      )
      .catch(() => undefined);
  }

  /**
   * Where the read ends, inclusive: the given `end`; else an open-ended partition's largest `_id`
   * now (EMPTY when it holds none); else nowhere before the partition's upper bound (null).
   */
  private async endOf(
    namespace: SourceNamespace,
    options: SnapshotReadOptions,
    session: ClientSession | undefined,
  ): Promise<ReadEnd | null> {
    if (options.end !== undefined && options.end !== null) return givenEnd(options.end);
    return options.bounds.upper === null ? this.largestId(namespace, options.bounds, session) : null;
  }

  /**
   * The largest `_id` of an open-ended partition now, or EMPTY when it holds none. Read raw, so
   * its checkpoint is the one the reply holding it will give (exact even for a date the driver
   * cannot decode).
   */
  private async largestId(
    namespace: SourceNamespace,
    bounds: PartitionBounds,
    session: ClientSession | undefined,
  ): Promise<ReadEnd> {
    const [raw] = await this.collection(namespace)
      .find(partitionFilter(bounds), {
        projection: { _id: 1 },
        sort: { _id: -1 },
        hint: { _id: 1 },
        limit: 1,
        raw: true,
        ...(session ? { session, readConcern: { level: 'local' as const } } : {}),
      })
      .toArray();
    if (raw === undefined) return EMPTY;
    const bytes = raw as unknown as Uint8Array;
    const id: unknown = BSON.deserialize(bytes, DESERIALIZE_OPTIONS)._id;
    return { id, checkpoint: rawIdCheckpoint(bytes) ?? encodeCheckpoint(id) };
  }

  /**
   * Reads from a secondary must not predate the snapshot's start point: a causally consistent
   * session advanced to that cluster time makes the driver send `afterClusterTime`.
   */
  private sessionFor(options: SnapshotReadOptions) {
    if (this.readPreference === 'primary' || !options.afterClusterTime) return undefined;
    const session = this.client.startSession({ causalConsistency: true });
    session.advanceOperationTime(
      new Timestamp({ t: options.afterClusterTime.seconds, i: options.afterClusterTime.increment }),
    );
    return session;
  }

  private collection(namespace: SourceNamespace): Collection<Document> {
    return this.client
      .db(namespace.db)
      .collection(namespace.coll, { readPreference: ReadPreference.fromString(this.readPreference) });
  }

  private async edgeId(collection: Collection<Document>, direction: 1 | -1): Promise<unknown> {
    const [doc] = await collection
      .find(
        {},
        {
          projection: { _id: 1 },
          sort: { _id: direction },
          hint: { _id: 1 },
          limit: 1,
          ...DESERIALIZE_OPTIONS,
        },
      )
      .toArray();
    return doc?._id;
  }

  private async sampleIds(collection: Collection<Document>, size: number): Promise<unknown[]> {
    const docs = await collection
      .aggregate([{ $sample: { size } }, { $project: { _id: 1 } }], DESERIALIZE_OPTIONS)
      .toArray();
    return docs.map((doc) => doc._id);
  }
}

/**
 * The last `_id` a read goes to (wrapped: `null` is an `_id` too), with its checkpoint text, or
 * EMPTY for an open-ended partition that holds no `_id`.
 */
type ReadEnd = PartitionEnd | typeof EMPTY;
const EMPTY = Symbol('empty partition');

interface ReplyQuery {
  namespace: SourceNamespace;
  limit: number;
  session: ClientSession | undefined;
  next: ReplyFilters;
}

/**
 * The documents of a raw `find` reply's `cursor` (bytes), each a view of the reply, not a copy,
 * and the cursor's id (0 when the server closed it).
 */
function firstBatchOf(cursor: unknown): { documents: Uint8Array[]; cursorId: Long } {
  if (!(cursor instanceof Uint8Array))
    throw new MongoUnexpectedServerResponseError('the find reply has no cursor document');
  const fields = BSON.deserialize(cursor, { fieldsAsRaw: { firstBatch: true }, ...DESERIALIZE_OPTIONS });
  const batch: unknown = fields.firstBatch;
  if (!Array.isArray(batch))
    throw new MongoUnexpectedServerResponseError("the find reply's cursor has no firstBatch");
  const cursorId = fields.id instanceof Long ? fields.id : Long.fromValue(Number(fields.id ?? 0));
  return { documents: batch as Uint8Array[], cursorId };
}

/**
 * A given end's `_id`, decoded as a checkpoint is. A checkpoint holding a date the driver decoded
 * as an Invalid Date (LOST_DATE_TEXT) does not parse back; no filter could send it either, so it
 * stands as such a date: the filters go without it, and the read cuts at its checkpoint text.
 */
function givenEnd(checkpoint: string): PartitionEnd {
  const id = checkpoint.includes(LOST_DATE_TEXT) ? new Date(Number.NaN) : decodeCheckpoint(checkpoint);
  return { id, checkpoint };
}

/**
 * A reply's documents up to and including the one whose `_id` has the checkpoint `end`: all of
 * them when `end` is null (the filters bound the read) or none of them has it.
 */
function throughEnd(documents: Uint8Array[], end: string | null): Uint8Array[] {
  if (end === null) return documents;
  const at = documents.findIndex((document) => checkpointOf([document]) === end);
  return at < 0 ? documents : documents.slice(0, at + 1);
}

interface Filling {
  documents: Uint8Array[];
  bytes: number;
}

/** True when the document of `size` bytes does not fit in the batch being filled. */
function isFull(filling: Filling, size: number, options: SnapshotReadOptions): boolean {
  const count = filling.documents.length;
  return count > 0 && (count >= options.maxRows || filling.bytes + size > options.maxBytes);
}

/** The batch filled so far, `filling` emptied. */
function takeBatch(filling: Filling): SnapshotBatch {
  const { documents, bytes } = filling;
  filling.documents = [];
  filling.bytes = 0;
  return { documents, bytes, checkpoint: checkpointOf(documents) };
}

/**
 * The checkpoint of a batch: its last document's `_id`, decoded alone. When that cannot be done
 * (no `_id`, a DBRef, bytes that do not decode), the batch's documents are decoded in order as
 * they were before raw reads, so the error raised (or the `_id` returned) is the same.
 */
function checkpointOf(documents: Uint8Array[]): string {
  const last = documents[documents.length - 1] as Uint8Array;
  const id = rawIdCheckpoint(last);
  if (id !== undefined) return id;
  let decoded: Document = {};
  for (const document of documents) decoded = BSON.deserialize(document, DESERIALIZE_OPTIONS);
  return encodeCheckpoint(decoded._id);
}

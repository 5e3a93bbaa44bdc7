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
import { SourceFatalError } from '../../core/errors.js';
import type { PartitionBounds } from '../../core/partition-plan.js';
import { bracketOfType, planPartitions } from '../../core/partition-plan.js';
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
  afterIdFilter,
  afterInBracket,
  bsonTypeName,
  decodeCheckpoint,
  encodeCheckpoint,
  holdsUnsendable,
  LOST_DATE_TEXT,
  partitionFilter,
  rawIdCheckpoint,
  summarizeId,
  throughIdFilter,
} from './id-values.js';
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
   * The partition in `_id` order, a server reply at a time. Each reply is one single-batch `find`
   * after the last `_id` read, run as a command with raw results: its documents are views of the
   * reply's bytes, with no per-document objects from the driver (a cursor's reply builds an
   * element index and a few objects for each document, which outlive the reply's use and were
   * most of the chunk's garbage). No cursor stays open between replies, so no reply depends on
   * reaching the server the previous one came from.
   *
   * A partition with no upper bound is read up to the largest `_id` it holds when the read
   * begins: without that end every reply would return what was inserted since the last, and a
   * read under steady inserts would chase the collection's tail. Later `_id`s were written after
   * the start point (the snapshot reads begin after it is recorded), so CDC brings them.
   */
  async *readPartition(
    namespace: SourceNamespace,
    options: SnapshotReadOptions,
  ): AsyncGenerator<SnapshotBatch> {
    if (!(options.maxRows >= 1 && options.maxBytes >= 1))
      throw new RangeError('maxRows and maxBytes must be ≥ 1');
    const session = this.sessionFor(options);
    try {
      const last =
        options.bounds.upper === null ? await this.largestId(namespace, options.bounds, session) : null;
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
        const documents = await this.readReply(reply, filter);
        // The next reply starts after this one's last `_id`, whatever the consumer takes of it.
        reply.next.answered(documents.length === 0 ? null : checkpointOf(documents));
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

  /** One reply's documents: raw BSON views of the reply, in `_id` order. */
  private async readReply(query: ReplyQuery, filter: Document): Promise<Uint8Array[]> {
    const { session } = query;
    const result = await this.client.db(query.namespace.db).command(
      {
        find: query.namespace.coll,
        filter,
        sort: { _id: 1 },
        hint: { _id: 1 },
        limit: query.limit,
        batchSize: query.limit,
        singleBatch: true,
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
    // `singleBatch` closes the cursor; should a server (a mongos) keep one open anyway, it is
    // killed rather than left to time out holding the shards' cursors. Best effort: the kill
    // goes by the same read preference, so it may reach another mongos, which does not know it.
    if (!cursorId.isZero()) await this.killCursor(query, cursorId);
    return documents;
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
   * The largest `_id` of an open-ended partition now, or EMPTY when it holds none. Read raw, so
   * its checkpoint is the one the reply holding it will give (exact even for a date the driver
   * cannot decode).
   */
  private async largestId(
    namespace: SourceNamespace,
    bounds: PartitionBounds,
    session: ClientSession | undefined,
  ): Promise<LargestId> {
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
 * The largest `_id` an open-ended partition's read goes to (wrapped: `null` is an `_id` too),
 * with its checkpoint text.
 */
type LargestId = PartitionEnd | typeof EMPTY;
export interface PartitionEnd {
  id: unknown;
  checkpoint?: string;
}
const EMPTY = Symbol('empty partition');

interface ReplyQuery {
  namespace: SourceNamespace;
  limit: number;
  session: ClientSession | undefined;
  next: ReplyFilters;
}

/** `_id` types whose `$gt` matches exactly the later `_id`s of the same type bracket. */
const PLAIN_BRACKET_TYPES = new Set(['objectId', 'string', 'int', 'long', 'double', 'decimal', 'date']);

/**
 * The filter of each reply. The first, and any after a reply came back empty, is the general
 * one: the partition's `_id`s after the last read, in every type bracket (what a resumed chunk
 * uses). Past a reply, the next asks only for the later `_id`s of the last one's bracket, in one
 * `_id` range an index answers directly; when that comes back empty, the general filter finds
 * the next bracket's first `_id`s, or nothing at the partition's end. Brackets sort whole in
 * `_id` order, so the replies read the same documents in the same order as the general filter.
 */
export class ReplyFilters {
  private inBracket = false;
  private ended = false;
  private readonly lastCheckpoint: string | null;

  /** The largest `_id` the filters may name (null: none, or one the driver cannot send back). */
  private readonly last: PartitionEnd | null;

  /**
   * `last`: the largest `_id` to read up to (an open-ended partition's), null for none.
   * `collection`: the namespace, for errors.
   */
  constructor(
    private readonly bounds: PartitionBounds,
    private after: string | null,
    last: PartitionEnd | null = null,
    private readonly collection = 'the collection',
  ) {
    this.lastCheckpoint = last === null ? null : (last.checkpoint ?? encodeCheckpoint(last.id));
    // An `_id` the driver cannot send as it was read (a date beyond ±8.64e15 ms goes out as
    // date 0, a DBPointer as a document; also inside a compound `_id`) would bound the read at
    // the wrong place and skip `_id`s silently: the read goes without that end, as before there
    // was one (it may then chase inserts, which CDC also brings), and still ends on reading that
    // `_id`, by its checkpoint.
    this.last = last !== null && !holdsUnsendable(last.id, true) ? last : null;
    // Resumed at the last `_id`: nothing is left (and no filter need name that `_id`).
    this.ended = after !== null && after === this.lastCheckpoint;
  }

  /** The next reply's filter, or null once the partition is read. */
  filter(): Document | null {
    if (this.ended) return null;
    const partition = partitionFilter(this.bounds);
    const through = this.last === null ? {} : throughIdFilter(this.last.id);
    if (this.after === null) return allOf([partition, through]);
    if (this.after.includes(LOST_DATE_TEXT)) throw this.unsendable(this.after);
    const id = decodeCheckpoint(this.after);
    if (holdsUnsendable(id)) throw this.unsendable(this.after);
    const range = this.inBracket ? this.bracketRange(id, partition) : null;
    if (range !== null) return range;
    return allOf([partition, afterIdFilter(id), through]);
  }

  /** No filter can name the `_id`s after this one: the read cannot go on, and retrying does not help. */
  private unsendable(checkpoint: string): SourceFatalError {
    return new SourceFatalError(
      `cannot read ${this.collection} past _id ${checkpoint}: it is or holds a date beyond ±8.64e15 ms (about ` +
        'the years -271821 and 275760), which the MongoDB driver for Node.js cannot put in a query, ' +
        'so the _ids after it cannot be asked for; see docs/source.md, Known limits',
    );
  }

  /** Records a reply: the checkpoint of its last document, or null when it had none. */
  answered(lastCheckpoint: string | null): void {
    if (lastCheckpoint === null) {
      this.ended = !this.inBracket;
      this.inBracket = false;
      return;
    }
    this.after = lastCheckpoint;
    this.inBracket = true;
    // The last `_id` read: nothing is left (saves the two empty replies that would say so).
    this.ended = lastCheckpoint === this.lastCheckpoint;
  }

  /** `_id`s after `id` in its own bracket within the partition, or null when no range says it. */
  private bracketRange(id: unknown, partition: Document): Document | null {
    if (!PLAIN_BRACKET_TYPES.has(bsonTypeName(id))) return null;
    const lower = afterInBracket(id);
    if (this.bounds.upper === null) return { _id: { ...lower, ...this.lastInBracketOf(id) } };
    // A bounded partition's filter is one `_id` range; past an `_id` in it, only its upper
    // bound is left (an `_id` of another bracket than the bound's finds nothing: general filter).
    if (this.bounds.lower === null) return null;
    return { _id: { ...lower, $lt: (partition._id as Document).$lt } };
  }

  /** `$lte` the last `_id` when it is in `id`'s bracket (a bracket below it ends before it). */
  private lastInBracketOf(id: unknown): Document {
    if (this.last === null) return {};
    const bracketOf = (value: unknown) => bracketOfType(bsonTypeName(value));
    return bracketOf(id) === bracketOf(this.last.id) ? { $lte: this.last.id } : {};
  }
}

/** The conjunction of filters, `{}` (everything) left out. */
function allOf(filters: Document[]): Document {
  const clauses = filters.filter((filter) => Object.keys(filter).length > 0);
  if (clauses.length <= 1) return clauses[0] ?? {};
  return { $and: clauses };
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

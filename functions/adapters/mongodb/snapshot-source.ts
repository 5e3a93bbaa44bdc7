import { BSON, type Collection, type Document, type MongoClient, ReadPreference, Timestamp } from 'mongodb';
import { classifySourceError } from '../../core/classify.js';
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
  afterIdFilter,
  bsonTypeName,
  decodeCheckpoint,
  encodeCheckpoint,
  partitionFilter,
  rawIdCheckpoint,
  summarizeId,
} from './id-values.js';

/** How documents are deserialised everywhere in the adapter: Int32 / Double / Long keep their type. */
export const DESERIALIZE_OPTIONS = {
  promoteValues: false,
  promoteBuffers: false,
  promoteLongs: false,
} as const;

const DEFAULT_SAMPLE_SIZE = 1000;
/** Documents per server round trip: big enough to amortise the trip, small enough not to overshoot a batch. */
const MAX_CURSOR_BATCH = 5000;

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
      const plan = planPartitions({
        estimatedCount,
        targetRowsPerPartition: options.targetRowsPerPartition,
        minId: minId === undefined ? null : summarizeId(minId),
        maxId: maxId === undefined ? null : summarizeId(maxId),
        stringSample: sample.filter((id): id is string => typeof id === 'string'),
      });
      return { ...plan, estimatedCount, idTypeCensus: census };
    } catch (err) {
      throw classifySourceError(err);
    }
  }

  async *readPartition(
    namespace: SourceNamespace,
    options: SnapshotReadOptions,
  ): AsyncGenerator<SnapshotBatch> {
    if (!(options.maxRows >= 1 && options.maxBytes >= 1))
      throw new RangeError('maxRows and maxBytes must be ≥ 1');
    const clauses = [partitionFilter(options.bounds)];
    if (options.checkpoint !== null) clauses.push(afterIdFilter(decodeCheckpoint(options.checkpoint)));
    const filter = clauses.length === 1 ? (clauses[0] as Document) : { $and: clauses };
    const session = this.sessionFor(options);
    const cursor = this.collection(namespace).find(filter, {
      sort: { _id: 1 },
      hint: { _id: 1 },
      batchSize: Math.min(options.maxRows, MAX_CURSOR_BATCH),
      // Raw BSON: each document's size is its buffer's length, no re-serialising to measure it.
      raw: true,
      ...(session ? { session, readConcern: { level: 'local' as const } } : {}),
    });
    try {
      // The batch being filled lives in this object only, so a batch handed over is not kept
      // alive here while the consumer works on it.
      const filling: Filling = { documents: [], bytes: 0 };
      // A server reply at a time (hasNext fetches it), not a promise per document.
      while (await cursor.hasNext()) {
        for (const raw of cursor.readBufferedDocuments()) {
          // Each document is a view of the server's reply: kept as bytes, decoded by no one.
          const buffer = raw as unknown as Uint8Array;
          if (isFull(filling, buffer.length, options)) yield takeBatch(filling);
          filling.documents.push(buffer);
          filling.bytes += buffer.length;
        }
      }
      if (filling.documents.length > 0) yield takeBatch(filling);
    } catch (err) {
      throw classifySourceError(err);
    } finally {
      await cursor.close().catch(() => undefined);
      await session?.endSession().catch(() => undefined);
    }
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

import { BSON, MongoClient } from 'mongodb';
import { classifySourceError } from '../../core/classify.js';
import { SampleTimeoutError } from '../../core/sample-errors.js';
import type {
  CollectionSampler,
  SampledDocuments,
  SampleRequest,
  SampleSource,
} from '../../ports/sampler.js';
import { DESERIALIZE_OPTIONS } from './snapshot-source.js';

export interface MongoSamplerOptions {
  /** The source's connection string (a secret read, the host allowlist applied): the caller's rules. */
  resolveUri(source: SampleSource): Promise<string>;
  /** The server's bound on the `$sample` (maxTimeMS). */
  maxTimeMs?: number;
  /** The bound on reading the sample, checked after each server reply (504 past it). */
  timeoutMs?: number;
  /** BSON bytes read at most: a sample of 10,000 large documents must not fill the function's memory. */
  maxBytes?: number;
  /** How long the driver looks for a server to read from (an unreachable source: 502 after this). */
  serverSelectionTimeoutMs?: number;
}

const DEFAULTS = {
  maxTimeMs: 10_000,
  timeoutMs: 15_000,
  maxBytes: 64 * 1024 * 1024,
  serverSelectionTimeoutMs: 5_000,
};

/**
 * `$sample` through the official driver, one short-lived client per request (a sample is rare; a
 * pooled client per URI would keep connections to every source anyone ever sampled).
 */
export class MongoCollectionSampler implements CollectionSampler {
  private readonly limits: typeof DEFAULTS;

  constructor(private readonly options: MongoSamplerOptions) {
    this.limits = {
      maxTimeMs: options.maxTimeMs ?? DEFAULTS.maxTimeMs,
      timeoutMs: options.timeoutMs ?? DEFAULTS.timeoutMs,
      maxBytes: options.maxBytes ?? DEFAULTS.maxBytes,
      serverSelectionTimeoutMs: options.serverSelectionTimeoutMs ?? DEFAULTS.serverSelectionTimeoutMs,
    };
  }

  async sample(request: SampleRequest): Promise<SampledDocuments | null> {
    // Counted from the start: connecting and the collection check use up the same bound.
    const deadline = Date.now() + this.limits.timeoutMs;
    const uri = await this.options.resolveUri(request.source);
    const client = new MongoClient(uri, {
      serverSelectionTimeoutMS: this.limits.serverSelectionTimeoutMs,
      connectTimeoutMS: 5_000,
      appName: 'mongo-clickhouse-pipes-sample',
    });
    try {
      const db = client.db(request.database);
      const found = await db
        .listCollections({ name: request.collection }, { nameOnly: true, maxTimeMS: this.limits.maxTimeMs })
        .toArray();
      if (found.length === 0) return null;
      return await this.readSample(client, request, deadline);
    } catch (err) {
      throw err instanceof SampleTimeoutError ? err : classifySourceError(err);
    } finally {
      await client.close().catch(() => undefined);
    }
  }

  private async readSample(
    client: MongoClient,
    request: SampleRequest,
    deadline: number,
  ): Promise<SampledDocuments> {
    const cursor = client
      .db(request.database)
      .collection(request.collection)
      .aggregate([{ $sample: { size: request.size } }], {
        maxTimeMS: this.limits.maxTimeMs,
        batchSize: Math.min(request.size, 1000),
        // Raw BSON: each document's size is its buffer's length, so the byte bound is exact.
        raw: true,
      });
    const sampled: SampledDocuments = { documents: [], bytes: 0, stoppedAtByteLimit: false };
    try {
      while (await cursor.hasNext()) {
        for (const raw of cursor.readBufferedDocuments()) {
          const buffer = raw as unknown as Uint8Array;
          if (sampled.bytes + buffer.length > this.limits.maxBytes) {
            sampled.stoppedAtByteLimit = true;
            return sampled;
          }
          sampled.bytes += buffer.length;
          sampled.documents.push(BSON.deserialize(buffer, DESERIALIZE_OPTIONS));
        }
        if (Date.now() >= deadline) throw new SampleTimeoutError(this.limits.timeoutMs);
      }
      return sampled;
    } finally {
      await cursor.close().catch(() => undefined);
    }
  }
}

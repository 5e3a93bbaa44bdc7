/**
 * Reads a random sample of a collection's documents (`POST /sources/sample`). The API checks the
 * request and describes the sample with the core (functions/core/sample-*.ts); the adapter
 * (functions/adapters/mongodb/sample-source.ts) connects, checks the collection exists and reads.
 */

/** Where to read from: as a create request's `source`, already checked against the deployment's rules. */
export type SampleSource = { uri: string } | { secretArn: string };

export interface SampleRequest {
  source: SampleSource;
  database: string;
  collection: string;
  /** Documents to ask `$sample` for. */
  size: number;
}

export interface SampledDocuments {
  /** Decoded without promoting numbers (Int32, Double, Long, Decimal128 keep their BSON classes). */
  documents: unknown[];
  /** BSON bytes read. */
  bytes: number;
  /** The sample stopped early: its bytes reached the adapter's bound. */
  stoppedAtByteLimit: boolean;
}

export interface CollectionSampler {
  /** Null when the database has no collection (or view) of that name. */
  sample(request: SampleRequest): Promise<SampledDocuments | null>;
}

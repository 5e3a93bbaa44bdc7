/**
 * A change stream read as raw BSON: the `$changeStream` aggregate and its getMores, run by the
 * driver's aggregation cursor with `raw: true`. The driver's ChangeStream cannot hand events over
 * raw (it reads each event's `_id` to cache the resume token), and the product keeps its own
 * resume points anyway: it reopens the stream for every batch.
 */
import {
  type AggregationCursor,
  type Document,
  type MongoClient,
  MongoError,
  MongoNetworkError,
  MongoServerSelectionError,
} from 'mongodb';
import type { SourceNamespace } from '../../ports/source.js';
import { watchScope } from './change-pipeline.js';
import { encodeResumeToken, type StreamPosition } from './resume-plan.js';

export type ChangeCursor = AggregationCursor<Document>;

export interface ChangeCursorOptions {
  /** Where the stream starts; none for "now". */
  position: StreamPosition | Record<string, never>;
  /** The stages after `$changeStream` (change-pipeline.ts). */
  pipeline: Document[];
  namespaces: readonly SourceNamespace[];
  /** How long one getMore waits for events. */
  awaitMs: number;
  batchSize: number;
}

/** Opens (lazily: the aggregate runs on the first read) a raw change stream over the pipe's scope. */
export function openChangeCursor(client: MongoClient, options: ChangeCursorOptions): ChangeCursor {
  const scope = watchScope(options.namespaces);
  // showExpandedEvents is left at the server's default (false): Amazon DocumentDB refuses the option.
  const stage: Document = { ...options.position, fullDocument: 'updateLookup' };
  if (scope.kind === 'cluster') stage.allChangesForCluster = true;
  const db = client.db(scope.kind === 'database' ? scope.db : 'admin');
  return db.aggregate([{ $changeStream: stage }, ...options.pipeline], {
    raw: true,
    batchSize: options.batchSize,
    maxAwaitTimeMS: options.awaitMs,
  });
}

interface CursorReply {
  postBatchResumeToken?: unknown;
}

/**
 * The post-batch resume token of the cursor's last reply, serialized; null when the server sent
 * none. The aggregation cursor keeps its last reply (driver 7's `documents`, a CursorResponse
 * that reads `postBatchResumeToken` as the ChangeStream's own cursor does) without exposing it.
 */
export function postBatchResumeToken(cursor: ChangeCursor): string | null {
  const reply = (cursor as unknown as { documents?: CursorReply | null }).documents;
  if (reply === undefined)
    throw new TypeError(
      'the mongodb driver no longer keeps a cursor reply as `documents`: see change-cursor.ts',
    );
  const token = reply?.postBatchResumeToken ?? null;
  return token === null ? null : encodeResumeToken(token);
}

/**
 * The errors after which a change stream is resumed rather than failed (the change streams
 * specification's rule for servers of wire version 9 and later, which the driver applies).
 */
export function isResumableChangeStreamError(error: unknown): boolean {
  if (error instanceof MongoNetworkError || error instanceof MongoServerSelectionError) return true;
  if (!(error instanceof MongoError)) return false;
  return error.code === CURSOR_NOT_FOUND || error.hasErrorLabel('ResumableChangeStreamError');
}

const CURSOR_NOT_FOUND = 43;

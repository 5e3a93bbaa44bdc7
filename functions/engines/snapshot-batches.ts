/**
 * The snapshot's batch bounds and pieces: the source is read in small pieces, each piece's raw
 * BSON transcoded into its batch's JSONEachRow body as soon as it arrives, and pieces grouped into
 * batches within the pipe's batch bounds (streamed-batch.ts groups them).
 */
import { BsonFormatError } from '../core/bson-transcode.js';
import { classifySourceError } from '../core/classify.js';
import type { SnapshotBody } from '../core/snapshot-lines.js';

/** A piece is a few server replies at most (the source's replies hold at most 2000 documents). */
export const PIECE_MAX_ROWS = 5_000;
export const PIECE_MAX_BYTES = 4 * 1024 * 1024;

export interface BatchBounds {
  maxRows: number;
  /** BSON bytes. */
  maxBytes: number;
}

/** The bounds to read pieces with: the smaller of a piece's and the batch's. */
export function pieceBounds(batch: BatchBounds): BatchBounds {
  return {
    maxRows: Math.min(batch.maxRows, PIECE_MAX_ROWS),
    maxBytes: Math.min(batch.maxBytes, PIECE_MAX_BYTES),
  };
}

/** Whether a batch of `rows` documents and `bytes` of BSON is within `bounds`. */
export function withinBounds(rows: number, bytes: number, bounds: BatchBounds): boolean {
  return rows <= bounds.maxRows && bytes <= bounds.maxBytes;
}

/**
 * One piece's lines into a body. A document that cannot become a row fails as it did when the
 * source decoded every document: bytes the driver could not decode as the source classified its
 * decode error (SourceFatalError), anything else as snapshotRow raised it.
 */
export function transcodePiece(body: SnapshotBody, documents: readonly Uint8Array[]): void {
  try {
    body.append(documents);
  } catch (error) {
    throw error instanceof BsonFormatError ? classifySourceError(error) : error;
  }
}

/**
 * A snapshot partition as insert batches ready to send: the source is read in small pieces, each
 * piece's raw BSON is transcoded into its batch's JSONEachRow body as soon as it arrives (so raw
 * documents die young and only bodies stay alive), and pieces are grouped into batches within
 * the pipe's batch bounds.
 */
import { BsonFormatError } from '../core/bson-transcode.js';
import { classifySourceError } from '../core/classify.js';
import { ChunkBuffers, SnapshotBody } from '../core/snapshot-lines.js';
import type { SnapshotBatch } from '../ports/source.js';

/** A piece is about one server reply (the source's cursor batch is at most 5000 documents). */
export const PIECE_MAX_ROWS = 5_000;
export const PIECE_MAX_BYTES = 4 * 1024 * 1024;

/** An insert batch: its body encoded, its raw documents let go. */
export interface EncodedBatch {
  body: Uint8Array[];
  rows: number;
  /** BSON bytes read. */
  bytes: number;
  /** The serialized `_id` of the batch's last document. */
  checkpoint: string;
}

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

/**
 * Groups pieces into batches of at most `bounds` (a single piece larger than them, one document
 * over `maxBytes`, is a batch of its own), transcoding each piece into its batch's body as it
 * arrives. A batch is handed over as soon as no further piece could fit, so the piece after it is
 * only read when the next batch is asked for. Batches cut at whole pieces are deterministic from
 * the partition's data and checkpoint, so a replayed batch is the same batch. Chunk buffers come
 * from `buffers` (give a sent body's back with `buffers.release`).
 */
export async function* encodedBatches(
  pieces: AsyncIterable<SnapshotBatch> | Iterable<SnapshotBatch>,
  bounds: BatchBounds,
  useJsonNativeFormat: boolean,
  buffers: ChunkBuffers = new ChunkBuffers(),
): AsyncGenerator<EncodedBatch> {
  const piece = pieceBounds(bounds);
  let batch: BatchInProgress | null = null;
  for await (const read of pieces) {
    if (read.documents.length === 0) continue;
    if (batch !== null && !fits(batch, read, bounds)) {
      yield finished(batch);
      batch = null;
    }
    batch ??= newBatch();
    appendPiece(batch, read);
    if (!fits(batch, { documents: { length: piece.maxRows }, bytes: piece.maxBytes }, bounds)) {
      yield finished(batch);
      batch = null;
    }
  }
  if (batch !== null) yield finished(batch);

  function newBatch(): BatchInProgress {
    return { body: new SnapshotBody(useJsonNativeFormat, buffers), rows: 0, bytes: 0, checkpoint: '' };
  }
}

interface BatchInProgress {
  body: SnapshotBody;
  rows: number;
  bytes: number;
  checkpoint: string;
}

function fits(
  batch: BatchInProgress,
  piece: { documents: { length: number }; bytes: number },
  bounds: BatchBounds,
): boolean {
  return (
    batch.rows + piece.documents.length <= bounds.maxRows && batch.bytes + piece.bytes <= bounds.maxBytes
  );
}

/**
 * One piece's lines into its batch. A document that cannot become a row fails as it did when the
 * source decoded every document: bytes the driver could not decode as the source classified its
 * decode error (SourceFatalError), anything else as snapshotRow raised it.
 */
function appendPiece(batch: BatchInProgress, piece: SnapshotBatch): void {
  try {
    batch.body.append(piece.documents);
  } catch (error) {
    throw error instanceof BsonFormatError ? classifySourceError(error) : error;
  }
  batch.rows += piece.documents.length;
  batch.bytes += piece.bytes;
  batch.checkpoint = piece.checkpoint;
}

function finished(batch: BatchInProgress): EncodedBatch {
  const lines = batch.body.finish();
  return { body: lines.chunks, rows: lines.rows, bytes: batch.bytes, checkpoint: batch.checkpoint };
}

/**
 * A snapshot partition as insert batches ready to send: the source is read in small pieces, each
 * piece's raw BSON is transcoded into JSONEachRow lines as soon as it arrives (so raw documents
 * die young and only bodies stay alive), and pieces are grouped into batches within the pipe's
 * batch bounds.
 */
import { BsonFormatError } from '../core/bson-transcode.js';
import { classifySourceError } from '../core/classify.js';
import { encodeSnapshotLines } from '../core/snapshot-lines.js';
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
 * Groups encoded pieces into batches of at most `bounds` (a single piece larger than them, one
 * document over `maxBytes`, is a batch of its own). A batch is handed over as soon as no further
 * piece could fit, so the piece after it is only read when the next batch is asked for. Pieces
 * cut at whole pieces are deterministic from the partition's data and checkpoint, so a replayed
 * batch is the same batch.
 */
export async function* encodedBatches(
  pieces: AsyncIterable<SnapshotBatch> | Iterable<SnapshotBatch>,
  bounds: BatchBounds,
  useJsonNativeFormat: boolean,
): AsyncGenerator<EncodedBatch> {
  const piece = pieceBounds(bounds);
  let batch: EncodedBatch | null = null;
  for await (const read of pieces) {
    if (read.documents.length === 0) continue;
    const encoded = encodePiece(read, useJsonNativeFormat);
    if (batch !== null && !fits(batch, encoded, bounds)) {
      yield batch;
      batch = null;
    }
    batch = batch === null ? encoded : joined(batch, encoded);
    if (!fits(batch, { rows: piece.maxRows, bytes: piece.maxBytes }, bounds)) {
      yield batch;
      batch = null;
    }
  }
  if (batch !== null) yield batch;
}

function fits(batch: EncodedBatch, more: { rows: number; bytes: number }, bounds: BatchBounds): boolean {
  return batch.rows + more.rows <= bounds.maxRows && batch.bytes + more.bytes <= bounds.maxBytes;
}

function joined(batch: EncodedBatch, piece: EncodedBatch): EncodedBatch {
  batch.body.push(...piece.body);
  return {
    body: batch.body,
    rows: batch.rows + piece.rows,
    bytes: batch.bytes + piece.bytes,
    checkpoint: piece.checkpoint,
  };
}

/**
 * One piece's lines. A document that cannot become a row fails as it did when the source decoded
 * every document: bytes the driver could not decode as the source classified its decode error
 * (SourceFatalError), anything else as snapshotRow raised it.
 */
function encodePiece(piece: SnapshotBatch, useJsonNativeFormat: boolean): EncodedBatch {
  try {
    const lines = encodeSnapshotLines(piece.documents, useJsonNativeFormat);
    return { body: lines.chunks, rows: lines.rows, bytes: piece.bytes, checkpoint: piece.checkpoint };
  } catch (error) {
    throw error instanceof BsonFormatError ? classifySourceError(error) : error;
  }
}

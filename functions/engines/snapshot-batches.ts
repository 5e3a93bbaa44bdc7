/**
 * The snapshot's batch bounds and pieces: the source is read in small pieces, each piece's raw
 * BSON transcoded into its batch's JSONEachRow body as soon as it arrives, and pieces grouped into
 * batches within the pipe's batch bounds. The chunk streams each batch into its insert
 * (streamed-batch.ts) with these bounds and `transcodePiece`; `encodedBatches` makes whole
 * bodies the same way, for the benchmark's raw write (the bodies a chunk sends, ready before
 * the write is timed).
 */
import { BsonFormatError } from '../core/bson-transcode.js';
import { classifySourceError } from '../core/classify.js';
import { ChunkBuffers, SnapshotBody } from '../core/snapshot-lines.js';
import { ShapeRun, type TableShape } from '../core/table-shape.js';
import type { SnapshotBatch } from '../ports/source.js';

/** A piece is a few server replies at most (the source's replies hold at most 2000 documents). */
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
  /** Typed column values of the batch that did not convert, per column ({} without a shape). */
  mismatches: Record<string, number>;
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
 * only read when the next batch is asked for. Chunk buffers come from `buffers` (give a sent
 * body's back with `buffers.release`).
 */
export async function* encodedBatches(
  pieces: AsyncIterable<SnapshotBatch> | Iterable<SnapshotBatch>,
  bounds: BatchBounds,
  useJsonNativeFormat: boolean,
  buffers: ChunkBuffers = new ChunkBuffers(),
  /** The table's typed columns and excluded fields; null for the plain rows. */
  shape: TableShape | null = null,
): AsyncGenerator<EncodedBatch> {
  const reader =
    Symbol.asyncIterator in pieces
      ? pieces[Symbol.asyncIterator]()
      : (async function* () {
          yield* pieces;
        })();
  const grouping: Grouping = {
    bounds,
    piece: pieceBounds(bounds),
    useJsonNativeFormat,
    buffers,
    shape,
    batch: null,
  };
  try {
    for (;;) {
      // A piece is read and transcoded inside nextStep, so no raw piece stays alive here while a
      // finished batch waits for its turn.
      const step = await nextStep(reader, grouping);
      for (const batch of step.ready) yield batch;
      if (step.error !== undefined) throw step.error;
      if (step.done) return;
    }
  } finally {
    await reader.return?.();
  }
}

interface Grouping {
  bounds: BatchBounds;
  piece: BatchBounds;
  useJsonNativeFormat: boolean;
  buffers: ChunkBuffers;
  shape: TableShape | null;
  batch: BatchInProgress | null;
}

/**
 * Reads one piece into the batch being built: the batches it completes, in order (the one it did
 * not fit in, then its own when no further piece could fit), and an error of its transcoding,
 * raised once the batch before it is handed over.
 */
async function nextStep(
  reader: AsyncIterator<SnapshotBatch>,
  grouping: Grouping,
): Promise<{ ready: EncodedBatch[]; done: boolean; error?: unknown }> {
  const ready: EncodedBatch[] = [];
  const read = await reader.next();
  if (read.done) {
    if (grouping.batch !== null) ready.push(finished(grouping.batch));
    grouping.batch = null;
    return { ready, done: true };
  }
  const piece = read.value;
  if (piece.documents.length === 0) return { ready, done: false };
  if (
    grouping.batch !== null &&
    !fits(grouping.batch, piece.documents.length, piece.bytes, grouping.bounds)
  ) {
    ready.push(finished(grouping.batch));
    grouping.batch = null;
  }
  grouping.batch ??= newBatch(grouping);
  try {
    appendPiece(grouping.batch, piece);
  } catch (error) {
    return { ready, done: false, error };
  }
  // No room for a further piece of the largest size: hand the batch over now.
  if (!fits(grouping.batch, grouping.piece.maxRows, grouping.piece.maxBytes, grouping.bounds)) {
    ready.push(finished(grouping.batch));
    grouping.batch = null;
  }
  return { ready, done: false };
}

function newBatch(grouping: Grouping): BatchInProgress {
  const shape = grouping.shape === null ? undefined : new ShapeRun(grouping.shape);
  return {
    body: new SnapshotBody(grouping.useJsonNativeFormat, grouping.buffers, shape),
    shape,
    rows: 0,
    bytes: 0,
    checkpoint: '',
  };
}

interface BatchInProgress {
  body: SnapshotBody;
  shape: ShapeRun | undefined;
  rows: number;
  bytes: number;
  checkpoint: string;
}

/** Whether `rows` more documents of `bytes` more BSON stay within the batch's bounds. */
function fits(batch: BatchInProgress, rows: number, bytes: number, bounds: BatchBounds): boolean {
  return withinBounds(batch.rows + rows, batch.bytes + bytes, bounds);
}

/** Whether a batch of `rows` documents and `bytes` of BSON is within `bounds`. */
export function withinBounds(rows: number, bytes: number, bounds: BatchBounds): boolean {
  return rows <= bounds.maxRows && bytes <= bounds.maxBytes;
}

/**
 * One piece's lines into its batch. A document that cannot become a row fails as it did when the
 * source decoded every document: bytes the driver could not decode as the source classified its
 * decode error (SourceFatalError), anything else as snapshotRow raised it.
 */
function appendPiece(batch: BatchInProgress, piece: SnapshotBatch): void {
  transcodePiece(batch.body, piece.documents);
  batch.rows += piece.documents.length;
  batch.bytes += piece.bytes;
  batch.checkpoint = piece.checkpoint;
}

/** One piece's lines into a body, failing as appendPiece says. */
export function transcodePiece(body: SnapshotBody, documents: readonly Uint8Array[]): void {
  try {
    body.append(documents);
  } catch (error) {
    throw error instanceof BsonFormatError ? classifySourceError(error) : error;
  }
}

function finished(batch: BatchInProgress): EncodedBatch {
  const lines = batch.body.finish();
  return {
    body: lines.chunks,
    rows: lines.rows,
    bytes: batch.bytes,
    checkpoint: batch.checkpoint,
    mismatches: batch.shape?.mismatchCounts() ?? {},
  };
}

/**
 * One snapshot batch streamed into its insert: its pieces are transcoded into the JSONEachRow body
 * as they arrive and each chunk is handed to the insert as soon as it is full, so no whole body
 * is ever held. Where the batch ends is known only once its last piece is in: the body waits
 * for `beforeEnd` (the previous batch checkpointed, this one recorded as pending) before it ends,
 * and ClickHouse commits an insert only once its body has ended.
 */
import { ChunkBuffers, SnapshotBody } from '../core/snapshot-lines.js';
import { ShapeRun, type TableShape } from '../core/table-shape.js';
import type { SnapshotBatch } from '../ports/source.js';
import { type BatchBounds, pieceBounds, transcodePiece, withinBounds } from './snapshot-batches.js';

/** A partition's pieces as read, with one piece put back for the next batch. */
export class PieceReader {
  private carried: SnapshotBatch | null = null;

  constructor(private readonly pieces: AsyncIterator<SnapshotBatch>) {}

  /** The next piece holding documents, or null once the read is over. */
  async next(): Promise<SnapshotBatch | null> {
    const carried = this.carried;
    if (carried !== null) {
      this.carried = null;
      return carried;
    }
    for (;;) {
      const read = await this.pieces.next();
      if (read.done) return null;
      if (read.value.documents.length > 0) return read.value;
    }
  }

  /** Whether a document is left: reads the next piece and keeps it for `next`. */
  async hasMore(): Promise<boolean> {
    const piece = await this.next();
    if (piece === null) return false;
    this.putBack(piece);
    return true;
  }

  putBack(piece: SnapshotBatch): void {
    this.carried = piece;
  }

  /** Stops the read (the source's generator closes its reads). */
  async close(): Promise<void> {
    this.carried = null;
    await this.pieces.return?.();
  }
}

/** Where a batch starts: the partition's checkpoint before it, and the seq its own will carry. */
export interface BatchStart {
  checkpoint: string | null;
  seq: number;
}

/** Runs once the batch's lines are all sent, before its body ends; a throw aborts the insert. */
export type BeforeEnd = (batch: StreamedBatch) => Promise<void>;

export class StreamedBatch {
  rows = 0;
  /** BSON bytes read. */
  bytes = 0;
  /** The serialized `_id` of the batch's last document ('' before its first piece). */
  end = '';
  /** Resolves once the body is complete and `beforeEnd` has passed, just before the body ends. */
  readonly ended: Promise<void>;
  private markEnded: () => void = () => undefined;
  private readonly body: SnapshotBody;
  private readonly shape: ShapeRun | undefined;

  /** `bounds` null: every piece the reader has goes into this batch (a replay up to its end). */
  constructor(
    readonly start: BatchStart,
    private readonly bounds: BatchBounds | null,
    useJsonNativeFormat: boolean,
    shape: TableShape | null,
  ) {
    this.ended = new Promise<void>((resolve) => {
      this.markEnded = resolve;
    });
    this.shape = shape === null ? undefined : new ShapeRun(shape);
    // Chunks are never given back: a sent chunk may still be in the socket's queue.
    this.body = new SnapshotBody(useJsonNativeFormat, new ChunkBuffers(), this.shape);
  }

  /** Typed column values of the batch that did not convert, per column ({} without a shape). */
  mismatches(): Record<string, number> {
    return this.shape?.mismatchCounts() ?? {};
  }

  /**
   * The body: pieces from `reader` until the batch is full (a piece that does not fit is put
   * back for the next batch) or the read is over, each full chunk yielded as soon as it is
   * written, then `beforeEnd`. Call once the reader has a document (hasMore).
   */
  async *lines(reader: PieceReader, beforeEnd: BeforeEnd): AsyncGenerator<Uint8Array> {
    yield* this.pieces(reader);
    yield* this.body.finish().chunks;
    await beforeEnd(this);
    this.markEnded();
  }

  private async *pieces(reader: PieceReader): AsyncGenerator<Uint8Array> {
    for (;;) {
      const piece = await reader.next();
      if (piece === null) return;
      if (this.rows > 0 && !this.fits(piece.documents.length, piece.bytes)) {
        reader.putBack(piece);
        return;
      }
      transcodePiece(this.body, piece.documents);
      this.rows += piece.documents.length;
      this.bytes += piece.bytes;
      this.end = piece.checkpoint;
      yield* this.body.takeChunks();
      if (!this.roomForAPiece()) return;
    }
  }

  private fits(rows: number, bytes: number): boolean {
    return this.bounds === null || withinBounds(this.rows + rows, this.bytes + bytes, this.bounds);
  }

  /** Room for a further piece of the largest size: else the batch ends without reading one more. */
  private roomForAPiece(): boolean {
    if (this.bounds === null) return true;
    const piece = pieceBounds(this.bounds);
    return this.fits(piece.maxRows, piece.maxBytes);
  }
}

/** A batch's whole body, made by StreamedBatch as a chunk would send it. */
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

/**
 * The batches a chunk would stream, each body whole: the benchmark's raw write sends the bodies
 * a chunk sends, made before the write is timed. The same grouping as the chunk's, so a batch is
 * handed over once no further piece could fit, before the piece after it is read.
 */
export async function* encodedBatches(
  pieces: AsyncIterable<SnapshotBatch> | Iterable<SnapshotBatch>,
  bounds: BatchBounds,
  useJsonNativeFormat: boolean,
  /** The table's typed columns and excluded fields; null for the plain rows. */
  shape: TableShape | null = null,
): AsyncGenerator<EncodedBatch> {
  const reader = new PieceReader(iteratorOf(pieces));
  try {
    while (await reader.hasMore()) {
      const batch = new StreamedBatch({ checkpoint: null, seq: 0 }, bounds, useJsonNativeFormat, shape);
      const body: Uint8Array[] = [];
      for await (const chunk of batch.lines(reader, async () => undefined)) body.push(chunk);
      yield {
        body,
        rows: batch.rows,
        bytes: batch.bytes,
        checkpoint: batch.end,
        mismatches: batch.mismatches(),
      };
    }
  } finally {
    await reader.close();
  }
}

function iteratorOf<T>(items: AsyncIterable<T> | Iterable<T>): AsyncIterator<T> {
  if (Symbol.asyncIterator in items) return items[Symbol.asyncIterator]();
  return (async function* () {
    yield* items;
  })();
}

/**
 * A snapshot batch's insert body, straight from its raw BSON documents: one JSONEachRow line per
 * document, byte for byte `toJsonEachRowLine(snapshotRow(…))` of the decoded document
 * (bson-transcode.ts), with no row object in between.
 */
import { appendSnapshotLine, JsonSink } from './bson-transcode.js';
import type { ShapeRun } from './table-shape.js';

/** The body is cut into chunks of about this size: one HTTP write each, and no buffer twice the body. */
export const BODY_CHUNK_BYTES = 1024 * 1024;
/** Room past BODY_CHUNK_BYTES for the line that ends a chunk, so it seldom needs a bigger buffer. */
const CHUNK_SLACK_BYTES = 64 * 1024;
/** The buffer a chunk is written into. */
const CHUNK_BUFFER_BYTES = BODY_CHUNK_BYTES + CHUNK_SLACK_BYTES;

/**
 * Chunk buffers reused from one batch to the next: a body that was sent gives its buffers back,
 * so a chunk's memory is not left for the garbage collector to find (it holds Buffer memory
 * outside the heap, which V8 frees late). Only buffers of the chunk size are kept; a chunk
 * copied or grown for a long line is left to the GC.
 */
export class ChunkBuffers {
  private readonly free: Buffer[] = [];

  /** A sink writing into a free buffer, or a new one. */
  sink(): JsonSink {
    const buffer = this.free.pop();
    if (buffer === undefined) return new JsonSink(CHUNK_BUFFER_BYTES);
    const sink = new JsonSink(0);
    sink.buf = buffer;
    return sink;
  }

  /**
   * Takes back the buffers of a body nothing reads any more (its insert has answered). Each
   * body is given back once.
   */
  release(chunks: readonly Uint8Array[]): void {
    for (const chunk of chunks) {
      if (chunk.byteOffset === 0 && chunk.buffer.byteLength === CHUNK_BUFFER_BYTES)
        this.free.push(Buffer.from(chunk.buffer, 0, CHUNK_BUFFER_BYTES));
    }
  }

  /** Takes back a sink's buffer that no chunk refers to. */
  reuse(buffer: Buffer): void {
    if (
      buffer.byteOffset === 0 &&
      buffer.buffer.byteLength === CHUNK_BUFFER_BYTES &&
      buffer.length === CHUNK_BUFFER_BYTES
    )
      this.free.push(buffer);
  }
}

export interface EncodedLines {
  /** The lines, each ending in `\n`, in chunks of about BODY_CHUNK_BYTES (a longer line makes a longer chunk). */
  chunks: Uint8Array[];
  /** Lines written (one per document). */
  rows: number;
  /** Sum of the chunks' lengths. */
  bytes: number;
}

/**
 * An insert body being written line by line into chunks of about BODY_CHUNK_BYTES, handed over at
 * the end, or as they fill (takeChunks) when the body is streamed.
 */
export class LineBody {
  private sink: JsonSink;
  private chunks: Uint8Array[] = [];
  private rows = 0;
  private bytes = 0;

  constructor(private readonly buffers: ChunkBuffers = new ChunkBuffers()) {
    this.sink = buffers.sink();
  }

  /**
   * Appends one line: `write` appends it without its newline, or throws having appended nothing
   * (the transcoder's contract); after a throw the body is not to be used any more.
   */
  line(write: (sink: JsonSink) => void): void {
    write(this.sink);
    this.sink.rawByte(0x0a);
    this.rows += 1;
    if (this.sink.pos >= BODY_CHUNK_BYTES) {
      this.cut();
      this.sink = this.buffers.sink();
    }
  }

  /**
   * The chunks filled since the last call, handed over: the body no longer holds them (a
   * streamed body sends each as soon as it is full). The chunk being written stays.
   */
  takeChunks(): Uint8Array[] {
    const filled = this.chunks;
    this.chunks = [];
    return filled;
  }

  /** The body: its chunks not yet taken, lines and bytes (of the whole body). */
  finish(): EncodedLines {
    if (this.sink.pos > 0) this.cut();
    else this.buffers.reuse(this.sink.buf);
    return { chunks: this.chunks, rows: this.rows, bytes: this.bytes };
  }

  /**
   * Ends the current chunk: the sink's own buffer when little of it is unused (no copy), else a
   * copy of the bytes' size (a short last chunk, a buffer a long line doubled), so the chunks
   * never hold much more memory than the body.
   */
  private cut(): void {
    const sink = this.sink;
    this.bytes += sink.pos;
    if (sink.buf.length - sink.pos <= sink.pos / 4) {
      this.chunks.push(sink.bytes());
      return;
    }
    const chunk = new Uint8Array(sink.pos);
    chunk.set(sink.bytes());
    this.chunks.push(chunk);
    this.buffers.reuse(sink.buf);
  }
}

/**
 * A snapshot batch's body being written: documents are appended piece by piece, the chunks
 * handed over at the end.
 */
export class SnapshotBody {
  private readonly body: LineBody;

  constructor(
    private readonly useJsonNativeFormat: boolean,
    buffers: ChunkBuffers = new ChunkBuffers(),
    /** The table's shape (typed columns, excluded fields) and this body's mismatch counts. */
    private readonly shape?: ShapeRun,
  ) {
    this.body = new LineBody(buffers);
  }

  /**
   * Appends one line per document. A document that cannot become a row throws what today's
   * decode + snapshotRow would throw for it (the first such document), and the body is not to
   * be used any more.
   */
  append(documents: readonly Uint8Array[]): void {
    const native = this.useJsonNativeFormat;
    const shape = this.shape;
    for (const document of documents)
      this.body.line((sink) => appendSnapshotLine(sink, document, native, 0, shape));
  }

  /** See LineBody.takeChunks. */
  takeChunks(): Uint8Array[] {
    return this.body.takeChunks();
  }

  /** The body: its chunks not yet taken, lines and bytes. */
  finish(): EncodedLines {
    return this.body.finish();
  }
}

/** The JSONEachRow body of a whole batch at once (see SnapshotBody.append for failures). */
export function encodeSnapshotLines(
  documents: readonly Uint8Array[],
  useJsonNativeFormat: boolean,
  buffers?: ChunkBuffers,
): EncodedLines {
  const body = new SnapshotBody(useJsonNativeFormat, buffers);
  body.append(documents);
  return body.finish();
}

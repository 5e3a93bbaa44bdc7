/**
 * A snapshot batch's insert body, straight from its raw BSON documents: one JSONEachRow line per
 * document, byte for byte `toJsonEachRowLine(snapshotRow(…))` of the decoded document
 * (bson-transcode.ts), with no row object in between.
 */
import { appendSnapshotLine, JsonSink } from './bson-transcode.js';

/** The body is cut into chunks of about this size: one HTTP write each, and no buffer twice the body. */
export const BODY_CHUNK_BYTES = 1024 * 1024;
/** Room past BODY_CHUNK_BYTES for the line that ends a chunk, so it seldom needs a bigger buffer. */
const CHUNK_SLACK_BYTES = 64 * 1024;

export interface EncodedLines {
  /** The lines, each ending in `\n`, in chunks of about BODY_CHUNK_BYTES (a longer line makes a longer chunk). */
  chunks: Uint8Array[];
  /** Lines written (one per document). */
  rows: number;
  /** Sum of the chunks' lengths. */
  bytes: number;
}

/**
 * The JSONEachRow body of a snapshot batch. A document that cannot become a row throws what
 * today's decode + snapshotRow would throw for it (the first such document in the batch), and
 * nothing of the batch is returned.
 */
export function encodeSnapshotLines(
  documents: readonly Uint8Array[],
  useJsonNativeFormat: boolean,
): EncodedLines {
  let sink = new JsonSink(BODY_CHUNK_BYTES + CHUNK_SLACK_BYTES);
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  for (const document of documents) {
    appendSnapshotLine(sink, document, useJsonNativeFormat);
    sink.rawByte(0x0a);
    if (sink.pos >= BODY_CHUNK_BYTES) {
      chunks.push(chunkOf(sink));
      bytes += sink.pos;
      sink = new JsonSink(BODY_CHUNK_BYTES + CHUNK_SLACK_BYTES);
    }
  }
  if (sink.pos > 0) {
    chunks.push(chunkOf(sink));
    bytes += sink.pos;
  }
  return { chunks, rows: documents.length, bytes };
}

/**
 * The bytes written, as a chunk of the body: the sink's own buffer when little of it is unused
 * (no copy), else a copy of their own size (a short last chunk, a buffer a long line doubled),
 * so the chunks never hold much more memory than the body.
 */
function chunkOf(sink: JsonSink): Uint8Array {
  if (sink.buf.length - sink.pos <= sink.pos / 4) return sink.bytes();
  const chunk = new Uint8Array(sink.pos);
  chunk.set(sink.bytes());
  return chunk;
}

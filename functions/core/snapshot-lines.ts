/**
 * A snapshot batch's insert body, straight from its raw BSON documents: one JSONEachRow line per
 * document, byte for byte `toJsonEachRowLine(snapshotRow(…))` of the decoded document
 * (bson-transcode.ts), with no row object in between.
 */
import { appendSnapshotLine, JsonSink } from './bson-transcode.js';

/** The body is cut into chunks of about this size: one HTTP write each, and no buffer twice the body. */
export const BODY_CHUNK_BYTES = 1024 * 1024;

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
  const sink = new JsonSink(2 * BODY_CHUNK_BYTES);
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  for (const document of documents) {
    appendSnapshotLine(sink, document, useJsonNativeFormat);
    sink.rawByte(0x0a);
    if (sink.pos >= BODY_CHUNK_BYTES) {
      chunks.push(copyOut(sink));
      bytes += sink.pos;
      sink.reset();
    }
  }
  if (sink.pos > 0) {
    chunks.push(copyOut(sink));
    bytes += sink.pos;
  }
  return { chunks, rows: documents.length, bytes };
}

/** The bytes written, in a buffer of their own size (the sink is reused for the next chunk). */
function copyOut(sink: JsonSink): Uint8Array {
  const chunk = new Uint8Array(sink.pos);
  chunk.set(sink.bytes());
  return chunk;
}

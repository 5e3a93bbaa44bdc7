import { BSON } from 'bson';
import { describe, expect, it } from 'vitest';
import { DESERIALIZE_OPTIONS } from '../../functions/adapters/mongodb/snapshot-source.js';
import { UnsupportedValueError } from '../../functions/core/errors.js';
import { snapshotRow, toJsonEachRowLine } from '../../functions/core/rows.js';
import {
  BODY_CHUNK_BYTES,
  ChunkBuffers,
  encodeSnapshotLines,
  SnapshotBody,
} from '../../functions/core/snapshot-lines.js';

const today = (documents: Uint8Array[], native: boolean) =>
  documents
    .map(
      (raw) => `${toJsonEachRowLine(snapshotRow('t', BSON.deserialize(raw, DESERIALIZE_OPTIONS)), native)}\n`,
    )
    .join('');

describe('encodeSnapshotLines', () => {
  const documents = [...Array(3_000)].map((_, i) =>
    BSON.serialize({
      _id: i % 2 ? new BSON.ObjectId() : `id-${i}`,
      n: new BSON.Int32(i),
      d: new BSON.Double(i / 7),
      text: `é "${i}" \\ ${'x'.repeat(i % 900)}`,
      nested: { list: [i, 'two', null], at: new Date(i) },
    }),
  );

  for (const native of [true, false]) {
    it(`is today's decode + snapshotRow + toJsonEachRowLine, byte for byte (${native ? 'JSON' : 'String'} doc)`, () => {
      const lines = encodeSnapshotLines(documents, native);
      const body = Buffer.concat(lines.chunks);
      expect(body.toString('utf8')).toBe(today(documents, native));
      expect(lines.rows).toBe(documents.length);
      expect(lines.bytes).toBe(body.length);
    });
  }

  it('cuts the body into chunks of about 1 MiB, each ending a line, each in a buffer of about its size', () => {
    const { chunks } = encodeSnapshotLines(documents, false);
    expect(chunks.length).toBeGreaterThan(1);
    for (const chunk of chunks.slice(0, -1)) {
      expect(chunk.length).toBeGreaterThanOrEqual(BODY_CHUNK_BYTES);
      expect(chunk.length).toBeLessThan(BODY_CHUNK_BYTES + 4096);
    }
    const buffers = new Set<ArrayBufferLike>();
    for (const chunk of chunks) {
      expect(chunk.at(-1)).toBe(0x0a);
      // Its own buffer, at most a quarter more than its bytes (no buffer doubled by growth).
      expect(buffers.has(chunk.buffer)).toBe(false);
      buffers.add(chunk.buffer);
      expect(chunk.buffer.byteLength).toBeLessThanOrEqual(chunk.byteLength * 1.25);
    }
  });

  it('an empty batch is an empty body; a document that cannot become a row throws what snapshotRow threw', () => {
    expect(encodeSnapshotLines([], true)).toEqual({ chunks: [], rows: 0, bytes: 0 });
    const noId = BSON.serialize({ a: 1 });
    expect(() => encodeSnapshotLines([documents[0] as Uint8Array, noId], true)).toThrow(
      UnsupportedValueError,
    );
    expect(() => snapshotRow('t', BSON.deserialize(noId))).toThrow(
      'a document without _id cannot be replicated',
    );
  });

  it('a line longer than a chunk makes a chunk of its own size, in a buffer not much bigger', () => {
    const big = BSON.serialize({ _id: 'big', text: 'é'.repeat(3 * BODY_CHUNK_BYTES) });
    const { chunks } = encodeSnapshotLines(
      [documents[0] as Uint8Array, big, documents[1] as Uint8Array],
      true,
    );
    expect(Buffer.concat(chunks).toString('utf8')).toBe(
      today([documents[0] as Uint8Array, big, documents[1] as Uint8Array], true),
    );
    for (const chunk of chunks) expect(chunk.buffer.byteLength).toBeLessThanOrEqual(chunk.byteLength * 1.25);
  });

  it('reuses the buffers of a body given back, and a piece-by-piece body is the whole body', () => {
    const buffers = new ChunkBuffers();
    const first = encodeSnapshotLines(documents.slice(0, 2_000), true, buffers);
    const firstBuffers = new Set(first.chunks.map((chunk) => chunk.buffer));
    buffers.release(first.chunks);
    const body = new SnapshotBody(false, buffers);
    body.append(documents.slice(0, 1_000));
    body.append(documents.slice(1_000));
    const second = body.finish();
    expect(Buffer.concat(second.chunks).toString('utf8')).toBe(today(documents, false));
    expect(second.rows).toBe(documents.length);
    const reused = second.chunks.filter((chunk) => firstBuffers.has(chunk.buffer));
    expect(reused.length).toBe(Math.min(firstBuffers.size, second.chunks.length - 1));
  });

  it('a body streamed chunk by chunk (takeChunks between pieces) is the whole body, byte for byte', () => {
    const body = new SnapshotBody(true);
    const sent: Uint8Array[] = [];
    for (let at = 0; at < documents.length; at += 250) {
      body.append(documents.slice(at, at + 250));
      const taken = body.takeChunks();
      // Only full chunks are handed over while the body is written; nothing is handed twice.
      for (const chunk of taken) expect(chunk.length).toBeGreaterThanOrEqual(BODY_CHUNK_BYTES);
      sent.push(...taken);
    }
    expect(sent.length).toBeGreaterThan(0);
    expect(body.takeChunks()).toEqual([]);
    const rest = body.finish();
    sent.push(...rest.chunks);
    expect(Buffer.concat(sent).toString('utf8')).toBe(today(documents, true));
    expect(rest.rows).toBe(documents.length);
    expect(rest.bytes).toBe(Buffer.concat(sent).length);
  });
});

import { BSON } from 'bson';
import { describe, expect, it } from 'vitest';
import { DESERIALIZE_OPTIONS } from '../../functions/adapters/mongodb/snapshot-source.js';
import { UnsupportedValueError } from '../../functions/core/errors.js';
import { snapshotRow, toJsonEachRowLine } from '../../functions/core/rows.js';
import { BODY_CHUNK_BYTES, encodeSnapshotLines } from '../../functions/core/snapshot-lines.js';

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

  it('cuts the body into chunks of about 1 MiB, each ending a line, each its own buffer', () => {
    const { chunks } = encodeSnapshotLines(documents, false);
    expect(chunks.length).toBeGreaterThan(1);
    for (const chunk of chunks.slice(0, -1)) {
      expect(chunk.length).toBeGreaterThanOrEqual(BODY_CHUNK_BYTES);
      expect(chunk.length).toBeLessThan(BODY_CHUNK_BYTES + 4096);
    }
    for (const chunk of chunks) {
      expect(chunk.at(-1)).toBe(0x0a);
      expect(chunk.byteLength).toBe(chunk.buffer.byteLength);
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
});

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cityHash128 } from '../../../local/clickhouse/cityhash128.js';
import {
  compressBlocks,
  decompressBlocks,
  MAX_COMPRESS_BLOCK_SIZE,
  METHOD_LZ4,
  METHOD_NONE,
  METHOD_ZSTD,
} from '../../../local/clickhouse/compressed-blocks.js';
import { ProtocolError } from '../../../local/clickhouse/protocol.js';
import { streamBytes, varint } from '../../fixtures/clickhouse/cityhash-inputs.js';

/** ClickHouse's compressed-block format as the front writes (compress=1) and reads it (decompress=1). */

const fixture = JSON.parse(
  readFileSync(new URL('../../fixtures/clickhouse/cityhash128-vectors.json', import.meta.url), 'utf8'),
) as {
  vectors: { header: string; seed: number; valueLength: number; checksum: string }[];
  lz4Body: { rows: string; blocks: string };
};

const limit = { maxBytes: 64 * 1024 * 1024 };

/** The blocks' headers: method, size without checksum, uncompressed size. */
function headers(blocks: Buffer): { method: number; compressed: number; size: number }[] {
  const found = [];
  for (let at = 0; at < blocks.byteLength; ) {
    const compressed = blocks.readUInt32LE(at + 17);
    found.push({ method: blocks[at + 16] as number, compressed, size: blocks.readUInt32LE(at + 21) });
    at += 16 + compressed;
  }
  return found;
}

function noneBlock(data: Buffer): Buffer {
  const block = Buffer.alloc(25 + data.byteLength);
  block[16] = METHOD_NONE;
  block.writeUInt32LE(9 + data.byteLength, 17);
  block.writeUInt32LE(data.byteLength, 21);
  data.copy(block, 25);
  cityHash128(block.subarray(16)).copy(block, 0);
  return block;
}

async function refusal(run: () => Promise<unknown>): Promise<ProtocolError> {
  try {
    await run();
  } catch (err) {
    if (err instanceof ProtocolError) return err;
    throw err;
  }
  throw new Error('expected a ProtocolError');
}

describe('compressBlocks', () => {
  it('writes LZ4 blocks of at most 1 MiB, checksummed, that read back to the same bytes', async () => {
    const data = Buffer.concat([Buffer.alloc(MAX_COMPRESS_BLOCK_SIZE, 'abc'), streamBytes(3, 700_000)]);
    const blocks = compressBlocks(data);
    expect(headers(blocks)).toEqual([
      { method: METHOD_LZ4, compressed: expect.any(Number), size: MAX_COMPRESS_BLOCK_SIZE },
      { method: METHOD_LZ4, compressed: expect.any(Number), size: 700_000 },
    ]);
    expect(headers(blocks)[0]?.compressed).toBeLessThan(10_000);
    const first = blocks.subarray(0, 16 + (headers(blocks)[0]?.compressed ?? 0));
    expect(first.subarray(0, 16).equals(cityHash128(first.subarray(16)))).toBe(true);
    expect((await decompressBlocks(blocks, limit)).equals(data)).toBe(true);
  });

  it('writes nothing for no data', async () => {
    expect(compressBlocks(Buffer.alloc(0)).byteLength).toBe(0);
  });
});

describe('decompressBlocks', () => {
  it('reads LZ4 blocks ClickHouse itself wrote', async () => {
    const body = Buffer.from(fixture.lz4Body.blocks, 'hex');
    expect(body[16]).toBe(METHOD_LZ4);
    expect((await decompressBlocks(body, limit)).toString()).toBe(fixture.lz4Body.rows);
  });

  it('reads NONE blocks ClickHouse itself wrote', async () => {
    // The vectors' blocks are CODEC(NONE) blocks of a String column: a varint length, then the value.
    const vector = fixture.vectors.find((candidate) => candidate.valueLength === 1500);
    if (vector === undefined) throw new Error('no vector of 1 500 bytes in the fixture');
    const value = streamBytes(vector.seed, vector.valueLength);
    const header = Buffer.from(vector.header, 'hex');
    const block = Buffer.concat([Buffer.from(vector.checksum, 'hex'), header, varint(1500), value]);
    expect(block[16]).toBe(METHOD_NONE);
    expect((await decompressBlocks(block, limit)).equals(Buffer.concat([varint(1500), value]))).toBe(true);
  });

  it('reads NONE blocks, mixed with LZ4 ones', async () => {
    const body = Buffer.concat([
      noneBlock(Buffer.from('{"a":1}\n')),
      compressBlocks(Buffer.from('{"a":2}\n')),
    ]);
    expect((await decompressBlocks(body, limit)).toString()).toBe('{"a":1}\n{"a":2}\n');
  });

  it('refuses a block whose checksum does not match with CHECKSUM_DOESNT_MATCH, as a server does', async () => {
    const body = compressBlocks(Buffer.from('{"a":1}\n'.repeat(100)));
    body[30] = (body[30] as number) ^ 0x10;
    const err = await refusal(() => decompressBlocks(body, limit));
    expect(err).toMatchObject({ code: 40, type: 'CHECKSUM_DOESNT_MATCH' });
    expect(err.message).toMatch(
      /^Checksum doesn't match: corrupted data\. Reference: [0-9a-f]{32}\. Actual: [0-9a-f]{32}\. Size of compressed block: \d+$/,
    );
    const rows = Buffer.from('{"a":1}\n'.repeat(100));
    const badChecksum = compressBlocks(rows);
    badChecksum[3] = (badChecksum[3] as number) ^ 0x01;
    expect(await refusal(() => decompressBlocks(badChecksum, limit))).toMatchObject({ code: 40 });
    // http_native_compression_disable_checksumming_on_decompress=1 reads it anyway, as a server does.
    expect((await decompressBlocks(badChecksum, { ...limit, skipChecksums: true })).equals(rows)).toBe(true);
  });

  it('refuses ZSTD blocks naming the method, unknown methods, truncated and oversized bodies', async () => {
    const zstd = noneBlock(Buffer.from('x'));
    zstd[16] = METHOD_ZSTD;
    cityHash128(zstd.subarray(16)).copy(zstd, 0);
    const zstdErr = await refusal(() => decompressBlocks(zstd, limit));
    expect(zstdErr).toMatchObject({ code: 48, type: 'NOT_IMPLEMENTED' });
    expect(zstdErr.message).toContain('ZSTD');
    const unknown = noneBlock(Buffer.from('x'));
    unknown[16] = 0x07;
    expect(await refusal(() => decompressBlocks(unknown, limit))).toMatchObject({
      code: 432,
      type: 'UNKNOWN_CODEC',
    });
    const whole = compressBlocks(Buffer.from('abc'.repeat(50)));
    expect(await refusal(() => decompressBlocks(whole.subarray(0, 20), limit))).toMatchObject({ code: 33 });
    expect(
      await refusal(() => decompressBlocks(whole.subarray(0, whole.byteLength - 1), limit)),
    ).toMatchObject({
      code: 33,
      type: 'CANNOT_READ_ALL_DATA',
    });
    expect(await refusal(() => decompressBlocks(whole, { maxBytes: 100 }))).toMatchObject({ code: 307 });
  });

  it('refuses an LZ4 payload that does not decode to its header size with CANNOT_DECOMPRESS', async () => {
    const block = compressBlocks(Buffer.from('hello hello hello hello'));
    block.writeUInt32LE(24, 21);
    cityHash128(block.subarray(16)).copy(block, 0);
    expect(await refusal(() => decompressBlocks(block, limit))).toMatchObject({
      code: 271,
      type: 'CANNOT_DECOMPRESS',
    });
  });

  it('reads a body of many empty blocks in bounded time, without a turn of the event loop per block', async () => {
    const empty = noneBlock(Buffer.alloc(0));
    const blocks = 400_000;
    const body = Buffer.concat([...Array.from({ length: blocks }, () => empty), noneBlock(Buffer.from('x'))]);
    const started = performance.now();
    const data = await decompressBlocks(body, { maxBytes: 1024 });
    const seconds = (performance.now() - started) / 1000;
    console.log(`${blocks} empty NONE blocks (${body.byteLength} bytes) read in ${seconds.toFixed(2)} s`);
    expect(data.toString()).toBe('x');
    expect(seconds).toBeLessThan(30);
  });

  it('refuses a body whose declared sizes exceed the limit before decoding any block', async () => {
    // The first block cannot be decoded, so refusing it for its size shows nothing was decoded first.
    const undecodable = compressBlocks(Buffer.from('hello hello hello hello'));
    undecodable.writeUInt32LE(1000, 21);
    cityHash128(undecodable.subarray(16)).copy(undecodable, 0);
    expect(await refusal(() => decompressBlocks(undecodable, limit))).toMatchObject({ code: 271 });
    const huge = noneBlock(Buffer.from('x'));
    huge.writeUInt32LE(0xffff_ffff, 21);
    const err = await refusal(() => decompressBlocks(Buffer.concat([undecodable, huge]), { maxBytes: 4096 }));
    expect(err).toMatchObject({ code: 307, type: 'TOO_MANY_BYTES' });
    expect(err.message).toContain('4096');
  });

  it('refuses a body whose blocks together pass the limit, each block within it', async () => {
    const body = compressBlocks(Buffer.alloc(3 * 1024, 'a'), 1024);
    expect((await decompressBlocks(body, { maxBytes: 3 * 1024 })).equals(Buffer.alloc(3 * 1024, 'a'))).toBe(
      true,
    );
    expect(await refusal(() => decompressBlocks(body, { maxBytes: 3 * 1024 - 1 }))).toMatchObject({
      code: 307,
    });
  });
});

import { compressSync, uncompressSync } from 'lz4-napi';
import { cityHash128 } from './cityhash128.js';
import { ProtocolError } from './protocol.js';

/**
 * ClickHouse's own compression format, which its HTTP interface speaks with `compress=1` (the
 * response) and `decompress=1` (the request body): a sequence of blocks, each a 16-byte CityHash128
 * v1.0.2 checksum of the rest of the block, a method byte, the block's size without the checksum
 * (header included) and its uncompressed size (both UInt32 little-endian), then the payload.
 */

/** ClickHouse's max_compress_block_size: how much uncompressed data one block holds at most. */
export const MAX_COMPRESS_BLOCK_SIZE = 1024 * 1024;
/** ClickHouse's DBMS_MAX_COMPRESSED_SIZE: a larger block is taken for corrupted data. */
const MAX_COMPRESSED_SIZE = 0x4000_0000;
const CHECKSUM_BYTES = 16;
const HEADER_BYTES = 9;

export const METHOD_NONE = 0x02;
export const METHOD_LZ4 = 0x82;
export const METHOD_ZSTD = 0x90;

/** `data` as LZ4 blocks of at most `blockSize` uncompressed bytes each; nothing for no data. */
export function compressBlocks(data: Uint8Array, blockSize = MAX_COMPRESS_BLOCK_SIZE): Buffer {
  const blocks: Buffer[] = [];
  for (let from = 0; from < data.byteLength; from += blockSize) {
    const piece = data.subarray(from, Math.min(from + blockSize, data.byteLength));
    blocks.push(lz4Block(Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength)));
  }
  return blocks.length === 1 ? (blocks[0] as Buffer) : Buffer.concat(blocks);
}

function lz4Block(piece: Buffer): Buffer {
  // lz4-napi writes the uncompressed size before the LZ4 block; the block header carries it instead.
  const compressed = compressSync(piece).subarray(4);
  const block = Buffer.allocUnsafe(CHECKSUM_BYTES + HEADER_BYTES + compressed.byteLength);
  block[CHECKSUM_BYTES] = METHOD_LZ4;
  block.writeUInt32LE(HEADER_BYTES + compressed.byteLength, CHECKSUM_BYTES + 1);
  block.writeUInt32LE(piece.byteLength, CHECKSUM_BYTES + 5);
  compressed.copy(block, CHECKSUM_BYTES + HEADER_BYTES);
  cityHash128(block.subarray(CHECKSUM_BYTES)).copy(block, 0);
  return block;
}

export interface DecompressOptions {
  /** The most uncompressed bytes accepted (the front's body limit). */
  maxBytes: number;
  /** http_native_compression_disable_checksumming_on_decompress: skip the checksums. */
  skipChecksums?: boolean;
}

/** How much work (bytes hashed, read or written) the reader does before giving other requests a turn. */
const YIELD_EVERY_BYTES = 4 * 1024 * 1024;
/** A block's own cost (its header, its checksum's setup) counted as this many bytes of work. */
const BLOCK_WORK_BYTES = 256;

/**
 * A request body in compressed blocks, as a server reads it for `decompress=1`: each block's
 * checksum verified before anything is used, with the server's errors for a damaged body. The
 * headers are read first, so a body whose declared sizes pass the limit is refused before anything
 * is allocated or decoded; then each block is decoded into its slice of one buffer of the declared
 * total. Other requests get the event loop every few MB of work, not after every block (a body of
 * millions of tiny blocks would otherwise wait for millions of turns).
 */
export async function decompressBlocks(body: Buffer, options: DecompressOptions): Promise<Buffer> {
  const output = Buffer.allocUnsafe(await declaredSize(body, options.maxBytes));
  let written = 0;
  let work = 0;
  for (let at = 0; at < body.byteLength; ) {
    const block = nextBlock(body, at);
    if (!options.skipChecksums) verifyChecksum(body.subarray(at, at + CHECKSUM_BYTES), block);
    const size = block.readUInt32LE(5);
    decodeBlockInto(block, output.subarray(written, written + size));
    written += size;
    at += CHECKSUM_BYTES + block.byteLength;
    work += block.byteLength + size + BLOCK_WORK_BYTES;
    if (work >= YIELD_EVERY_BYTES && at < body.byteLength) {
      work = 0;
      await otherRequestsTurn();
    }
  }
  return output;
}

/** The uncompressed size the blocks' headers add up to, refused past `maxBytes` or for ZSTD. */
async function declaredSize(body: Buffer, maxBytes: number): Promise<number> {
  let total = 0;
  let work = 0;
  for (let at = 0; at < body.byteLength; ) {
    const compressedSize = checkedHeader(body, at);
    if (body[at + CHECKSUM_BYTES] === METHOD_ZSTD) throw zstdNotImplemented();
    total += body.readUInt32LE(at + CHECKSUM_BYTES + 5);
    if (total > maxBytes) {
      throw new ProtocolError(
        307,
        'TOO_MANY_BYTES',
        `Request body is larger than the front's limit of ${maxBytes} bytes once decompressed`,
      );
    }
    at += CHECKSUM_BYTES + compressedSize;
    work += BLOCK_WORK_BYTES;
    if (work >= YIELD_EVERY_BYTES && at < body.byteLength) {
      work = 0;
      await otherRequestsTurn();
    }
  }
  return total;
}

function otherRequestsTurn(): Promise<void> {
  return new Promise((resume) => setImmediate(resume));
}

/** The block (header and payload, without its checksum) that starts at `at`. */
function nextBlock(body: Buffer, at: number): Buffer {
  return body.subarray(at + CHECKSUM_BYTES, at + CHECKSUM_BYTES + checkedHeader(body, at));
}

/** The size (header included, checksum not) of the block at `at`, once its header and length are sound. */
function checkedHeader(body: Buffer, at: number): number {
  const headerEnd = at + CHECKSUM_BYTES + HEADER_BYTES;
  if (headerEnd > body.byteLength)
    throw cannotReadAllData(body.byteLength - at, CHECKSUM_BYTES + HEADER_BYTES);
  const method = body[at + CHECKSUM_BYTES] as number;
  if (method !== METHOD_NONE && method !== METHOD_LZ4 && method !== METHOD_ZSTD) {
    throw new ProtocolError(432, 'UNKNOWN_CODEC', `Unknown codec family code: ${method}`);
  }
  const compressedSize = body.readUInt32LE(at + CHECKSUM_BYTES + 1);
  if (compressedSize > MAX_COMPRESSED_SIZE) {
    throw new ProtocolError(
      39,
      'TOO_LARGE_SIZE_COMPRESSED',
      `Too large size_compressed_without_checksum: ${compressedSize}. Most likely corrupted data`,
    );
  }
  if (compressedSize < HEADER_BYTES) {
    throw new ProtocolError(
      246,
      'CORRUPTED_DATA',
      `Can't decompress data: the compressed data size (${compressedSize}, this should include header size) ` +
        `is less than the header size (${HEADER_BYTES})`,
    );
  }
  const end = at + CHECKSUM_BYTES + compressedSize;
  if (end > body.byteLength) throw cannotReadAllData(body.byteLength - at - CHECKSUM_BYTES, compressedSize);
  return compressedSize;
}

function cannotReadAllData(read: number, expected: number): ProtocolError {
  return new ProtocolError(
    33,
    'CANNOT_READ_ALL_DATA',
    `Cannot read all data. Bytes read: ${read}. Bytes expected: ${expected}`,
  );
}

/** CHECKSUM_DOESNT_MATCH with the server's wording: each 64-bit half written as a hex number. */
function verifyChecksum(stored: Buffer, block: Buffer): void {
  const actual = cityHash128(block);
  if (actual.equals(stored)) return;
  const asNumbers = (checksum: Buffer) =>
    Buffer.from(checksum.subarray(0, 8)).reverse().toString('hex') +
    Buffer.from(checksum.subarray(8, 16)).reverse().toString('hex');
  throw new ProtocolError(
    40,
    'CHECKSUM_DOESNT_MATCH',
    `Checksum doesn't match: corrupted data. Reference: ${asNumbers(stored)}. Actual: ${asNumbers(actual)}. ` +
      `Size of compressed block: ${block.byteLength}`,
  );
}

function zstdNotImplemented(): ProtocolError {
  return new ProtocolError(
    48,
    'NOT_IMPLEMENTED',
    'The embedded ClickHouse cannot decompress ZSTD blocks (method byte 0x90) in a decompress=1 body: ' +
      'send LZ4 (0x82) or NONE (0x02) blocks',
  );
}

/** Decode a NONE or LZ4 block into `target`, which is exactly its uncompressed size. */
function decodeBlockInto(block: Buffer, target: Buffer): void {
  const size = target.byteLength;
  const payload = block.subarray(HEADER_BYTES);
  if (block[0] === METHOD_NONE) {
    if (payload.byteLength !== size) throw cannotDecompress('NONE', size, payload.byteLength);
    if (size > 0) payload.copy(target);
    return;
  }
  // The header's last field, the uncompressed size as UInt32 little-endian, is the very prefix
  // lz4-napi reads before an LZ4 block: the block is decoded in place, without a prefixed copy.
  // lz4-napi cannot decode into a given buffer, so its output is copied over and dropped at once.
  let data: Buffer;
  try {
    data = uncompressSync(block.subarray(HEADER_BYTES - 4));
  } catch {
    throw cannotDecompress('LZ4', size, undefined);
  }
  if (data.byteLength !== size) throw cannotDecompress('LZ4', size, data.byteLength);
  data.copy(target);
}

function cannotDecompress(method: string, expected: number, got: number | undefined): ProtocolError {
  const detail = got === undefined ? '' : `: ${got} bytes instead of the header's ${expected}`;
  return new ProtocolError(271, 'CANNOT_DECOMPRESS', `Cannot decompress ${method}-encoded data${detail}`);
}

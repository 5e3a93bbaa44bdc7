import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { get, request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { type ClickHouseClient, createClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  compressBlocks,
  decompressBlocks,
  MAX_COMPRESS_BLOCK_SIZE,
  METHOD_LZ4,
} from '../../../local/clickhouse/compressed-blocks.js';
import { startTestClickHouse, type TestClickHouse } from '../../support/clickhouse.js';

/**
 * ClickHouse's own block compression on the front: `compress=1` answers (rows, errors before and
 * after output began, under gzip too) in checksummed LZ4 blocks, and `decompress=1` bodies are
 * read block by block, refused whole when a checksum does not match. Through raw HTTP and through
 * `@clickhouse/client`, which has no option for it but passes both as settings to exec().
 */

let clickhouse: TestClickHouse;
let client: ClickHouseClient;
const limit = { maxBytes: 512 * 1024 * 1024 };
const fixture = JSON.parse(
  readFileSync(new URL('../../fixtures/clickhouse/cityhash128-vectors.json', import.meta.url), 'utf8'),
) as { lz4Body: { rows: string; blocks: string } };

beforeAll(async () => {
  clickhouse = await startTestClickHouse();
  client = createClient({ url: clickhouse.url });
  await client.command({
    query: 'CREATE TABLE native_rows (id UInt32, name String) ENGINE = MergeTree ORDER BY id',
  });
});

afterAll(async () => {
  await client?.close();
  await clickhouse?.remove();
});

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  complete: boolean;
}

/** One request through node:http: the undecoded bytes, also when the front cuts the response off. */
function raw(
  search: Record<string, string>,
  body?: Buffer,
  headers: Record<string, string> = {},
): Promise<RawResponse> {
  const target = `${clickhouse.url}/?${new URLSearchParams(search).toString()}`;
  return new Promise((resolve, reject) => {
    const request = httpRequest(target, { method: body ? 'POST' : 'GET', headers }, (response) => {
      const chunks: Buffer[] = [];
      const done = (complete: boolean) => () =>
        resolve({
          status: response.statusCode ?? 0,
          headers: response.headers,
          body: Buffer.concat(chunks),
          complete,
        });
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', done(true));
      response.on('error', done(false));
      response.on('aborted', done(false));
    });
    request.on('error', reject);
    request.end(body);
  });
}

/** Each block's method and uncompressed size, read from the headers. */
function blockHeaders(blocks: Buffer): { method: number; size: number }[] {
  const found = [];
  for (let at = 0; at < blocks.byteLength; at += 16 + blocks.readUInt32LE(at + 17)) {
    found.push({ method: blocks[at + 16] as number, size: blocks.readUInt32LE(at + 21) });
  }
  return found;
}

async function count(): Promise<number> {
  const result = await client.query({ query: 'SELECT count() AS n FROM native_rows', format: 'JSONEachRow' });
  return Number(((await result.json()) as { n: string }[])[0]?.n);
}

const BIG_SELECT = 'SELECT number, toString(number * 7) AS s FROM numbers(400000) FORMAT TSV';

describe('compress=1 through raw HTTP', () => {
  it('answers a streamed SELECT in LZ4 blocks that decode to the plain answer', async () => {
    const plain = await raw({ query: BIG_SELECT });
    const compressed = await raw({ query: BIG_SELECT, compress: '1' });
    expect(compressed.status).toBe(200);
    expect(plain.body.byteLength).toBeGreaterThan(MAX_COMPRESS_BLOCK_SIZE);
    // A server says nothing of its own compression in the headers: the format's content type stays.
    expect(compressed.headers['content-type']).toBe(plain.headers['content-type']);
    expect(compressed.headers['content-encoding']).toBeUndefined();
    const headers = blockHeaders(compressed.body);
    expect(headers.length).toBeGreaterThan(1);
    for (const header of headers) {
      expect(header.method).toBe(METHOD_LZ4);
      expect(header.size).toBeLessThanOrEqual(MAX_COMPRESS_BLOCK_SIZE);
    }
    expect(compressed.body.byteLength).toBeLessThan(plain.body.byteLength);
    // decompressBlocks verifies every block's CityHash128 (itself checked against ClickHouse's).
    expect((await decompressBlocks(compressed.body, limit)).equals(plain.body)).toBe(true);
  });

  it('keeps HTTP compression on top: gzip around the blocks', async () => {
    const query = 'SELECT number FROM numbers(1000) FORMAT TSV';
    const response = await raw({ query, compress: '1', enable_http_compression: '1' }, undefined, {
      'Accept-Encoding': 'gzip',
    });
    expect(response.headers['content-encoding']).toBe('gzip');
    const expected = Array.from({ length: 1000 }, (_, i) => `${i}\n`).join('');
    expect((await decompressBlocks(gunzipSync(response.body), limit)).toString()).toBe(expected);
  });

  it('writes an error before output in blocks, with its status and code', async () => {
    const response = await raw({ query: 'SELECT * FROM nowhere_at_all', compress: '1' });
    expect(response.status).toBe(404);
    expect(response.headers['x-clickhouse-exception-code']).toBe('60');
    expect((await decompressBlocks(response.body, limit)).toString()).toMatch(/^Code: 60\..*UNKNOWN_TABLE/s);
  });

  it('writes an exception after output began in blocks, framed by the exception tag', async () => {
    const response = await raw({
      query: "SELECT throwIf(number = 200000, 'boom') AS x FROM numbers(300000) FORMAT JSONEachRow",
      max_block_size: '10000',
      compress: '1',
    });
    expect(response.status).toBe(200);
    expect(response.complete).toBe(false);
    const tag = String(response.headers['x-clickhouse-exception-tag']);
    const text = (await decompressBlocks(response.body, limit)).toString();
    expect(text.startsWith('{"x":0}\n')).toBe(true);
    expect(text).toMatch(
      new RegExp(`__exception__\\r\\n${tag}\\r\\nCode: 395\\..*boom.*\\r\\n__exception__\\r\\n$`, 's'),
    );
  });
});

async function running(tag: string): Promise<number> {
  const result = await client.query({
    query: `SELECT count() AS n FROM system.processes WHERE query LIKE {tag:String} AND query NOT LIKE '%system.processes%'`,
    query_params: { tag: `%${tag}%` },
    format: 'JSONEachRow',
  });
  return Number(((await result.json()) as { n: string }[])[0]?.n);
}

function engineRss(): number {
  return (
    Number(/VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${clickhouse.pid}/status`, 'utf8'))?.[1]) * 1024
  );
}

describe('ClickHouse itself reads the blocks the front writes', () => {
  it('reads a column file made of compressBlocks() output, and refuses it with one byte damaged', async () => {
    // A Log table's column file is a sequence of compressed blocks: swap in the front's blocks.
    const length = 3 * 1024 * 1024 + 5;
    const value = Buffer.alloc(length);
    for (let i = 0; i < length; i++) value[i] = 97 + ((i * 7919) % 26);
    const blocks = compressBlocks(value);
    expect(blockHeaders(blocks)).toHaveLength(4);
    const run = async (query: string) => (await client.exec({ query })).stream.toArray();
    await run(
      `CREATE TABLE engine_reads (s FixedString(${length})) ENGINE = Log SETTINGS allow_suspicious_fixed_string_types = 1`,
    );
    await run("INSERT INTO engine_reads SELECT ''");
    const where = await client.query({
      query: "SELECT data_paths[1] AS path FROM system.tables WHERE name = 'engine_reads'",
      format: 'JSONEachRow',
    });
    const path = ((await where.json()) as { path: string }[])[0]?.path ?? '';
    const swapIn = async (file: Buffer) => {
      await run('DETACH TABLE engine_reads');
      writeFileSync(join(path, 's.bin'), file);
      const sizes = JSON.parse(readFileSync(join(path, 'sizes.json'), 'utf8'));
      sizes.clickhouse['s%2Ebin'].size = String(file.byteLength);
      writeFileSync(join(path, 'sizes.json'), JSON.stringify(sizes));
      await run('ATTACH TABLE engine_reads');
    };
    await swapIn(blocks);
    const read = await client.query({
      query: 'SELECT lower(hex(MD5(s))) AS md5 FROM engine_reads',
      format: 'JSONEachRow',
    });
    expect(await read.json()).toEqual([{ md5: createHash('md5').update(value).digest('hex') }]);
    blocks[100] = (blocks[100] as number) ^ 0x01;
    await swapIn(blocks);
    await expect(client.query({ query: 'SELECT length(s) FROM engine_reads' })).rejects.toMatchObject({
      code: '40',
      type: 'CHECKSUM_DOESNT_MATCH',
    });
  });
});

describe('compress=1 keeps streaming with backpressure', () => {
  it('holds an endless SELECT back while its client does not read, and stops it when the client leaves', async () => {
    const tag = 'compressed-abandon';
    const query = `SELECT * FROM system.numbers /* ${tag} */`;
    const target = `${clickhouse.url}/?${new URLSearchParams({ query, compress: '1' })}`;
    const { first, destroy } = await new Promise<{ first: Buffer; destroy(): void }>((resolve, reject) => {
      const request = get(target, (response) => {
        response.once('data', (chunk: Buffer) => {
          response.pause();
          resolve({ first: chunk, destroy: () => request.destroy() });
        });
      });
      request.once('error', reject);
    });
    expect(first[16]).toBe(METHOD_LZ4);
    const rssBefore = engineRss();
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await running(tag)).toBe(1);
    expect(engineRss() - rssBefore).toBeLessThan(256 * 1024 * 1024);
    destroy();
    const left = performance.now();
    let goneMs = Number.POSITIVE_INFINITY;
    for (let i = 0; i < 200 && goneMs === Number.POSITIVE_INFINITY; i++) {
      if ((await running(tag)) === 0) goneMs = performance.now() - left;
      else await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(goneMs).toBeLessThan(3000);
  });
});

describe('decompress=1 through raw HTTP', () => {
  it('inserts the rows of an LZ4-compressed JSONEachRow body, ClickHouse-made or the front’s', async () => {
    const before = await count();
    const insert = { query: 'INSERT INTO native_rows FORMAT JSONEachRow', decompress: '1' };
    const made = await raw(insert, Buffer.from(fixture.lz4Body.blocks, 'hex'));
    expect(made.status).toBe(200);
    const ours = await raw(
      insert,
      compressBlocks(Buffer.from('{"id":1000,"name":"ours"}\n{"id":1001,"name":"ours"}\n')),
    );
    expect(ours.status).toBe(200);
    expect((await count()) - before).toBe(302);
  });

  it('refuses a body whose checksum does not match with CHECKSUM_DOESNT_MATCH and inserts nothing', async () => {
    const before = await count();
    const body = compressBlocks(Buffer.from('{"id":2000,"name":"damaged"}\n'.repeat(50)));
    body[40] = (body[40] as number) ^ 0x04;
    const response = await raw(
      { query: 'INSERT INTO native_rows FORMAT JSONEachRow', decompress: '1' },
      body,
    );
    expect(response.status).toBe(500);
    expect(response.headers['x-clickhouse-exception-code']).toBe('40');
    expect(response.body.toString()).toMatch(
      /^Code: 40\. DB::Exception: Checksum doesn't match: corrupted data\. Reference: [0-9a-f]{32}\. Actual: [0-9a-f]{32}\..*\(CHECKSUM_DOESNT_MATCH\)\n$/s,
    );
    expect(await count()).toBe(before);
  });

  it('reads a query sent in blocks, and answers it in blocks', async () => {
    const response = await raw(
      { compress: '1', decompress: '1' },
      compressBlocks(Buffer.from('SELECT 40 + 2')),
    );
    expect((await decompressBlocks(response.body, limit)).toString()).toBe('42\n');
  });
});

describe('through @clickhouse/client (exec, with compress and decompress as settings)', () => {
  it('streams a compress=1 result that decodes to what query() returns', async () => {
    const plain = await client.exec({ query: BIG_SELECT });
    const compressed = await client.exec({
      query: BIG_SELECT,
      clickhouse_settings: { compress: 1 },
      decompress_response_stream: false,
    });
    const collect = async (stream: Readable) => Buffer.concat(await stream.toArray());
    const plainBytes = await collect(plain.stream);
    const blocks = await collect(compressed.stream);
    expect(blocks.byteLength).toBeLessThan(plainBytes.byteLength);
    expect((await decompressBlocks(blocks, limit)).equals(plainBytes)).toBe(true);
  });

  it('gets the blocks inside gzip when the client asks for HTTP compression too', async () => {
    const gzipClient = createClient({ url: clickhouse.url, compression: { response: true } });
    try {
      const query = 'SELECT number FROM numbers(5000) FORMAT TSV';
      // exec() decompresses the gzip layer (the client's own response compression); the blocks stay.
      const result = await gzipClient.exec({ query, clickhouse_settings: { compress: 1 } });
      expect(result.response_headers['content-encoding']).toBe('gzip');
      const blocks = Buffer.concat(await result.stream.toArray());
      const expected = Array.from({ length: 5000 }, (_, i) => `${i}\n`).join('');
      expect((await decompressBlocks(blocks, limit)).toString()).toBe(expected);
    } finally {
      await gzipClient.close();
    }
  });

  it('inserts a decompress=1 body, and refuses a damaged one with code 40', async () => {
    const before = await count();
    const rows = Buffer.from('{"id":3000,"name":"client"}\n{"id":3001,"name":"client"}\n');
    const insert = (values: Buffer) =>
      client.exec({
        query: 'INSERT INTO native_rows FORMAT JSONEachRow',
        values: Readable.from([values]),
        clickhouse_settings: { decompress: 1 },
      });
    const done = await insert(compressBlocks(rows));
    await done.stream.toArray();
    expect((await count()) - before).toBe(2);
    const damaged = compressBlocks(rows);
    damaged[5] = (damaged[5] as number) ^ 0x80;
    await expect(insert(damaged)).rejects.toMatchObject({ code: '40', type: 'CHECKSUM_DOESNT_MATCH' });
    expect((await count()) - before).toBe(2);
  });
});

import { request as httpRequest } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { constants, createGzip } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compressBlocks } from '../../../local/clickhouse/compressed-blocks.js';
import { startTestClickHouse, type TestClickHouse } from '../../support/clickhouse.js';

/**
 * An INSERT whose body the client cuts off (it leaves before the body's end) inserts nothing, as
 * on a server, and leaves nothing behind: its query slot is free and the next request is answered.
 * The front has one slot, so a slot kept by a cut request refuses every later query.
 */

let clickhouse: TestClickHouse;
const lines = Buffer.from(Array.from({ length: 50 }, (_, n) => `{"n":${n}}\n`).join(''));

beforeAll(async () => {
  clickhouse = await startTestClickHouse({ maxConcurrentQueries: 1 });
  const created = await post({ query: 'CREATE TABLE cut_rows (n UInt32) ENGINE = MergeTree ORDER BY n' });
  expect(created).toBe('200 ');
});

afterAll(async () => {
  await clickhouse?.remove();
});

async function post(search: Record<string, string>, body?: string): Promise<string> {
  const answer = await fetch(`${clickhouse.url}/?${new URLSearchParams(search)}`, { method: 'POST', body });
  return `${answer.status} ${(await answer.text()).trim()}`;
}

/** Whole gzip members' worth of `bytes`, flushed, with the gzip stream left unfinished. */
function gzipUnfinished(bytes: Buffer): Promise<Buffer> {
  const gzip = createGzip();
  const out: Buffer[] = [];
  gzip.on('data', (chunk: Buffer) => out.push(chunk));
  gzip.write(bytes);
  return new Promise((resolveFlush) =>
    gzip.flush(constants.Z_SYNC_FLUSH, () => resolveFlush(Buffer.concat(out))),
  );
}

/** Sends the INSERT's first bytes, then destroys the connection; resolves once it is gone. */
function cutInsert(
  search: Record<string, string>,
  headers: Record<string, string>,
  start: Buffer,
): Promise<void> {
  const query = new URLSearchParams({ query: 'INSERT INTO cut_rows FORMAT JSONEachRow', ...search });
  return new Promise((resolveCut) => {
    const request = httpRequest(`${clickhouse.url}/?${query}`, { method: 'POST', headers });
    request.on('error', () => undefined);
    request.on('close', () => resolveCut());
    // The bytes reach the front before the connection goes: a front taking them for the whole body would insert.
    request.write(start, () => setTimeout(() => request.destroy(), 100));
  });
}

/**
 * The answer to `SELECT count()` once the slot is free again (bounded: 40 tries, 50 ms apart),
 * asked again 300 ms later: an insert of the cut body would have started when the connection went,
 * and may still be running when the slot is first free.
 */
async function countOnceFree(): Promise<string> {
  let answer = '';
  for (let attempt = 0; attempt < 40 && !answer.startsWith('200'); attempt++) {
    if (attempt > 0) await sleep(50);
    answer = await post({ query: 'SELECT count() FROM cut_rows' });
  }
  if (!answer.startsWith('200')) return answer;
  await sleep(300);
  return post({ query: 'SELECT count() FROM cut_rows' });
}

describe('an INSERT body the client cuts off', () => {
  const chunked = { 'Transfer-Encoding': 'chunked' };
  const cases: [string, Record<string, string>, Record<string, string>, () => Promise<Buffer>][] = [
    ['chunked', {}, chunked, async () => lines],
    ['short of its Content-Length', {}, { 'Content-Length': String(lines.length * 2) }, async () => lines],
    ['gzip', {}, { ...chunked, 'Content-Encoding': 'gzip' }, () => gzipUnfinished(lines)],
    ['in compressed blocks (decompress=1)', { decompress: '1' }, chunked, async () => compressBlocks(lines)],
    [
      'gzip over compressed blocks (decompress=1)',
      { decompress: '1' },
      { ...chunked, 'Content-Encoding': 'gzip' },
      () => gzipUnfinished(compressBlocks(lines)),
    ],
  ];
  for (const [name, search, headers, start] of cases) {
    it(`${name}: inserts nothing and frees its slot`, async () => {
      await cutInsert(search, headers, await start());
      expect(await countOnceFree()).toBe('200 0');
    });
  }

  it('leaves the front inserting the same rows when they are sent whole', async () => {
    expect(await post({ query: 'INSERT INTO cut_rows FORMAT JSONEachRow' }, lines.toString())).toBe('200 ');
    expect(await countOnceFree()).toBe('200 50');
  });
});

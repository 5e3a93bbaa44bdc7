import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClickHouseDestination } from '../../../functions/adapters/clickhouse/destination.js';
import {
  ONE_BLOCK_INSERT_SETTINGS,
  oneBlockInsertSettings,
} from '../../../functions/adapters/clickhouse/one-block.js';
import { DestinationFatalError } from '../../../functions/core/errors.js';
import { toJsonEachRowLine } from '../../../functions/core/rows.js';
import { startTestClickHouse, type TestClickHouse } from '../../support/clickhouse.js';
import { row } from './fixtures.js';

let clickhouse: TestClickHouse;
let destination: ClickHouseDestination;
const database = 'streamed_test';

beforeAll(async () => {
  clickhouse = await startTestClickHouse();
  destination = ClickHouseDestination.connect({ url: clickhouse.url });
  await destination.ensureDatabase(database);
});

afterAll(async () => {
  await destination?.close();
  await clickhouse?.remove();
});

class SourceGone extends Error {
  override name = 'SourceGone';
}

/** JSONEachRow lines (String `doc`) for `count` rows from `first`, as the snapshot's transcoder writes them. */
function linesOf(first: number, count: number): Buffer {
  const lines: string[] = [];
  for (let i = first; i < first + count; i++) {
    const line = toJsonEachRowLine(
      row(`s${String(i).padStart(4, '0')}`, { n: i, name: `d\u00f6c ${i}` }),
      false,
    );
    lines.push(`${line}\n`);
  }
  return Buffer.from(lines.join(''));
}

/** The bytes handed over in pieces of `size`, so pieces end inside lines and inside `ö`. */
async function* inPieces(bytes: Buffer, size: number): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

async function* emptyBody(): AsyncGenerator<Uint8Array> {
  yield new Uint8Array(0);
}

describe('ClickHouse destination streamed inserts', () => {
  it('inserts a body handed over in pieces cut inside lines, and keeps one copy per token', async () => {
    const ref = { database, table: 'pieces' };
    await destination.createTable(ref, { useJsonNativeFormat: false, deleteOnMerge: false });
    const body = linesOf(0, 200);
    await destination.insertStreamed({ ...ref, body: inPieces(body, 97), deduplicationToken: 'p-0' });
    const stored = await destination.readLiveRows(ref);
    expect(stored).toHaveLength(200);
    expect(stored[199]?._id).toBe('s0199');
    expect(JSON.parse(stored[7]?.doc ?? 'null')).toEqual({ n: 7, name: 'd\u00f6c 7' });
    await destination.insertStreamed({ ...ref, body: inPieces(body, 4096), deduplicationToken: 'p-0' });
    expect(await destination.countRows(ref)).toBe(200);
    await destination.insertStreamed({ ...ref, body: inPieces(body, 4096), deduplicationToken: 'p-1' });
    expect(await destination.countRows(ref)).toBe(400);
  });

  it('names the typed columns the lines carry', async () => {
    const ref = { database, table: 'typed' };
    const columns = [{ name: 'price', sql: 'Nullable(Float64)' }];
    await destination.createTable(ref, { useJsonNativeFormat: false, deleteOnMerge: false, columns });
    const line = (id: string, price: number) =>
      `${toJsonEachRowLine(row(id, { price }), false).slice(0, -1)},"price":${price}}\n`;
    const body = Buffer.from(line('t1', 1.5) + line('t2', 2.25));
    await destination.insertStreamed({
      ...ref,
      body: inPieces(body, 30),
      deduplicationToken: 't-0',
      columns: ['price'],
    });
    const answer = await fetch(
      `${clickhouse.url}/?query=${encodeURIComponent(`SELECT _id, price FROM ${database}.typed ORDER BY _id FORMAT CSV`)}`,
    );
    expect(await answer.text()).toBe('"t1",1.5\n"t2",2.25\n');
  });

  it('rejects with the body’s own error when it throws, inserts none of it, and the next insert works', async () => {
    const ref = { database, table: 'cut' };
    await destination.createTable(ref, { useJsonNativeFormat: false, deleteOnMerge: false });
    const gone = new SourceGone('cursor lost');
    async function* cutShort(): AsyncGenerator<Uint8Array> {
      // Whole lines only reach the server before the body fails: were the body ended as if
      // complete, they would parse and commit.
      yield* inPieces(linesOf(0, 50), 300);
      await sleep(100);
      throw gone;
    }
    await expect(
      destination.insertStreamed({ ...ref, body: cutShort(), deduplicationToken: 'c-0' }),
    ).rejects.toBe(gone);
    await destination.insertStreamed({
      ...ref,
      body: inPieces(linesOf(100, 3), 50),
      deduplicationToken: 'c-1',
    });
    expect((await destination.readLiveRows(ref)).map((stored) => stored._id)).toEqual([
      's0100',
      's0101',
      's0102',
    ]);
  });

  it('rejects with the body’s error when it throws before its first bytes', async () => {
    const gone = new SourceGone('no first batch');
    async function* failsAtOnce(): AsyncGenerator<Uint8Array> {
      yield new Uint8Array(0);
      throw gone;
    }
    await expect(
      destination.insertStreamed({
        database,
        table: 'pieces',
        body: failsAtOnce(),
        deduplicationToken: 'f-0',
      }),
    ).rejects.toBe(gone);
    await expect(
      destination.insertStreamed({
        database,
        table: 'pieces',
        body: inPieces(Buffer.from('x'), 1),
        deduplicationToken: '',
      }),
    ).rejects.toThrow(/non-empty deduplicationToken/);
  });
});

describe('ClickHouse destination streamed inserts, against a loopback server that answers at once', () => {
  let server: Server;
  let requests = 0;
  let loopback: ClickHouseDestination;

  beforeAll(async () => {
    // Answers an error without reading the body, as a server does for an unknown table.
    server = createServer((_request, response) => {
      requests++;
      response
        .writeHead(404, { 'X-ClickHouse-Exception-Code': '60' })
        .end('Code: 60. DB::Exception: Table streamed_test.absent does not exist. (UNKNOWN_TABLE)\n');
    });
    await new Promise<void>((resolveListen) => server.listen(0, '127.0.0.1', resolveListen));
    loopback = ClickHouseDestination.connect({
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    });
  });

  afterAll(async () => {
    await loopback?.close();
    server?.closeAllConnections();
    await new Promise<void>((resolveClose) => (server ? server.close(() => resolveClose()) : resolveClose()));
  });

  it('sends no request for a body that ends without bytes', async () => {
    const before = requests;
    await loopback.insertStreamed({
      database,
      table: 'absent',
      body: emptyBody(),
      deduplicationToken: 'e-0',
    });
    await loopback.insertStreamed({
      database,
      table: 'absent',
      body: inPieces(Buffer.alloc(0), 1),
      deduplicationToken: 'e-1',
    });
    expect(requests).toBe(before);
  });

  it('stops reading the body and closes it before rejecting when the server answers first', async () => {
    let pieces = 0;
    let closed = false;
    async function* endless(): AsyncGenerator<Uint8Array> {
      try {
        for (; pieces < 1_000_000; pieces++) {
          yield linesOf(pieces, 10);
          await sleep(1);
        }
      } finally {
        closed = true;
      }
    }
    await expect(
      loopback.insertStreamed({ database, table: 'absent', body: endless(), deduplicationToken: 'a-0' }),
    ).rejects.toBeInstanceOf(DestinationFatalError);
    expect(closed).toBe(true);
    const read = pieces;
    await sleep(50);
    expect(pieces).toBe(read);
    expect(read).toBeLessThan(1_000_000);
  });
});

describe('a streamed insert is one block, whatever the profile says', () => {
  const hostileProfile = {
    max_insert_block_size: '100',
    min_insert_block_size_rows: '100',
    min_insert_block_size_bytes: '1',
  };
  // Newer servers also close a block at max_insert_block_size_bytes under strict limits.
  const strictProfile = { use_strict_insert_block_limits: '1', max_insert_block_size_bytes: '1000' };

  async function partsAfterInsert(table: string, settings: Record<string, string>): Promise<number> {
    const client = createClient({ url: clickhouse.url });
    try {
      await client.command({
        query: `CREATE TABLE ${database}.${table} (id UInt64, s String) ENGINE = MergeTree ORDER BY id`,
      });
      // Merges would join the parts before they are counted.
      await client.command({ query: `SYSTEM STOP MERGES ${database}.${table}` });
      const body = Array.from({ length: 1000 }, (_, id) => JSON.stringify({ id, s: 'x'.repeat(50) })).join(
        '\n',
      );
      const result = await client.exec({
        query: `INSERT INTO ${database}.${table} FORMAT JSONEachRow`,
        values: Readable.from([body]),
        clickhouse_settings: settings,
      });
      for await (const _ of result.stream);
      const parts = await client.query({
        query: `SELECT count() AS parts, sum(rows) AS rows FROM system.parts WHERE database = '${database}' AND table = '${table}' AND active`,
        format: 'JSONEachRow',
      });
      const [counted] = await parts.json<{ parts: string; rows: string }>();
      expect(Number(counted?.rows)).toBe(1000);
      return Number(counted?.parts);
    } finally {
      await client.close();
    }
  }

  it('ClickHouse commits an insert in many blocks under small or strict block settings, and in one under the one-block settings', async () => {
    const client = createClient({ url: clickhouse.url });
    const oneBlock = await oneBlockInsertSettings(client).finally(() => client.close());
    // This server knows the strict limits, so they are turned off too.
    expect(oneBlock).toMatchObject({ use_strict_insert_block_limits: '0', max_insert_block_size_bytes: '0' });
    expect(await partsAfterInsert('blocks_profile', hostileProfile)).toBeGreaterThan(1);
    expect(await partsAfterInsert('blocks_strict', { ...hostileProfile, ...strictProfile })).toBeGreaterThan(
      1,
    );
    expect(await partsAfterInsert('blocks_base', { ...hostileProfile, ...ONE_BLOCK_INSERT_SETTINGS })).toBe(
      1,
    );
    expect(await partsAfterInsert('blocks_one', { ...hostileProfile, ...strictProfile, ...oneBlock })).toBe(
      1,
    );
  });

  it('insertStreamed asks the server once which settings it knows, and sends the one-block settings with every insert', async () => {
    const requests: { url: string; body: string }[] = [];
    const server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        requests.push({ url: request.url ?? '', body: Buffer.concat(chunks).toString() });
        // An older server: it knows none of the strict-limit settings.
        response.writeHead(200).end();
      });
    });
    await new Promise<void>((resolveListen) => server.listen(0, '127.0.0.1', resolveListen));
    const recording = ClickHouseDestination.connect({
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    });
    try {
      for (const token of ['b-0', 'b-1'])
        await recording.insertStreamed({
          database,
          table: 't',
          body: inPieces(linesOf(0, 3), 50),
          deduplicationToken: token,
        });
      const inserts = requests.filter((request) =>
        /INSERT/.test(new URL(request.url, 'http://h').searchParams.get('query') ?? ''),
      );
      const asks = requests.filter((request) => request.body.includes('system.settings'));
      expect(inserts).toHaveLength(2);
      expect(asks).toHaveLength(1);
      for (const insert of inserts) {
        const sent = new URL(insert.url, 'http://127.0.0.1').searchParams;
        for (const [name, value] of Object.entries(ONE_BLOCK_INSERT_SETTINGS))
          expect(sent.get(name)).toBe(value);
        expect(sent.has('use_strict_insert_block_limits')).toBe(false);
        expect(sent.has('max_insert_block_size_bytes')).toBe(false);
      }
    } finally {
      await recording.close();
      server.closeAllConnections();
      await new Promise<void>((resolveClose) => server.close(() => resolveClose()));
    }
  });
});

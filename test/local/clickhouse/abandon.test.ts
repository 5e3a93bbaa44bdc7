import { readFileSync } from 'node:fs';
import { get, request as httpRequest, type IncomingMessage } from 'node:http';
import { type ClickHouseClient, ClickHouseLogLevel, createClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClickHouseDestination } from '../../../functions/adapters/clickhouse/destination.js';
import { compressBlocks } from '../../../local/clickhouse/compressed-blocks.js';
import { generatedRows } from '../../adapters/clickhouse/fixtures.js';
import { startTestClickHouse, type TestClickHouse } from '../../support/clickhouse.js';

/**
 * Issue 20's first promise: no query takes the embedded ClickHouse (or the machine) down. Results
 * stream with backpressure, a query whose client goes away stops, and each query's memory is
 * bounded. Every loop here is bounded and every server is stopped.
 */

const GiB = 1024 ** 3;
let clickhouse: TestClickHouse;
let client: ClickHouseClient;
let destination: ClickHouseDestination;

beforeAll(async () => {
  clickhouse = await startTestClickHouse();
  client = createClient({ url: clickhouse.url, log: { level: ClickHouseLogLevel.OFF } });
  destination = ClickHouseDestination.connect({ url: clickhouse.url });
  await destination.ensureDatabase('beside');
});

afterAll(async () => {
  await destination?.close();
  await client?.close();
  await clickhouse?.remove();
});

function rssBytes(pid: number): number {
  const kb = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb) * 1024;
}

/** Samples the engine process's RSS every 20 ms until stopped; returns the highest seen. */
function watchRss(pid: number): { stop(): number } {
  let max = rssBytes(pid);
  const timer = setInterval(() => {
    max = Math.max(max, rssBytes(pid));
  }, 20);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(max, rssBytes(pid));
    },
  };
}

/** A pipe's inserts, one batch after another through the product's adapter, until stopped. */
function insertLoop(table: string): {
  started: Promise<void>;
  stop(): Promise<{ batches: number; failures: unknown[] }>;
} {
  const ref = { database: 'beside', table };
  let running = true;
  let batches = 0;
  const failures: unknown[] = [];
  let firstBatch: () => void = () => undefined;
  const started = new Promise<void>((resolveStarted) => {
    firstBatch = resolveStarted;
  });
  const loop = (async () => {
    await destination.createTable(ref, { useJsonNativeFormat: true, deleteOnMerge: false });
    for (let i = 0; i < 10_000 && running; i++) {
      try {
        await destination.insertRows({
          ...ref,
          rows: generatedRows(200, 1000, i * 200),
          deduplicationToken: `${table}-${i}`,
          useJsonNativeFormat: true,
        });
        batches++;
        firstBatch();
      } catch (err) {
        failures.push(err);
      }
    }
  })();
  return {
    started,
    async stop() {
      running = false;
      firstBatch();
      await loop;
      expect(await destination.countRows(ref)).toBe(batches * 200);
      return { batches, failures };
    },
  };
}

async function runningQueries(tag: string): Promise<number> {
  const result = await client.query({
    query: `SELECT count() AS n FROM system.processes WHERE query LIKE {tag:String} AND query NOT LIKE '%system.processes%'`,
    query_params: { tag: `%${tag}%` },
    format: 'JSONEachRow',
  });
  const [row] = await result.json<{ n: string | number }>();
  return Number(row?.n);
}

/** Milliseconds until no query carrying `tag` runs any more (polled every 25 ms, at most 10 s). */
async function msUntilGone(tag: string, since: number): Promise<number> {
  for (let i = 0; i < 400; i++) {
    if ((await runningQueries(tag)) === 0) return performance.now() - since;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return Number.POSITIVE_INFINITY;
}

/** Raw HTTP GET; resolves with the response once its first body bytes arrived. */
function firstBytes(url: string): Promise<{ response: IncomingMessage; first: Buffer; destroy(): void }> {
  return new Promise((resolveFirst, rejectFirst) => {
    const request = get(url, (response) => {
      response.once('data', (first: Buffer) => {
        response.pause();
        resolveFirst({ response, first, destroy: () => request.destroy() });
      });
      response.once('error', rejectFirst);
    });
    request.once('error', rejectFirst);
  });
}

function queryUrl(base: string, search: Record<string, string>): string {
  return `${base}/?${new URLSearchParams(search).toString()}`;
}

describe('a query its client abandons', () => {
  it('stops within a second (raw HTTP), the front stays under 1 GB and a pipe keeps inserting beside it', async () => {
    const rss = watchRss(clickhouse.pid);
    const inserts = insertLoop('raw_abandon');
    await inserts.started;
    const tag = 'abandon-raw-http';
    const { first, destroy } = await firstBytes(
      queryUrl(clickhouse.url, { query: `SELECT * FROM system.numbers /* ${tag} */` }),
    );
    expect(first.toString('utf8')).toMatch(/^0\n1\n2\n/);
    // Let it sit unread for a moment: backpressure, not buffering, must hold it back.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await runningQueries(tag)).toBe(1);
    const abandonedAt = performance.now();
    destroy();
    const goneMs = await msUntilGone(tag, abandonedAt);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const { batches, failures } = await inserts.stop();
    const maxRss = rss.stop();
    console.log(
      `raw HTTP: query gone ${goneMs.toFixed(0)} ms after the client left; engine max RSS ${(maxRss / 2 ** 20).toFixed(0)} MiB; ${batches} insert batches beside it, ${failures.length} failed`,
    );
    expect(goneMs).toBeLessThan(3000);
    expect(maxRss).toBeLessThan(GiB);
    expect(failures).toEqual([]);
    expect(batches).toBeGreaterThan(0);
  });

  it('stops within a second when @clickhouse/client destroys its result stream, inserts beside it succeed', async () => {
    const rss = watchRss(clickhouse.pid);
    const inserts = insertLoop('client_abandon');
    await inserts.started;
    const tag = 'abandon-client-stream';
    const result = await client.query({
      query: `SELECT * FROM system.numbers /* ${tag} */`,
      format: 'TabSeparated',
    });
    const stream = result.stream();
    let rows = 0;
    for await (const batch of stream) {
      rows += (batch as unknown[]).length;
      if (rows > 100_000) break; // leaving the loop destroys the stream
    }
    const abandonedAt = performance.now();
    result.close();
    const goneMs = await msUntilGone(tag, abandonedAt);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const { batches, failures } = await inserts.stop();
    const maxRss = rss.stop();
    console.log(
      `client stream: ${rows} rows read, query gone ${goneMs.toFixed(0)} ms after; engine max RSS ${(maxRss / 2 ** 20).toFixed(0)} MiB; ${batches} insert batches, ${failures.length} failed`,
    );
    expect(goneMs).toBeLessThan(3000);
    expect(maxRss).toBeLessThan(GiB);
    expect(failures).toEqual([]);
    // The front answers the next query on the same client.
    expect(await (await client.query({ query: 'SELECT 1', format: 'TabSeparated' })).text()).toBe('1\n');
  });

  it('stops a query that has produced nothing yet (an endless aggregation) when the client aborts', async () => {
    const tag = 'abandon-aggregation';
    const controller = new AbortController();
    const pending = client
      .query({
        query: `SELECT count() FROM system.numbers /* ${tag} */`,
        format: 'TabSeparated',
        abort_signal: controller.signal,
      })
      .then(
        () => 'answered',
        (err: Error) => err.message,
      );
    for (let i = 0; i < 100 && (await runningQueries(tag)) === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(await runningQueries(tag)).toBe(1);
    const abandonedAt = performance.now();
    controller.abort();
    expect(await pending).toMatch(/abort/i);
    const goneMs = await msUntilGone(tag, abandonedAt);
    console.log(`aggregation: gone ${goneMs.toFixed(0)} ms after the abort`);
    expect(goneMs).toBeLessThan(3000);
  });

  it('leaves the pipes room beside five endless aggregations, and stops them all when their clients abort', async () => {
    const inserts = insertLoop('beside_aggregations');
    await inserts.started;
    const tag = 'endless-aggregation';
    const controllers = Array.from({ length: 5 }, () => new AbortController());
    const pending = controllers.map((controller, i) =>
      client
        .query({
          query: `SELECT count() FROM system.numbers /* ${tag}-${i} */ SETTINGS max_threads = 1`,
          format: 'TabSeparated',
          abort_signal: controller.signal,
        })
        .then(
          () => 'answered',
          (err: Error) => err.message,
        ),
    );
    for (let i = 0; i < 100 && (await runningQueries(tag)) < 5; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(await runningQueries(tag)).toBe(5);
    const startedAt = performance.now();
    const answer = await (await client.query({ query: 'SELECT 42', format: 'TabSeparated' })).text();
    const answerMs = performance.now() - startedAt;
    await new Promise((resolve) => setTimeout(resolve, 500));
    const abandonedAt = performance.now();
    for (const controller of controllers) controller.abort();
    for (const outcome of await Promise.all(pending)) expect(outcome).toMatch(/abort/i);
    const goneMs = await msUntilGone(tag, abandonedAt);
    const { batches, failures } = await inserts.stop();
    console.log(
      `five aggregations: SELECT 42 answered in ${answerMs.toFixed(0)} ms beside them; all gone ${goneMs.toFixed(0)} ms after the aborts; ${batches} insert batches, ${failures.length} failed`,
    );
    expect(answer).toBe('42\n');
    expect(failures).toEqual([]);
    expect(goneMs).toBeLessThan(3000);
  });

  it('streams a result far larger than memory to a reader that keeps reading', async () => {
    const rss = watchRss(clickhouse.pid);
    const response = await fetch(
      queryUrl(clickhouse.url, { query: 'SELECT number, toString(number) FROM numbers(30000000)' }),
    );
    expect(response.status).toBe(200);
    let bytes = 0;
    let lastLine = '';
    const decoder = new TextDecoder();
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      bytes += chunk.byteLength;
      lastLine = (lastLine + decoder.decode(chunk, { stream: true })).slice(-64);
    }
    const maxRss = rss.stop();
    console.log(
      `streamed ${(bytes / 2 ** 20).toFixed(0)} MiB; engine max RSS ${(maxRss / 2 ** 20).toFixed(0)} MiB`,
    );
    expect(lastLine.endsWith('29999999\t29999999\n')).toBe(true);
    expect(bytes).toBeGreaterThan(400 * 2 ** 20);
    expect(maxRss).toBeLessThan(GiB);
  });

  it('cuts off a response after a late error so it cannot pass for a complete result', async () => {
    const outcome = await new Promise<{ status: number; body: string; complete: boolean }>(
      (resolveOutcome) => {
        get(
          queryUrl(clickhouse.url, {
            query: "SELECT throwIf(number = 500000, 'late failure') FROM numbers(1000000)",
          }),
          (response) => {
            let body = '';
            response.setEncoding('utf8');
            response.on('data', (text: string) => {
              body += text;
            });
            response.on('close', () =>
              resolveOutcome({ status: response.statusCode ?? 0, body, complete: response.complete }),
            );
          },
        );
      },
    );
    expect(outcome.status).toBe(200);
    expect(outcome.body.startsWith('0\n0\n')).toBe(true);
    expect(outcome.body).toMatch(/Code: 395\. DB::Exception: .*late failure/);
    expect(outcome.complete).toBe(false);
    await expect(
      client
        .query({
          query: "SELECT throwIf(number = 500000, 'late failure') FROM numbers(1000000)",
          format: 'TabSeparated',
        })
        .then((result) => result.text()),
    ).rejects.toThrow();
  });
});

describe('a bounded front (256 MiB per query, 1 s send timeout, 2 queries at once)', () => {
  let small: TestClickHouse;
  let smallClient: ClickHouseClient;

  beforeAll(async () => {
    small = await startTestClickHouse({
      maxQueryMemoryBytes: 256 * 2 ** 20,
      sendTimeoutMs: 1000,
      maxConcurrentQueries: 2,
    });
    smallClient = createClient({ url: small.url, log: { level: ClickHouseLogLevel.OFF } });
  });

  afterAll(async () => {
    await smallClient?.close();
    await small?.remove();
  });

  it('stops a query past its memory bound with MEMORY_LIMIT_EXCEEDED, and the front keeps answering', async () => {
    const rss = watchRss(small.pid);
    const response = await fetch(
      queryUrl(small.url, { query: 'SELECT length(groupArray(number)) FROM numbers(200000000)' }),
    );
    expect(response.status).toBe(500);
    expect(response.headers.get('x-clickhouse-exception-code')).toBe('241');
    expect(await response.text()).toMatch(/MEMORY_LIMIT_EXCEEDED/);
    expect(rss.stop()).toBeLessThan(GiB);
    expect(await (await smallClient.query({ query: 'SELECT 1', format: 'TabSeparated' })).text()).toBe('1\n');
  });

  it('lets a request lower the bound, never raise it or turn it off', async () => {
    const lowered = await smallClient.query({
      query: "SELECT getSetting('max_memory_usage') AS m",
      format: 'JSONEachRow',
      clickhouse_settings: { max_memory_usage: '1000000' },
    });
    expect((await lowered.json<{ m: unknown }>()).map(({ m }) => String(m))).toEqual(['1000000']);
    const byDefault = await smallClient.query({
      query: "SELECT getSetting('max_memory_usage') AS m",
      format: 'JSONEachRow',
    });
    expect((await byDefault.json<{ m: unknown }>()).map(({ m }) => String(m))).toEqual([
      String(256 * 2 ** 20),
    ]);
    for (const value of [String(8 * GiB), '0']) {
      const raised = await fetch(queryUrl(small.url, { query: 'SELECT 1', max_memory_usage: value }));
      expect(raised.headers.get('x-clickhouse-exception-code'), value).toBe('452');
      expect(await raised.text()).toMatch(/SETTING_CONSTRAINT_VIOLATION/);
    }
    const inClause = await fetch(
      queryUrl(small.url, { query: `SELECT 1 SETTINGS max_memory_usage = ${8 * GiB}` }),
    );
    expect(inClause.headers.get('x-clickhouse-exception-code')).toBe('452');
    await expect(smallClient.command({ query: `SET max_memory_usage = ${8 * GiB}` })).rejects.toMatchObject({
      type: 'SETTING_CONSTRAINT_VIOLATION',
    });
  });

  it('gives up a query whose client stopped reading once the send timeout passes', async () => {
    const tag = 'stalled-reader';
    const { response } = await firstBytes(
      queryUrl(small.url, { query: `SELECT * FROM system.numbers /* ${tag} */` }),
    );
    const started = performance.now();
    // Never read again: the front waits sendTimeoutMs (1 s) for the socket to drain, then gives up.
    const probe = createClient({ url: small.url });
    let cutMs = Number.POSITIVE_INFINITY;
    try {
      for (let i = 0; i < 400; i++) {
        const result = await probe.query({
          query: `SELECT count() AS n FROM system.processes WHERE query LIKE '%${tag}%' AND query NOT LIKE '%system.processes%'`,
          format: 'JSONEachRow',
        });
        const [row] = await result.json<{ n: string | number }>();
        if (Number(row?.n) === 0) {
          cutMs = performance.now() - started;
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    } finally {
      await probe.close();
    }
    // Reading again, the client finds the response cut off, not complete.
    const complete = await new Promise<boolean>((resolveClosed) => {
      response.once('close', () => resolveClosed(response.complete));
      response.once('error', () => undefined);
      response.resume();
    });
    expect(complete).toBe(false);
    console.log(`stalled reader cut off after ${cutMs.toFixed(0)} ms`);
    // Well past an immediate cut, with room for the front's 1 s having started (when the socket
    // stopped draining) before this test's clock did, on a slow machine.
    expect(cutMs).toBeGreaterThan(500);
    expect(cutMs).toBeLessThan(5000);
  });

  it('refuses a query past the concurrency limit with TOO_MANY_SIMULTANEOUS_QUERIES; inserts are not counted', async () => {
    const controllers = [new AbortController(), new AbortController()];
    const pending = controllers.map((controller) =>
      fetch(queryUrl(small.url, { query: 'SELECT count() FROM system.numbers SETTINGS max_threads = 1' }), {
        signal: controller.signal,
      }).catch(() => undefined),
    );
    try {
      await new Promise((resolve) => setTimeout(resolve, 300));
      const refused = await fetch(queryUrl(small.url, { query: 'SELECT 1' }));
      expect(refused.headers.get('x-clickhouse-exception-code')).toBe('202');
      expect(await refused.text()).toMatch(
        /Too many simultaneous queries. Maximum: 2.*TOO_MANY_SIMULTANEOUS_QUERIES/,
      );
      const destinationHere = ClickHouseDestination.connect({ url: small.url });
      try {
        // DDL counts as a query: make room for it, then hold both slots again.
        for (const controller of controllers) controller.abort();
        await Promise.all(pending);
        await new Promise((resolve) => setTimeout(resolve, 300));
        const ref = { database: 'default', table: 'past_limit' };
        await destinationHere.createTable(ref, { useJsonNativeFormat: true, deleteOnMerge: false });
        const again = [new AbortController(), new AbortController()];
        const held = again.map((controller) =>
          fetch(
            queryUrl(small.url, { query: 'SELECT count() FROM system.numbers SETTINGS max_threads = 1' }),
            {
              signal: controller.signal,
            },
          ).catch(() => undefined),
        );
        await new Promise((resolve) => setTimeout(resolve, 300));
        const result = await destinationHere.insertRows({
          ...ref,
          rows: generatedRows(100, 200),
          deduplicationToken: 'past-limit-1',
          useJsonNativeFormat: true,
        });
        expect(result.rows).toBe(100);
        for (const controller of again) controller.abort();
        await Promise.all(held);
      } finally {
        await destinationHere.close();
      }
    } finally {
      for (const controller of controllers) controller.abort();
      await Promise.all(pending);
    }
  });

  it('refuses a decompress=1 request past the limit before reading its body; its slot is given back', async () => {
    const controllers: AbortController[] = [];
    const pending: Promise<unknown>[] = [];
    try {
      // Endless queries until two of them run (one refused while the previous test's queries still
      // hold a slot for a moment after their clients left answers at once and is replaced).
      let running = 0;
      for (let attempt = 0; attempt < 20 && running < 2; attempt++) {
        const controller = new AbortController();
        controllers.push(controller);
        running++;
        pending.push(
          fetch(
            queryUrl(small.url, { query: 'SELECT count() FROM system.numbers SETTINGS max_threads = 1' }),
            {
              signal: controller.signal,
            },
          )
            .then((answer) => answer.text())
            .catch(() => undefined)
            .finally(() => running--),
        );
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
      expect(running).toBe(2);
      // The body's first block goes out and the rest never does: only a front that answers before
      // reading the body can answer at all.
      const code = await answerBeforeBodyEnds(
        queryUrl(small.url, { decompress: '1' }),
        compressBlocks(Buffer.from('SELECT 1')),
      );
      expect(code).toBe('202');
    } finally {
      for (const controller of controllers) controller.abort();
      await Promise.all(pending);
    }
    await untilBothSlotsFree(small.url);
    const created = await fetch(
      queryUrl(small.url, { query: 'CREATE TABLE compressed_slots (n UInt8) ENGINE = Memory' }),
      { method: 'POST' },
    );
    expect(created.status).toBe(200);
    const answers: string[] = [];
    // More requests than slots, one after another: a slot kept by any of them would refuse the last.
    const requests: Record<string, string>[] = [
      { query: 'INSERT INTO compressed_slots FORMAT TSV', decompress: '1' },
      { query: 'INSERT INTO compressed_slots FORMAT TSV', decompress: '1' },
      { query: 'INSERT INTO compressed_slots FORMAT TSV', decompress: '1' },
      { decompress: '1' },
      { decompress: '1' },
      { decompress: '1' },
    ];
    for (const search of requests) {
      const body = compressBlocks(Buffer.from(search.query ? '7\n' : 'SELECT count() FROM compressed_slots'));
      const response = await fetch(queryUrl(small.url, search), { method: 'POST', body });
      answers.push(`${response.status} ${(await response.text()).trim()}`);
    }
    expect(answers).toEqual(['200 ', '200 ', '200 ', '200 3', '200 3', '200 3']);
  });
});

/**
 * Waits until two queries run side by side on a front of two slots: then no query a client left
 * still holds one (it is given back once the engine has stopped the query). Bounded: 20 tries.
 */
async function untilBothSlotsFree(url: string): Promise<void> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const answers = await Promise.all(
      [1, 2].map(async () => {
        const answer = await fetch(queryUrl(url, { query: 'SELECT sleep(0.3)' }));
        await answer.text();
        return answer.status;
      }),
    );
    if (answers.every((status) => status === 200)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('a query slot stayed taken');
}

/** The exception code of the answer to a POST whose body starts with `start` and never ends; fails after 5 s. */
function answerBeforeBodyEnds(url: string, start: Buffer): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, { method: 'POST', headers: { 'Transfer-Encoding': 'chunked' } });
    const timer = setTimeout(() => {
      request.destroy();
      reject(new Error('no answer while the body was still being sent'));
    }, 5000);
    request.on('response', (response) => {
      clearTimeout(timer);
      resolve(response.headers['x-clickhouse-exception-code'] as string | undefined);
      response.resume();
      request.destroy();
    });
    request.on('error', () => undefined);
    request.write(start);
  });
}

/**
 * The ClickHouse side of the product-alone CDC benchmark: an HTTP endpoint on 127.0.0.1 that
 * takes every request body whole, counts its bytes and JSONEachRow lines, and answers 200 with an
 * empty body, as ClickHouse answers an INSERT. The product's ClickHouseDestination and
 * @clickhouse/client still build the rows and stream the body over HTTP; no server parses or
 * stores it, so ClickHouse's CPU cannot bound the figure. It runs outside the product's process.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface DiscardStats {
  requests: number;
  inserts: number;
  /** Queries that were not an INSERT (none in a CDC run). */
  others: string[];
  bodyBytes: number;
  /** Newline-terminated lines of the INSERT bodies: the rows. */
  rows: number;
}

export interface DiscardClickHouse {
  url: string;
  stats: DiscardStats;
  /** Extra GET paths answered with JSON (the stand-ins' counters). */
  route(path: string, answer: () => unknown): void;
  stop(): Promise<void>;
}

export async function startDiscardClickHouse(): Promise<DiscardClickHouse> {
  const stats: DiscardStats = { requests: 0, inserts: 0, others: [], bodyBytes: 0, rows: 0 };
  const routes = new Map<string, () => unknown>();
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', 'http://discard');
    const route = routes.get(url.pathname);
    if (route) {
      request.resume();
      response.writeHead(200, { 'Content-Type': 'application/json' });
      response.end(JSON.stringify(route()));
      return;
    }
    const query = url.searchParams.get('query') ?? '';
    let bytes = 0;
    let rows = 0;
    request.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      for (let at = chunk.indexOf(10); at >= 0; at = chunk.indexOf(10, at + 1)) rows += 1;
    });
    request.on('end', () => {
      stats.requests += 1;
      stats.bodyBytes += bytes;
      if (/^\s*INSERT\b/i.test(query)) {
        stats.inserts += 1;
        stats.rows += rows;
      } else if (stats.others.length < 20) stats.others.push(query.slice(0, 120));
      response.writeHead(200, {
        'Content-Type': 'text/plain; charset=UTF-8',
        'X-ClickHouse-Query-Id': url.searchParams.get('query_id') ?? randomUUID(),
        'X-ClickHouse-Timezone': 'UTC',
        'X-ClickHouse-Summary': JSON.stringify({
          read_rows: '0',
          read_bytes: '0',
          written_rows: String(rows),
          written_bytes: String(bytes),
          total_rows_to_read: '0',
          result_rows: '0',
          result_bytes: '0',
        }),
      });
      response.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stats,
    route: (path, answer) => routes.set(path, answer),
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import { statusPageResponse } from '../status-page/assets.js';
import type { ApiClient } from './client.js';
import { CliError, EXIT } from './io.js';

export const DEFAULT_UI_PORT = 3001;

export interface UiServerOptions {
  /** Prepares each forwarded request: the API's URL, SigV4-signed when the API is not on this machine. */
  client: ApiClient;
  /** 0 picks a free port. */
  port: number;
  fetch?: typeof fetch;
}

export interface UiServer {
  url: string;
  stop(): Promise<void>;
}

const json = (status: number, name: string, message: string, headers: Record<string, string> = {}) =>
  Response.json({ error: { name, message } }, { status, headers });

/**
 * A browser is not the only program that can reach 127.0.0.1: a web page whose host name was made
 * to point here (DNS rebinding) would send its own Host. Only this server's own names are served,
 * so nothing but a page opened at this address can read through the signing proxy.
 */
function isOwnHost(request: Request, port: number): boolean {
  const host = request.headers.get('host')?.toLowerCase();
  return host === `127.0.0.1:${port}` || host === `localhost:${port}`;
}

/** One read of the page forwarded to the API as the CLI sends requests (signed when it signs). */
async function forward(request: Request, options: UiServerOptions): Promise<Response> {
  const incoming = new URL(request.url);
  const prepared = await options.client.prepare('GET', incoming.pathname + incoming.search);
  let answer: Response;
  try {
    answer = await (options.fetch ?? fetch)(prepared.url, { method: 'GET', headers: prepared.headers });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? String(error);
    return json(502, 'ApiUnreachable', `cannot reach the API at ${prepared.url.origin} (${cause})`);
  }
  const type = answer.headers.get('content-type') ?? 'application/json';
  return new Response(await answer.arrayBuffer(), {
    status: answer.status,
    headers: { 'content-type': type, 'cache-control': 'no-store' },
  });
}

async function answer(request: Request, options: UiServerOptions, port: number): Promise<Response> {
  if (!isOwnHost(request, port)) {
    return json(403, 'ForeignHost', `this server answers http://127.0.0.1:${port}/ only`);
  }
  const page = await statusPageResponse(request);
  if (page) return page;
  // The page only reads; pipes are changed with the other `pipes` commands, never through here.
  if (request.method !== 'GET') {
    return json(405, 'ReadOnly', 'pipes ui forwards reads (GET) only', { allow: 'GET' });
  }
  try {
    return await forward(request, options);
  } catch (error) {
    const message = error instanceof CliError ? error.lines.join('; ') : String(error);
    return json(500, 'ForwardFailed', message);
  }
}

/**
 * `pipes ui`: the status page on 127.0.0.1, its API reads forwarded to the chosen API and signed
 * with SigV4 as every other command's requests are (cli/client.ts), so a deployed API behind IAM
 * can be watched from a browser, which cannot sign.
 */
export async function startUiServer(options: UiServerOptions): Promise<UiServer> {
  let port = options.port;
  const server = createAdaptorServer({
    fetch: (request) => answer(request, options, port),
    overrideGlobalObjects: false,
  }) as Server;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new CliError(EXIT.badInput, [`port ${options.port} is in use: pass another with --port`])
          : error,
      ),
    );
    server.listen(options.port, '127.0.0.1', () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/** Resolves on Ctrl-C (or SIGTERM): `pipes ui` serves until then. */
export function untilInterrupted(): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

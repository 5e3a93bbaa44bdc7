import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import { apiApp } from '../../functions/api/app.js';
import type { ApiDeps } from '../../functions/api/deps.js';
import { statusPageResponse } from '../../status-page/assets.js';

export interface LocalApiServerOptions {
  deps: ApiDeps;
  /** Loopback unless told otherwise: the local API has no authentication. */
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Recorded as the actor of every change made through this server. */
  actor?: string;
}

export interface LocalApiServer {
  url: string;
  stop(): Promise<void>;
}

/**
 * A 413 goes out before the rest of the body is read, so its connection cannot carry another
 * request: it closes once the answer is sent (the client reads the 413, then reconnects).
 */
function closingAfterTooLarge(response: Response): Response {
  if (response.status === 413) response.headers.set('connection', 'close');
  return response;
}

/**
 * Serves the very app API Gateway's handler serves, over node:http, and the status page at `/`
 * (status-page/), which reads that API from the same origin.
 */
export async function startLocalApiServer(options: LocalApiServerOptions): Promise<LocalApiServer> {
  const actor = options.actor ?? 'local';
  const app = apiApp(options.deps, () => actor);
  // Without http2 options the adaptor makes a node:http Server; the process's own Request and
  // Response stay as they are (other parts of the local runtime share them).
  const server = createAdaptorServer({
    fetch: async (request, env) =>
      (await statusPageResponse(request)) ?? closingAfterTooLarge(await app.fetch(request, env)),
    overrideGlobalObjects: false,
  }) as Server;
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

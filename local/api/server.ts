import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MAX_BODY_BYTES } from '../../functions/api/body.js';
import type { ApiDeps } from '../../functions/api/deps.js';
import { errorResponse } from '../../functions/api/error-response.js';
import { PayloadTooLargeError } from '../../functions/api/errors.js';
import type { ApiRequest, ApiResponse } from '../../functions/api/http.js';
import { handleApiRequest } from '../../functions/api/router.js';

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

class BodyTooLargeError extends Error {}

/** Past this much, a client is not sending a mistaken body but a stream: cut it off. */
const DRAIN_LIMIT_BYTES = 16 * MAX_BODY_BYTES;

/**
 * Reads the body up to the limit. An oversized body is drained (not kept) before the answer goes
 * out, so the client reads the 413 instead of a connection reset mid-upload.
 */
async function readBody(request: IncomingMessage): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size <= MAX_BODY_BYTES) chunks.push(buffer);
    else if (size > DRAIN_LIMIT_BYTES) {
      request.destroy();
      throw new BodyTooLargeError();
    }
  }
  if (size > MAX_BODY_BYTES) throw new BodyTooLargeError();
  return chunks.length === 0 ? null : Buffer.concat(chunks).toString('utf8');
}

function toApiRequest(request: IncomingMessage, body: string | null): ApiRequest {
  const url = new URL(request.url ?? '/', 'http://local');
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return {
    method: request.method ?? 'GET',
    path: url.pathname,
    query: Object.fromEntries(url.searchParams.entries()),
    headers,
    body,
  };
}

function send(response: ServerResponse, answer: ApiResponse): void {
  const text = answer.body === undefined ? '' : JSON.stringify(answer.body);
  response.writeHead(answer.status, { ...answer.headers, 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

/** Serves the very router API Gateway's handler uses, over node:http. */
export async function startLocalApiServer(options: LocalApiServerOptions): Promise<LocalApiServer> {
  const context = { actor: options.actor ?? 'local' };
  const server = createServer((request, response) => {
    readBody(request)
      .then((body) => handleApiRequest(options.deps, context, toApiRequest(request, body)))
      .then((answer) => send(response, answer))
      .catch((error: unknown) => {
        // Only reading the body can fail here (the router answers every error itself).
        const answer = errorResponse(
          error instanceof BodyTooLargeError ? new PayloadTooLargeError(MAX_BODY_BYTES) : error,
          options.deps.logger,
        );
        send(response, { ...answer, headers: { ...answer.headers, connection: 'close' } });
      });
  });
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

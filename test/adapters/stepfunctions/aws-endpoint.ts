import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedCall {
  method: string;
  /** Path and query, as sent. */
  url: string;
  headers: IncomingMessage['headers'];
  body: unknown;
}

export interface CannedAnswer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/**
 * A stand-in for an AWS service endpoint on 127.0.0.1: records every request the SDK sends (so a
 * test sees the real wire parameters) and answers with the next canned answer, the way the
 * service would (JSON body, error type in `__type` and `x-amzn-errortype`).
 */
export interface AwsEndpoint {
  url: string;
  calls: RecordedCall[];
  answer(...answers: CannedAnswer[]): void;
  stop(): Promise<void>;
}

export function errorAnswer(status: number, type: string, message = type): CannedAnswer {
  return { status, body: { __type: type, message }, headers: { 'x-amzn-errortype': type } };
}

export async function startAwsEndpoint(contentType: string): Promise<AwsEndpoint> {
  const calls: RecordedCall[] = [];
  const queue: CannedAnswer[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      calls.push({
        method: request.method ?? '',
        url: request.url ?? '',
        headers: request.headers,
        body: text === '' ? undefined : JSON.parse(text),
      });
      const next =
        queue.shift() ?? errorAnswer(500, 'NoCannedAnswer', 'the test gave no answer for this call');
      const body = JSON.stringify(next.body ?? {});
      response.writeHead(next.status, {
        'content-type': contentType,
        'content-length': Buffer.byteLength(body),
        ...next.headers,
      });
      response.end(body);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    answer: (...answers) => queue.push(...answers),
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

export const TEST_CLIENT_CONFIG = {
  region: 'eu-west-1',
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  maxAttempts: 1,
};

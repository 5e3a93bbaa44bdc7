import { PipeNotFoundError } from '../core/errors.js';
import { BadRequestError, PayloadTooLargeError, UnsupportedMediaTypeError } from './errors.js';
import { idempotencyKeySchema, pipeIdSchema } from './schemas/requests.js';

/** Bodies larger than this are refused before parsing (API Gateway caps payloads at 10 MB anyway). */
export const MAX_BODY_BYTES = 1_048_576;

const JSON_CONTENT_TYPE = /^application\/(?:[\w.+-]+\+)?json\b/i;

/** The body as text; reading stops at the limit, so an oversized upload is never held in memory. */
async function bodyText(request: Request): Promise<string> {
  if (request.body === null) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of request.body) {
    size += chunk.byteLength;
    if (size > MAX_BODY_BYTES) throw new PayloadTooLargeError(MAX_BODY_BYTES);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The request body as JSON. A body must be declared as JSON when a content type is sent (a
 * form-encoded body from `curl -d` without `-H content-type` gets a 415 that says so).
 */
export async function readJsonBody(request: Request): Promise<unknown> {
  const contentType = request.headers.get('content-type');
  if (contentType !== null && !JSON_CONTENT_TYPE.test(contentType.trim())) {
    throw new UnsupportedMediaTypeError(contentType);
  }
  const text = await bodyText(request);
  if (text.trim() === '') throw new BadRequestError([{ path: '', message: 'a JSON body is required' }]);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new BadRequestError([{ path: '', message: `is not valid JSON: ${(error as Error).message}` }]);
  }
}

/** The optional `Idempotency-Key` header, read where each route has checked what comes first. */
export function idempotencyKeyOf(request: Request): string | undefined {
  const key = request.headers.get('idempotency-key');
  if (key === null) return undefined;
  if (!idempotencyKeySchema.safeParse(key).success) {
    throw new BadRequestError([
      {
        path: 'headers.Idempotency-Key',
        message: 'must be 1 to 200 printable ASCII characters without spaces',
      },
    ]);
  }
  return key;
}

/** Query parameters; a repeated name keeps its last value (as API Gateway's queryStringParameters do). */
export function queryOf(request: Request): Record<string, string> {
  return Object.fromEntries(new URL(request.url).searchParams);
}

/** The pipe id of the path. One the store cannot hold names no pipe: a 404 before anything is read. */
export function requirePipeId(id: string): string {
  if (!pipeIdSchema.safeParse(id).success) throw new PipeNotFoundError(id.slice(0, 80));
  return id;
}

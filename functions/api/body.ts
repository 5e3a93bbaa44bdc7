import { BadRequestError, PayloadTooLargeError, UnsupportedMediaTypeError } from './errors.js';
import type { ApiRequest } from './http.js';

/** Bodies larger than this are refused before parsing (API Gateway caps payloads at 10 MB anyway). */
export const MAX_BODY_BYTES = 1_048_576;

/**
 * The request body as JSON. A body must be declared as JSON when a content type is sent (a
 * form-encoded body from `curl -d` without `-H content-type` gets a 415 that says so).
 */
export function readJsonBody(request: ApiRequest): unknown {
  const contentType = request.headers['content-type'];
  if (contentType !== undefined && !/^application\/(?:[\w.+-]+\+)?json\b/i.test(contentType.trim())) {
    throw new UnsupportedMediaTypeError(contentType);
  }
  const text = request.body ?? '';
  if (text.trim() === '') throw new BadRequestError([{ path: '', message: 'a JSON body is required' }]);
  if (Buffer.byteLength(text, 'utf8') > MAX_BODY_BYTES) {
    throw new PayloadTooLargeError(MAX_BODY_BYTES);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new BadRequestError([{ path: '', message: `is not valid JSON: ${(error as Error).message}` }]);
  }
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,200}$/;

/** The optional `Idempotency-Key` header: printable ASCII without spaces, at most 200 characters. */
export function idempotencyKeyOf(request: ApiRequest): string | undefined {
  const key = request.headers['idempotency-key'];
  if (key === undefined) return undefined;
  if (!IDEMPOTENCY_KEY.test(key)) {
    throw new BadRequestError([
      {
        path: 'headers.Idempotency-Key',
        message: 'must be 1 to 200 printable ASCII characters without spaces',
      },
    ]);
  }
  return key;
}

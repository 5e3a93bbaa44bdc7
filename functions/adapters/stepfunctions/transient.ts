/**
 * AWS control-plane failures that a later retry is expected to get past: throttling, the
 * service's own 5xx, and the connection failing before an answer came back.
 */
const TRANSIENT_NAMES = new Set([
  'ThrottlingException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'InternalServerException',
  'InternalServerError',
  'TimeoutError',
  'RequestTimeout',
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
]);

export function isTransientAwsError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const meta = (error as { $metadata?: { httpStatusCode?: number } }).$metadata;
  const code = (error as { code?: unknown }).code;
  return (
    TRANSIENT_NAMES.has(error.name) ||
    (typeof code === 'string' && TRANSIENT_NAMES.has(code)) ||
    (meta?.httpStatusCode !== undefined && meta.httpStatusCode >= 500)
  );
}

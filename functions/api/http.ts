/**
 * The API's own request/response shapes, independent of where the request came from (API
 * Gateway's proxy event or the local node:http server): both translate into these, so the one
 * router serves both.
 */
export interface ApiRequest {
  method: string;
  /** The path without the query string, e.g. `/pipes/abc/state`. */
  path: string;
  /** Single-valued query parameters (a repeated name keeps its last value). */
  query: Record<string, string>;
  /** Header names in lower case. */
  headers: Record<string, string>;
  /** The raw body text, or null when there is none. */
  body: string | null;
}

export interface ApiResponse {
  status: number;
  headers: Record<string, string>;
  /** Serialized as JSON; undefined means an empty body. */
  body?: unknown;
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): ApiResponse {
  return { status, headers: { 'content-type': 'application/json', ...headers }, body };
}

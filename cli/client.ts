import { CliError, EXIT, exitCodeOf } from './io.js';
import { isLoopbackHost, regionOfApiHost, type SigningConfig, signRequest } from './sigv4.js';

// biome-ignore lint/suspicious/noExplicitAny: answers are the API's JSON views, read field by field.
export type Json = any;

export interface ClientOptions {
  /** The API's base URL, e.g. http://127.0.0.1:3000 or https://<id>.execute-api.<region>.amazonaws.com/prod. */
  api: string;
  /** Set for a deployed API: every request is signed with SigV4. */
  signing?: SigningConfig | null;
  fetch?: typeof fetch;
}

export interface CallOptions {
  body?: unknown;
  idempotencyKey?: string;
}

/** Parses `--api`: an http(s) URL, or bad input. */
export function parseApiUrl(api: string): URL {
  let url: URL;
  try {
    url = new URL(api);
  } catch {
    throw new CliError(EXIT.badInput, [`--api ${api} is not a URL`]);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CliError(EXIT.badInput, [`--api ${api} must be an http:// or https:// URL`]);
  }
  return url;
}

/** Whether requests to this API are signed: every API that is not on this machine. */
export function needsSigning(api: URL): boolean {
  return !isLoopbackHost(api.hostname);
}

/** The signing region: `--region`, else the API host's, else AWS_REGION / AWS_DEFAULT_REGION. */
export function signingRegion(api: URL, region: string | undefined, env: CliEnv): string {
  const found = region ?? regionOfApiHost(api.hostname) ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (!found) {
    throw new CliError(EXIT.badInput, [
      `cannot tell the AWS region of ${api.host}: pass --region or set AWS_REGION`,
    ]);
  }
  return found;
}

type CliEnv = Record<string, string | undefined>;

/** The HTTP API, one JSON request at a time; a non-2xx answer becomes a CliError. */
export class ApiClient {
  private readonly base: URL;

  constructor(private readonly options: ClientOptions) {
    this.base = parseApiUrl(options.api);
  }

  /** The API's base URL, as requests are sent to it. */
  get baseUrl(): string {
    return this.base.toString();
  }

  /** The request as sent: URL, method, headers (signed when signing is on) and body. */
  async prepare(method: string, path: string, call: CallOptions = {}) {
    const url = new URL(this.base.pathname.replace(/\/$/, '') + path, this.base);
    const body = call.body === undefined ? undefined : JSON.stringify(call.body);
    let headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (call.idempotencyKey !== undefined) headers['idempotency-key'] = call.idempotencyKey;
    if (this.options.signing) {
      const signed = await signRequest({ method, url, headers, body }, this.options.signing).catch(
        (error) => {
          throw new CliError(EXIT.other, [`cannot sign the request with SigV4: ${(error as Error).message}`]);
        },
      );
      // fetch sets Host from the URL itself; the signature covered the same value.
      const { host: _host, ...rest } = signed;
      headers = rest;
    }
    return { url, method, headers, body };
  }

  async call(method: string, path: string, call: CallOptions = {}): Promise<Json> {
    const request = await this.prepare(method, path, call);
    let response: Response;
    try {
      response = await (this.options.fetch ?? fetch)(request.url, {
        method,
        headers: request.headers,
        body: request.body,
      });
    } catch (error) {
      throw unreachable(this.base, error);
    }
    const text = await response.text();
    const parsed = parseJson(text);
    if (response.ok) return parsed;
    throw apiFailure(response.status, parsed, text);
  }
}

function parseJson(text: string): Json {
  if (text === '') return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function unreachable(base: URL, error: unknown): CliError {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const why = cause?.code ?? cause?.message ?? String(error);
  return new CliError(EXIT.unavailable, [`cannot reach the API at ${base.origin} (${why})`]);
}

/** The API's error body, one readable line per part: name and message, each field error, the state. */
export function apiFailure(status: number, body: Json, text: string): CliError {
  const error = body?.error;
  if (!error || typeof error.name !== 'string') {
    const detail = text.trim() === '' ? '' : `: ${text.trim().slice(0, 500)}`;
    return new CliError(exitCodeOf(status), [`HTTP ${status}${detail}`], body);
  }
  const lines = [`${error.name}: ${error.message}`];
  for (const field of error.fieldErrors ?? []) {
    lines.push(`  ${field.path === '' ? '(body)' : field.path}: ${field.message}`);
  }
  if (error.currentState !== undefined) lines.push(`  current state: ${error.currentState}`);
  if (Array.isArray(error.allowedCommands)) {
    lines.push(`  allowed commands: ${error.allowedCommands.join(', ') || 'none'}`);
  }
  return new CliError(exitCodeOf(status), lines, body);
}

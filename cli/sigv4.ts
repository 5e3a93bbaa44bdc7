import { createHash, createHmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';

/** What SignatureV4 hashes (its `SourceData`), declared here so the CLI needs no undeclared package. */
type SourceData = string | ArrayBuffer | ArrayBufferView;
/** Fixed credentials or a provider (the credential chain), as SignatureV4 takes them. */
export type Credentials = ConstructorParameters<typeof SignatureV4>[0]['credentials'];

/** SHA-256 (and HMAC-SHA-256 with a secret) on node:crypto, the shape SignatureV4 asks for. */
export class NodeSha256 {
  private hash;

  constructor(private readonly secret?: SourceData) {
    this.hash = this.fresh();
  }

  private fresh() {
    return this.secret === undefined ? createHash('sha256') : createHmac('sha256', toBuffer(this.secret));
  }

  update(data: SourceData): void {
    this.hash.update(toBuffer(data));
  }

  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }

  reset(): void {
    this.hash = this.fresh();
  }
}

function toBuffer(data: SourceData): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

const API_HOST = /^[a-z0-9]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com$/i;

/** The region in an API Gateway host name (`<id>.execute-api.<region>.amazonaws.com`), else null. */
export function regionOfApiHost(hostname: string): string | null {
  return API_HOST.exec(hostname)?.[1] ?? null;
}

/** 127.0.0.0/8, ::1 and localhost: the local runtime, which is not signed. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export interface OutgoingRequest {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body?: string;
}

export interface SigningConfig {
  region: string;
  credentials: Credentials;
  /** The signing time; the current time when absent. */
  now?: () => Date;
}

/**
 * Signs a request for API Gateway (service `execute-api`) with Signature Version 4 and answers
 * its headers with `authorization`, `x-amz-date`, `x-amz-content-sha256` (and
 * `x-amz-security-token` for temporary credentials) added.
 */
export async function signRequest(request: OutgoingRequest, config: SigningConfig) {
  const signer = new SignatureV4({
    service: 'execute-api',
    region: config.region,
    credentials: config.credentials,
    sha256: NodeSha256,
    applyChecksum: true,
  });
  const query: Record<string, string | string[]> = {};
  for (const key of new Set(request.url.searchParams.keys())) {
    const values = request.url.searchParams.getAll(key);
    query[key] = values.length === 1 ? values[0]! : values;
  }
  const signed = await signer.sign(
    {
      method: request.method,
      protocol: request.url.protocol,
      hostname: request.url.hostname,
      port: request.url.port === '' ? undefined : Number(request.url.port),
      path: request.url.pathname,
      query,
      headers: { ...request.headers, host: request.url.host },
      body: request.body,
    },
    { signingDate: config.now?.() ?? new Date() },
  );
  return signed.headers;
}

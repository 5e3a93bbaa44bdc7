import { Hash } from '@smithy/core/serde';
import { SignatureV4 } from '@smithy/signature-v4';
import { describe, expect, it } from 'vitest';
import { ApiClient, signingRegion } from '../../cli/client.js';
import { CliError } from '../../cli/io.js';
import { clientFor } from '../../cli/main.js';
import { isLoopbackHost, NodeSha256, regionOfApiHost } from '../../cli/sigv4.js';

/** The credentials and clock of AWS's SigV4 test suite. */
const CREDENTIALS = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
};
const SIGNING_DATE = new Date('2015-08-30T12:36:00Z');
const HOST = 'a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com';
const API = `https://${HOST}/prod`;

/** The AWS SDK's own signer, with the SDK's Node hash: what the CLI's request must carry. */
async function sdkSigned(request: {
  method: string;
  path: string;
  query?: Record<string, string>;
  headers: Record<string, string>;
  body?: string;
  credentials?: typeof CREDENTIALS & { sessionToken?: string };
}) {
  const signer = new SignatureV4({
    service: 'execute-api',
    region: 'eu-west-1',
    credentials: request.credentials ?? CREDENTIALS,
    sha256: Hash.bind(null, 'sha256'),
  });
  const signed = await signer.sign(
    {
      method: request.method,
      protocol: 'https:',
      hostname: HOST,
      path: request.path,
      query: request.query ?? {},
      headers: { host: HOST, ...request.headers },
      body: request.body,
    },
    { signingDate: SIGNING_DATE },
  );
  return signed.headers;
}

const signedHeaders = ['authorization', 'x-amz-date', 'x-amz-content-sha256'];
const pick = (headers: Record<string, string>, names: string[]) =>
  Object.fromEntries(names.map((name) => [name, headers[name]]));

describe('SigV4 for the deployed API', () => {
  const client = (credentials: typeof CREDENTIALS & { sessionToken?: string } = CREDENTIALS) =>
    new ApiClient({
      api: API,
      signing: { region: signingRegion(new URL(API), undefined, {}), credentials, now: () => SIGNING_DATE },
    });

  it("a command's request (body, Idempotency-Key) carries the headers the SDK's signer computes", async () => {
    const prepared = await client().prepare('PATCH', '/pipes/p-1/state', {
      body: { command: 'pause' },
      idempotencyKey: 'retry-1',
    });
    expect(prepared.url.href).toBe(`https://${HOST}/prod/pipes/p-1/state`);
    const expected = await sdkSigned({
      method: 'PATCH',
      path: '/prod/pipes/p-1/state',
      headers: {
        accept: 'application/json',
        'content-type': 'application/json',
        'idempotency-key': 'retry-1',
      },
      body: '{"command":"pause"}',
    });
    expect(pick(prepared.headers, signedHeaders)).toEqual(pick(expected, signedHeaders));
    expect(prepared.headers['x-amz-date']).toBe('20150830T123600Z');
    expect(prepared.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/20150830\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=accept;content-type;host;idempotency-key;x-amz-content-sha256;x-amz-date, Signature=[0-9a-f]{64}$/,
    );
    // sha256('{"command":"pause"}'), not the empty body's hash.
    expect(prepared.headers['x-amz-content-sha256']).not.toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
  });

  it('a list with a query string, and temporary credentials (session token)', async () => {
    const credentials = { ...CREDENTIALS, sessionToken: 'token/with+chars=' };
    const prepared = await client(credentials).prepare('GET', '/pipes?limit=100&state=Running');
    const expected = await sdkSigned({
      method: 'GET',
      path: '/prod/pipes',
      query: { limit: '100', state: 'Running' },
      headers: { accept: 'application/json' },
      credentials,
    });
    const names = [...signedHeaders, 'x-amz-security-token'];
    expect(pick(prepared.headers, names)).toEqual(pick(expected, names));
    expect(prepared.headers['x-amz-content-sha256']).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
  });

  it('call sends exactly the signed request: the same headers (Host left to fetch), URL and body', async () => {
    const sent: { url: string; init: RequestInit }[] = [];
    const fakeFetch = (async (url: URL, init: RequestInit) => {
      sent.push({ url: String(url), init });
      return new Response('{"pipes":[],"nextToken":null}', { status: 200 });
    }) as unknown as typeof fetch;
    const signing = { region: 'eu-west-1', credentials: CREDENTIALS, now: () => SIGNING_DATE };
    const answer = await new ApiClient({ api: `${API}/`, signing, fetch: fakeFetch }).call('POST', '/pipes', {
      body: { name: 'shop' },
    });
    expect(answer).toEqual({ pipes: [], nextToken: null });
    expect(sent).toHaveLength(1);
    expect(sent[0]!.url).toBe(`https://${HOST}/prod/pipes`);
    expect(sent[0]!.init.body).toBe('{"name":"shop"}');
    const headers = sent[0]!.init.headers as Record<string, string>;
    expect(headers.host).toBeUndefined();
    const expected = await sdkSigned({
      method: 'POST',
      path: '/prod/pipes',
      headers: { accept: 'application/json', 'content-type': 'application/json' },
      body: '{"name":"shop"}',
    });
    expect(pick(headers, signedHeaders)).toEqual(pick(expected, signedHeaders));
  });

  it("the CLI's node:crypto hash gives AWS's published signature for the test suite's get-vanilla", async () => {
    const signer = new SignatureV4({
      service: 'service',
      region: 'us-east-1',
      credentials: CREDENTIALS,
      sha256: NodeSha256,
      applyChecksum: false,
    });
    const signed = await signer.sign(
      {
        method: 'GET',
        protocol: 'https:',
        hostname: 'example.amazonaws.com',
        path: '/',
        query: {},
        headers: { host: 'example.amazonaws.com' },
      },
      { signingDate: SIGNING_DATE },
    );
    expect(signed.headers.authorization).toBe(
      'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, ' +
        'SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31',
    );
  });

  it('signs only APIs off this machine; the region comes from the host, --region or AWS_REGION', async () => {
    expect(isLoopbackHost('127.0.0.1')).toBe(true);
    expect(isLoopbackHost('localhost')).toBe(true);
    expect(isLoopbackHost('[::1]')).toBe(true);
    expect(isLoopbackHost(HOST)).toBe(false);
    expect(regionOfApiHost(HOST)).toBe('eu-west-1');
    expect(regionOfApiHost('api.example.com')).toBeNull();
    expect(signingRegion(new URL('https://api.example.com'), 'us-east-2', {})).toBe('us-east-2');
    expect(signingRegion(new URL('https://api.example.com'), undefined, { AWS_REGION: 'ap-south-1' })).toBe(
      'ap-south-1',
    );
    expect(() => signingRegion(new URL('https://api.example.com'), undefined, {})).toThrow(CliError);

    const io = { stdout: () => undefined, stderr: () => undefined, env: {}, isTty: false };
    const clock = { sleep: async () => undefined, now: () => SIGNING_DATE };
    const local = await clientFor(
      { api: 'http://127.0.0.1:3000', output: 'text' },
      { ...io, ...clock },
    ).prepare('GET', '/pipes');
    expect(local.headers.authorization).toBeUndefined();
  });
});

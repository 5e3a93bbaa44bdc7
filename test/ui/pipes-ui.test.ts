import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hash } from '@smithy/core/serde';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type ApiFixture, newTwoTablePipe, startApi } from '../api/fixtures.js';

const ROOT = join(import.meta.dirname, '..', '..');
/** The credentials of AWS's SigV4 test suite, handed to `pipes` through the standard variables. */
const CREDENTIALS = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
};
const home = mkdtempSync(join(tmpdir(), 'pipes-ui-home-'));

interface RunningUi {
  child: ChildProcess;
  url: string;
  output: () => string;
}

const started: ChildProcess[] = [];

/** `npx pipes <args>` as a user runs it (bin/pipes.mjs), until it prints the page's address. */
async function startPipesUi(args: string[], env: Record<string, string> = {}): Promise<RunningUi> {
  // Only what the command needs: no AWS profile or credentials of this machine leak in.
  const childEnv = { PATH: process.env.PATH ?? '', HOME: home, AWS_EC2_METADATA_DISABLED: 'true', ...env };
  const child = spawn(process.execPath, ['bin/pipes.mjs', ...args, '--port', '0'], {
    cwd: ROOT,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(child);
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += String(chunk);
  });
  child.stderr?.on('data', (chunk) => {
    output += String(chunk);
  });
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const match = /^status page: (http:\/\/127\.0\.0\.1:\d+\/) /m.exec(output);
    if (match) return { child, url: match[1]!, output: () => output };
    if (child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`pipes ui did not print its address; output:\n${output}`);
}

/** Ctrl-C, as a user stops it: the command ends with exit code 0. */
async function interrupt(ui: RunningUi): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => ui.child.once('exit', (code) => resolve(code)));
  ui.child.kill('SIGINT');
  return exited;
}

afterEach(() => {
  for (const child of started.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

afterAll(() => rmSync(home, { recursive: true, force: true }));

/** A GET with a Host header of our choosing (fetch sets Host from the URL itself). */
function getWithHost(url: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, { headers: { host } }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.on('error', reject);
    request.end();
  });
}

describe('pipes ui against the local API', () => {
  let api: ApiFixture;
  let pipeId: string;

  beforeAll(async () => {
    api = await startApi();
    pipeId = await newTwoTablePipe(api, 'shown');
  });

  afterAll(async () => {
    await api?.stop();
  });

  it('is served by the local API itself at /, beside the API routes', async () => {
    const page = await fetch(`${api.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(await page.text()).toContain('<link rel="stylesheet" href="/status-page/status.css" />');
    const style = await fetch(`${api.url}/status-page/status.css`);
    expect(style.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect((await fetch(`${api.url}/status-page/other.js`)).status).toBe(404);
    expect((await fetch(`${api.url}/pipes`)).status).toBe(200);
  });

  it('serves the status page and forwards its reads unsigned, answering what the API answers', async () => {
    const ui = await startPipesUi(['--api', api.url, 'ui']);
    expect(ui.output()).toContain(`(reading ${api.url}/;`);

    const page = await fetch(ui.url);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await page.text()).toContain('<script type="module" src="/status-page/status.js"></script>');
    const script = await fetch(new URL('status-page/status.js', ui.url));
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');

    const direct = (await (await fetch(`${api.url}/pipes/${pipeId}/history?limit=1`)).json()) as {
      history: unknown[];
    };
    const viaUi = await fetch(new URL(`pipes/${pipeId}/history?limit=1`, ui.url));
    expect(viaUi.status).toBe(200);
    expect(await viaUi.json()).toEqual(direct);
    expect(direct.history).toHaveLength(1);

    const missing = await fetch(new URL('pipes/no-such-pipe', ui.url));
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { name: string } }).error.name).toBe('PipeNotFoundError');

    expect(await interrupt(ui)).toBe(0);
  });

  it('forwards reads only, and only to a page opened at its own address', async () => {
    const ui = await startPipesUi(['--api', api.url, 'ui']);
    const write = await fetch(new URL(`pipes/${pipeId}/pause`, ui.url), { method: 'POST' });
    expect(write.status).toBe(405);
    expect(write.headers.get('allow')).toBe('GET');
    expect((await api.store.getPipe(pipeId)).state).toBe('Provisioning');

    const port = new URL(ui.url).port;
    expect(await getWithHost(new URL('pipes', ui.url).toString(), `localhost:${port}`)).toBe(200);
    expect(await getWithHost(new URL('pipes', ui.url).toString(), 'attacker.example')).toBe(403);
    expect(await interrupt(ui)).toBe(0);
  });
});

interface Recorded {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

describe('pipes ui against an API that is not on this machine', () => {
  let server: Server;
  let apiUrl: string;
  const recorded: Recorded[] = [];

  beforeAll(async () => {
    // Stands in for API Gateway (records each read, answers an empty list) and for CloudFormation
    // (DescribeStacks of any stack answers this server as its ApiUrl output, for --stack).
    server = createServer((request, response) => {
      if (request.method === 'POST') {
        response.writeHead(200, { 'content-type': 'text/xml' });
        response.end(describeStacksXml(apiUrl));
        return;
      }
      recorded.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers });
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end('{"pipes":[],"nextToken":null}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/prod`;
  });

  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
  });

  it('signs every forwarded read with SigV4 from the standard credential chain', async () => {
    recorded.length = 0;
    const env = {
      AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
    };
    // --sign marks the loopback stand-in as remote, as for a tunnel to a deployed API.
    const ui = await startPipesUi(['--api', apiUrl, '--sign', '--region', 'eu-west-1', 'ui'], env);
    const answer = await fetch(new URL('pipes?limit=5', ui.url));
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({ pipes: [], nextToken: null });
    expect(await interrupt(ui)).toBe(0);

    expect(recorded).toHaveLength(1);
    const [arrived] = recorded as [Recorded];
    expect(arrived.method).toBe('GET');
    expect(arrived.url).toBe('/prod/pipes?limit=5');
    const amzDate = String(arrived.headers['x-amz-date']);
    const scope = `${amzDate.slice(0, 8)}/eu-west-1/execute-api/aws4_request`;
    expect(arrived.headers.authorization).toMatch(
      new RegExp(
        `^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/${scope}, SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]{64}$`,
      ),
    );
    expect(arrived.headers.authorization).toBe(await sdkAuthorization(arrived, amzDate));
  });

  it('reads the API from the stack with --stack, and signs for it', async () => {
    recorded.length = 0;
    const env = {
      AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL_CLOUDFORMATION: new URL(apiUrl).origin,
    };
    const ui = await startPipesUi(['--stack', 'pipes', '--region', 'eu-west-1', '--sign', 'ui'], env);
    expect(ui.output()).toContain(`(reading ${apiUrl};`);
    expect((await fetch(new URL('pipes', ui.url))).status).toBe(200);
    expect(await interrupt(ui)).toBe(0);
    expect(recorded.map((read) => read.url)).toEqual(['/prod/pipes']);
    expect(recorded[0]!.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\//,
    );
  });

  it('sends a loopback API its reads unsigned', async () => {
    recorded.length = 0;
    const ui = await startPipesUi(['--api', apiUrl, 'ui']);
    expect((await fetch(new URL('pipes', ui.url))).status).toBe(200);
    expect(await interrupt(ui)).toBe(0);
    expect(recorded).toHaveLength(1);
    expect(recorded[0]!.headers.authorization).toBeUndefined();
  });
});

/** A DescribeStacks answer (CloudFormation's query protocol) whose ApiUrl output is `apiUrl`. */
function describeStacksXml(apiUrl: string): string {
  return (
    '<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/">' +
    '<DescribeStacksResult><Stacks><member><StackName>pipes</StackName>' +
    '<StackId>arn:aws:cloudformation:eu-west-1:123456789012:stack/pipes/0f1e2d3c</StackId>' +
    '<CreationTime>2026-12-01T10:00:00.000Z</CreationTime><StackStatus>CREATE_COMPLETE</StackStatus>' +
    `<Outputs><member><OutputKey>ApiUrl</OutputKey><OutputValue>${apiUrl}</OutputValue></member></Outputs>` +
    '</member></Stacks></DescribeStacksResult>' +
    '<ResponseMetadata><RequestId>5ccc7dcd-744c-11e5-be70-1b08c228efb3</RequestId></ResponseMetadata>' +
    '</DescribeStacksResponse>'
  );
}

/** What the AWS SDK's own signer makes of the request as it arrived, at the time it was signed. */
async function sdkAuthorization(arrived: Recorded, amzDate: string): Promise<string> {
  const url = new URL(arrived.url, `http://${arrived.headers.host}`);
  const signer = new SignatureV4({
    service: 'execute-api',
    region: 'eu-west-1',
    credentials: CREDENTIALS,
    sha256: Hash.bind(null, 'sha256'),
  });
  const at = amzDate.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z');
  const signed = await signer.sign(
    {
      method: 'GET',
      protocol: 'http:',
      hostname: url.hostname,
      port: Number(url.port),
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: { host: url.host, accept: String(arrived.headers.accept) },
    },
    { signingDate: new Date(at) },
  );
  return signed.headers.authorization!;
}

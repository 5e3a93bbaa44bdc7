import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { CliIo } from '../../cli/io.js';
import { main } from '../../cli/main.js';
import { type ApiFixture, startApi } from '../api/fixtures.js';

const NS = 'http://cloudformation.amazonaws.com/doc/2010-05-15/';

/** A DescribeStacks answer as CloudFormation's query protocol sends it. */
function describeStacksXml(stack: string, outputs: Record<string, string>): string {
  const members = Object.entries(outputs)
    .map(
      ([key, value]) => `<member><OutputKey>${key}</OutputKey><OutputValue>${value}</OutputValue></member>`,
    )
    .join('');
  return (
    `<DescribeStacksResponse xmlns="${NS}"><DescribeStacksResult><Stacks><member>` +
    `<StackName>${stack}</StackName>` +
    `<StackId>arn:aws:cloudformation:eu-west-1:123456789012:stack/${stack}/0f1e2d3c</StackId>` +
    '<CreationTime>2026-12-01T10:00:00.000Z</CreationTime><StackStatus>CREATE_COMPLETE</StackStatus>' +
    `<Outputs>${members}</Outputs></member></Stacks></DescribeStacksResult>` +
    '<ResponseMetadata><RequestId>5ccc7dcd-744c-11e5-be70-1b08c228efb3</RequestId></ResponseMetadata>' +
    '</DescribeStacksResponse>'
  );
}

const missingStackXml = (stack: string) =>
  `<ErrorResponse xmlns="${NS}"><Error><Type>Sender</Type><Code>ValidationError</Code>` +
  `<Message>Stack with id ${stack} does not exist</Message></Error>` +
  '<RequestId>5ccc7dcd-744c-11e5-be70-1b08c228efb4</RequestId></ErrorResponse>';

interface Seen {
  body: string;
  authorization: string;
}

/** CloudFormation on loopback: answers DescribeStacks for the stacks it knows, records each request. */
async function startCloudFormation(stacks: Record<string, Record<string, string>>) {
  const seen: Seen[] = [];
  const read = async (request: IncomingMessage) => {
    let body = '';
    for await (const chunk of request) body += chunk;
    return body;
  };
  const server: Server = createServer(async (request, response) => {
    const body = await read(request);
    seen.push({ body, authorization: String(request.headers.authorization ?? '') });
    const params = new URLSearchParams(body);
    const name = params.get('StackName') ?? '';
    const outputs = params.get('Action') === 'DescribeStacks' ? stacks[name] : undefined;
    response.writeHead(outputs ? 200 : 400, { 'content-type': 'text/xml' });
    response.end(outputs ? describeStacksXml(name, outputs) : missingStackXml(name));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function pipes(env: CliIo['env'], ...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    env,
    sleep: async () => undefined,
    now: () => new Date(),
    isTty: false,
  };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}

/** `--stack`: the real CloudFormation client over HTTP to a loopback CloudFormation, then the real local API. */
describe('pipes --stack <name>', () => {
  let api: ApiFixture;
  let cloudFormation: Awaited<ReturnType<typeof startCloudFormation>>;
  let dir: string;

  beforeAll(async () => {
    api = await startApi();
    cloudFormation = await startCloudFormation({ pipes: { ApiUrl: `${api.url}/`, AlarmTopic: 'arn:x' } });
    dir = await mkdtemp(join(tmpdir(), 'pipes-stack-'));
  }, 60_000);

  afterAll(async () => {
    await cloudFormation?.stop();
    await api?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  beforeEach(() => {
    // The standard chain's first source: fixed credentials, nothing from this machine's profiles.
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDEXAMPLE');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY');
    vi.stubEnv('AWS_SESSION_TOKEN', undefined);
    vi.stubEnv('AWS_REGION', undefined);
    vi.stubEnv('AWS_DEFAULT_REGION', undefined);
    vi.stubEnv('AWS_PROFILE', undefined);
    vi.stubEnv('AWS_CONFIG_FILE', join(dir, 'none'));
    vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', join(dir, 'none'));
    cloudFormation.seen.length = 0;
  });

  afterEach(() => {
    vi.unstubAllEnvs();
  });

  const endpoint = () => ({ AWS_ENDPOINT_URL_CLOUDFORMATION: cloudFormation.url });

  it("reads the API URL from the stack's ApiUrl output and runs the command against it", async () => {
    const run = await pipes(endpoint(), '--stack', 'pipes', '--region', 'eu-west-1', 'ls');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('no pipes\n');
    expect(cloudFormation.seen).toHaveLength(1);
    const [request] = cloudFormation.seen;
    expect(Object.fromEntries(new URLSearchParams(request?.body))).toMatchObject({
      Action: 'DescribeStacks',
      StackName: 'pipes',
      Version: '2010-05-15',
    });
    expect(request?.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/cloudformation\/aws4_request/,
    );
  });

  it('takes the region from AWS_REGION, else from the profile', async () => {
    const fromEnv = await pipes({ ...endpoint(), AWS_REGION: 'us-east-2' }, '--stack', 'pipes', 'ls');
    expect(fromEnv.code).toBe(0);
    expect(cloudFormation.seen[0]?.authorization).toContain('/us-east-2/cloudformation/');
    const config = join(dir, 'config');
    await writeFile(config, '[profile ops]\nregion = ap-south-1\n');
    // With a profile named, the chain reads the profile's keys, not the environment's.
    const credentials = join(dir, 'credentials');
    await writeFile(credentials, '[ops]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = secret\n');
    vi.stubEnv('AWS_CONFIG_FILE', config);
    vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', credentials);
    vi.stubEnv('AWS_PROFILE', 'ops');
    const fromProfile = await pipes(endpoint(), '--stack', 'pipes', 'ls');
    expect(fromProfile.stderr).toBe('');
    expect(fromProfile.code).toBe(0);
    expect(cloudFormation.seen[1]?.authorization).toContain('AKIDPROFILE/');
    expect(cloudFormation.seen[1]?.authorization).toContain('/ap-south-1/cloudformation/');
  });

  it('exits 3 for a stack that does not exist, 2 when --api is given too', async () => {
    const missing = await pipes(endpoint(), '--stack', 'other', '--region', 'eu-west-1', 'ls');
    expect(missing.code).toBe(3);
    expect(missing.stderr).toBe('stack other: Stack with id other does not exist\n');
    const both = await pipes(endpoint(), '--stack', 'pipes', '--api', api.url, 'ls');
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('--stack and --api both name the API');
    expect(cloudFormation.seen).toHaveLength(1);
  });

  it('exits 3 for a stack without the ApiUrl output', async () => {
    const other = await startCloudFormation({ pipes: { AlarmTopic: 'arn:x' } });
    try {
      const run = await pipes(
        { AWS_ENDPOINT_URL_CLOUDFORMATION: other.url },
        '--stack',
        'pipes',
        '--region',
        'eu-west-1',
        'ls',
      );
      expect(run.code).toBe(3);
      expect(run.stderr).toContain('stack pipes has no ApiUrl output');
    } finally {
      await other.stop();
    }
  });
});

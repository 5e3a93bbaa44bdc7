import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyError } from '../../functions/core/classify.js';
import { FatalError, TransientError } from '../../functions/core/errors.js';
import {
  cachedSecretReader,
  resolveDestination,
  resolveSourceUri,
  type SecretReader,
} from '../../functions/handlers/secrets.js';
import {
  type AwsEndpoint,
  startAwsEndpoint,
  TEST_CLIENT_CONFIG,
} from '../adapters/stepfunctions/aws-endpoint.js';
import { FAULTS, injectAwsFaults } from '../support/aws-faults.js';

const secretsOf =
  (values: Record<string, string>): SecretReader =>
  async (arn) => {
    const value = values[arn];
    if (value === undefined) throw new Error(`no secret ${arn}`);
    return value;
  };

describe("a secret is its pipe's endpoint: the URL comes from the secret only", () => {
  const secrets = secretsOf({
    'arn:team-a:clickhouse': JSON.stringify({
      url: 'https://ch.team-a.example:8443',
      username: 'a',
      password: 'pw-a',
    }),
  });

  it("never sends the secret's credentials to a URL named in the pipe record", async () => {
    await expect(
      resolveDestination(
        { url: 'https://listener.attacker.example', database: 'd', secretArn: 'arn:team-a:clickhouse' },
        { secrets },
      ),
    ).rejects.toMatchObject({
      name: 'HostNotAllowedError',
      message: expect.stringMatching(/comes from the secret only/),
    });
    expect(
      await resolveDestination({ database: 'd', secretArn: 'arn:team-a:clickhouse' }, { secrets }),
    ).toMatchObject({
      url: 'https://ch.team-a.example:8443',
      username: 'a',
    });
  });

  it('refuses a malformed secret by name, saying which field is wrong and never showing a value', async () => {
    const broken = secretsOf({
      'arn:no-url': JSON.stringify({ username: 'a', password: 'hunter2' }),
      'arn:not-json': 'hunter2',
      'arn:bad-mongo': JSON.stringify({ url: 'mongodb://x' }),
    });
    await expect(
      resolveDestination({ database: 'd', secretArn: 'arn:no-url' }, { secrets: broken }),
    ).rejects.toMatchObject({
      name: 'MalformedSecretError',
      message: expect.stringMatching(/field url is missing or malformed/),
    });
    for (const arn of ['arn:not-json', 'arn:no-url']) {
      const failure = await resolveDestination({ database: 'd', secretArn: arn }, { secrets: broken }).catch(
        (error: Error) => error,
      );
      expect((failure as Error).message).not.toContain('hunter2');
    }
    await expect(resolveSourceUri({ secretArn: 'arn:bad-mongo' }, { secrets: broken })).rejects.toMatchObject(
      {
        name: 'MalformedSecretError',
        message: expect.stringMatching(/field uri is missing or malformed/),
      },
    );
  });

  it("refuses hosts outside the deployment's allowlists before connecting", async () => {
    const allowedHosts = { source: ['*.mongodb.net'], destination: ['ch.team-a.example'] };
    await expect(
      resolveSourceUri({ uri: 'mongodb://u:p@db.elsewhere.example:27017/' }, { allowedHosts }),
    ).rejects.toMatchObject({
      name: 'HostNotAllowedError',
      message: expect.stringContaining('db.elsewhere.example'),
    });
    expect(
      await resolveSourceUri({ uri: 'mongodb+srv://u:p@cluster0.abc.mongodb.net/' }, { allowedHosts }),
    ).toContain('cluster0.abc.mongodb.net');
    await expect(
      resolveDestination(
        { url: 'https://other.example', database: 'd', username: 'u', password: 'p' },
        { allowedHosts },
      ),
    ).rejects.toMatchObject({ name: 'HostNotAllowedError' });
    expect(
      await resolveDestination(
        { database: 'd', secretArn: 'arn:team-a:clickhouse' },
        { secrets, allowedHosts },
      ),
    ).toMatchObject({
      url: 'https://ch.team-a.example:8443',
    });
  });
});

describe('secrets are cached for a bounded time (Powertools Parameters)', () => {
  let endpoint: AwsEndpoint;
  let client: SecretsManagerClient;
  beforeAll(async () => {
    endpoint = await startAwsEndpoint('application/x-amz-json-1.1');
    client = new SecretsManagerClient({ ...TEST_CLIENT_CONFIG, endpoint: endpoint.url });
  });
  afterAll(async () => {
    client?.destroy();
    await endpoint?.stop();
  });

  it('reads a secret once within its age, again after it', async () => {
    const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:mongo-clickhouse-pipes/a-AbCdEf';
    const answer = {
      status: 200,
      body: { ARN: arn, Name: 'mongo-clickhouse-pipes/a', SecretString: 'mongodb://h:1/' },
    };
    endpoint.answer(answer, answer);
    const cached = cachedSecretReader(client, 300);
    expect(await cached(arn)).toBe('mongodb://h:1/');
    expect(await cached(arn)).toBe('mongodb://h:1/');
    expect(endpoint.calls).toHaveLength(1);
    const expiring = cachedSecretReader(client, 0);
    await expiring(arn);
    endpoint.answer(answer);
    await expiring(arn);
    expect(endpoint.calls).toHaveLength(3);
  });

  it('a throttled or failing Secrets Manager read is retried; a denied one is fatal and names the permission', async () => {
    const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:mongo-clickhouse-pipes/b-AbCdEf';
    const reader = cachedSecretReader(client, 300);
    const faults = [
      FAULTS.throttling,
      FAULTS.serviceUnavailable,
      FAULTS.connectionReset,
      FAULTS.accessDenied,
    ];
    const injector = injectAwsFaults(client, ({ n }) => faults[n - 1]);
    const named = [];
    for (const _ of faults) {
      named.push(classifyError(await reader(arn).catch((error: unknown) => error)));
    }
    injector.off();
    expect(injector.fired).toHaveLength(4);
    expect(named.slice(0, 3).every((error) => error instanceof TransientError)).toBe(true);
    expect(named[3]).toBeInstanceOf(FatalError);
    expect(named[3]?.message).toMatch(/secretsmanager:GetSecretValue/);
  });
});

import { SFNClient } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoPipeStore } from '../../functions/adapters/dynamodb/store.js';
import {
  STATE_MACHINE_ARN_ENV,
  StepFunctionsStarter,
  stateMachineArnsFromEnv,
} from '../../functions/adapters/stepfunctions/starter.js';
import type { ApiDeps } from '../../functions/api/deps.js';
import { LIFECYCLE_OPERATIONS } from '../../functions/ports/lifecycle.js';
import { type LocalApiServer, startLocalApiServer } from '../../local/api/server.js';
import {
  type AwsEndpoint,
  startAwsEndpoint,
  TEST_CLIENT_CONFIG,
} from '../adapters/stepfunctions/aws-endpoint.js';
import { type AwsCallInfo, type AwsFault, FAULTS, injectAwsFaults } from '../support/aws-faults.js';
import { type LocalDynamo, startDynalite } from '../support/dynalite.js';
import {
  call,
  createRequest,
  driveTo,
  LOCAL_DESTINATION,
  RecordingStarter,
  recordingLog,
  TO_RUNNING,
} from './fixtures.js';

/**
 * The API over a pipe store whose REAL DynamoDB client (dynalite) and a Step Functions client
 * (a local stand-in) meet throttling and 5xx at the wire: the caller gets 503 with Retry-After,
 * never a 500, and the retried request does what the first one asked.
 */
describe('the API when AWS throttles or fails', () => {
  let dynamo: LocalDynamo;
  let endpoint: AwsEndpoint;
  let server: LocalApiServer;
  let sfnServer: LocalApiServer;
  let store: DynamoPipeStore;
  let starter: RecordingStarter;
  const errors: { message: string; detail: Record<string, unknown> }[] = [];
  let dynamoFault: (call: AwsCallInfo) => AwsFault | undefined = () => undefined;
  let sfnFault: (call: AwsCallInfo) => AwsFault | undefined = () => undefined;

  beforeAll(async () => {
    dynamo = await startDynalite();
    endpoint = await startAwsEndpoint('application/x-amz-json-1.0');
    const client = dynamo.newClient();
    injectAwsFaults(client, (c) => dynamoFault(c));
    store = new DynamoPipeStore({ client, tableName: dynamo.tableName });
    starter = new RecordingStarter();
    const deps = (start: ApiDeps['starter']): ApiDeps => ({
      store,
      starter: start,
      config: { allowPlainSecrets: true, defaultDestination: LOCAL_DESTINATION },
      log: recordingLog(errors),
    });
    server = await startLocalApiServer({ deps: deps(starter) });
    const sfn = new SFNClient({ ...TEST_CLIENT_CONFIG, endpoint: endpoint.url });
    injectAwsFaults(sfn, (c) => sfnFault(c));
    const env = Object.fromEntries(
      LIFECYCLE_OPERATIONS.map((operation) => [
        STATE_MACHINE_ARN_ENV[operation],
        `arn:aws:states:eu-west-1:123456789012:stateMachine:pipes-${operation}`,
      ]),
    );
    sfnServer = await startLocalApiServer({
      deps: deps(new StepFunctionsStarter(sfn, stateMachineArnsFromEnv(env))),
    });
  });
  afterAll(async () => {
    await server?.stop();
    await sfnServer?.stop();
    await endpoint?.stop();
    await dynamo?.stop();
  });

  /** `fault` on the next `times` calls of `command` (any command when omitted). */
  function once(fault: AwsFault, command?: string, times = 1) {
    let left = times;
    return (c: AwsCallInfo) => {
      if (left <= 0 || (command && c.command !== command)) return undefined;
      left -= 1;
      return fault;
    };
  }

  function expectUnavailable(answer: Awaited<ReturnType<typeof call>>) {
    expect(answer.status).toBe(503);
    expect(Number(answer.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(answer.body.error).toMatchObject({ name: 'ServiceUnavailable' });
  }

  it.each([
    ['ProvisionedThroughputExceededException', FAULTS.throughputExceeded],
    ['InternalServerError (500)', FAULTS.internalError],
    ['ServiceUnavailable (503)', FAULTS.serviceUnavailable],
    ['a connection reset', FAULTS.connectionReset],
  ])('a read meeting %s answers 503 with Retry-After, and the retry answers 200', async (_what, fault) => {
    const created = await call(server.url, 'POST', '/pipes', {
      body: createRequest(`read-${errors.length}-${Math.random().toString(36).slice(2, 8)}`),
    });
    expect(created.status).toBe(202);
    dynamoFault = once(fault);
    expectUnavailable(await call(server.url, 'GET', `/pipes/${created.body.id}`));
    dynamoFault = () => undefined;
    expect((await call(server.url, 'GET', `/pipes/${created.body.id}`)).status).toBe(200);
  });

  it('a create whose writes are throttled answers 503; the retried request creates the pipe once', async () => {
    const body = createRequest('create-throttled');
    const headers = { 'idempotency-key': 'create-throttled-1' };
    dynamoFault = once(FAULTS.throughputExceeded, 'PutItemCommand', 2);
    expectUnavailable(await call(server.url, 'POST', '/pipes', { body, headers }));
    dynamoFault = once({ ...FAULTS.internalError, after: true }, 'PutItemCommand');
    const second = await call(server.url, 'POST', '/pipes', { body, headers });
    expect([202, 503]).toContain(second.status);
    dynamoFault = () => undefined;
    const third = await call(server.url, 'POST', '/pipes', { body, headers });
    expect(third.status).toBe(202);
    const named = (await store.listPipes()).items.filter((pipe) => pipe.name === 'create-throttled');
    expect(named).toHaveLength(1);
    expect(starter.started.filter((entry) => entry.input.pipeId === third.body.id)).toHaveLength(1);
  });

  it('a command whose pipe read is throttled answers 503, and the retry starts the machine once', async () => {
    const created = await call(server.url, 'POST', '/pipes', { body: createRequest('command-throttled') });
    await driveTo(store, created.body.id, [...TO_RUNNING]);
    dynamoFault = once(FAULTS.throttling, 'GetItemCommand');
    expectUnavailable(
      await call(server.url, 'PATCH', `/pipes/${created.body.id}/state`, { body: { command: 'pause' } }),
    );
    dynamoFault = () => undefined;
    const retried = await call(server.url, 'PATCH', `/pipes/${created.body.id}/state`, {
      body: { command: 'pause' },
    });
    expect(retried.status).toBe(202);
    expect(
      starter.started.filter(
        (entry) => entry.input.pipeId === created.body.id && entry.operation === 'pause',
      ),
    ).toHaveLength(1);
  });

  it('a throttled or failing StartExecution answers 503, not 500', async () => {
    for (const fault of [FAULTS.throttling, FAULTS.serviceUnavailable, FAULTS.connectionReset]) {
      sfnFault = once(fault);
      expectUnavailable(
        await call(sfnServer.url, 'POST', '/pipes', {
          body: createRequest(`sfn-${fault.kind}-${'status' in fault ? fault.status : ''}`),
        }),
      );
    }
    sfnFault = () => undefined;
  });

  it('access denied stays a 500, and the log says which permission is missing', async () => {
    const created = await call(server.url, 'POST', '/pipes', { body: createRequest('denied') });
    errors.length = 0;
    dynamoFault = once(FAULTS.accessDenied);
    const answer = await call(server.url, 'GET', `/pipes/${created.body.id}`);
    dynamoFault = () => undefined;
    expect(answer.status).toBe(500);
    expect(answer.headers.get('retry-after')).toBeNull();
    expect(JSON.stringify(errors)).toMatch(/dynamodb:GetItem/);
  });
});

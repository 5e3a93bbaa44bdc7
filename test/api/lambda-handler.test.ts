import type { APIGatewayProxyEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STATE_MACHINE_ARN_ENV } from '../../functions/adapters/stepfunctions/starter.js';
import { LIFECYCLE_OPERATIONS } from '../../functions/ports/lifecycle.js';
import { type AwsEndpoint, startAwsEndpoint } from '../adapters/stepfunctions/aws-endpoint.js';
import { type LocalDynamo, startDynalite } from '../support/dynalite.js';

const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:pipes/mongo-AbCdEf';
const machineArn = (operation: string) =>
  `arn:aws:states:eu-west-1:123456789012:stateMachine:pipes-${operation}`;

let dynamo: LocalDynamo;
let sfn: AwsEndpoint;
let secrets: AwsEndpoint;
const savedEnv = { ...process.env };

function restoreEnv(): void {
  for (const name of Object.keys(process.env)) if (!(name in savedEnv)) delete process.env[name];
  Object.assign(process.env, savedEnv);
}

beforeAll(async () => {
  dynamo = await startDynalite('PipeStoreHandlerTest');
  sfn = await startAwsEndpoint('application/x-amz-json-1.0');
  secrets = await startAwsEndpoint('application/x-amz-json-1.1');
  Object.assign(process.env, {
    PIPE_STORE_TABLE: dynamo.tableName,
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_ENDPOINT_URL_SFN: sfn.url,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.url,
    ...Object.fromEntries(LIFECYCLE_OPERATIONS.map((op) => [STATE_MACHINE_ARN_ENV[op], machineArn(op)])),
  });
});
afterAll(async () => {
  restoreEnv();
  await sfn?.stop();
  await secrets?.stop();
  await dynamo?.stop();
});

function event(method: string, path: string, body?: unknown): APIGatewayProxyEvent {
  return {
    httpMethod: method,
    path,
    resource: '/{proxy+}',
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    multiValueHeaders: {},
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: null,
    stageVariables: null,
    body: body === undefined ? null : Buffer.from(JSON.stringify(body)).toString('base64'),
    isBase64Encoded: body !== undefined,
    requestContext: { identity: { userArn: 'arn:aws:iam::123456789012:user/alice' } },
  } as unknown as APIGatewayProxyEvent;
}

describe('the API Lambda handler', () => {
  it('serves the router behind API Gateway: secret ARNs only, the create machine started through StartExecution', async () => {
    const { handler } = await import('../../functions/handlers/api.js');
    const request = {
      name: 'cloud-shop',
      source: { secretArn: ARN },
      destination: { database: 'analytics', secretArn: ARN },
      settings: {
        tableMappings: [{ sourceDatabaseName: 'shop', sourceCollection: 'orders', targetTable: 'orders' }],
      },
    };
    const plain = await handler(event('POST', '/pipes', { ...request, source: { uri: 'mongodb://h:1/' } }));
    expect(plain.statusCode).toBe(400);
    expect(JSON.parse(plain.body).error.fieldErrors[0].path).toBe('source.uri');
    // The endpoint of a secret comes from the secret: a URL beside it could send its credentials anywhere.
    const elsewhere = await handler(
      event('POST', '/pipes', {
        ...request,
        destination: { url: 'https://listener.example', database: 'a', secretArn: ARN },
      }),
    );
    expect(elsewhere.statusCode).toBe(400);
    expect(JSON.parse(elsewhere.body).error.fieldErrors[0].path).toBe('destination.url');

    // The confused-deputy rule: a caller names only secrets whose owner tag lists it.
    const tagged = (owners: string) => ({
      status: 200,
      body: { ARN, Name: 'pipes/mongo', Tags: [{ Key: 'mongo-clickhouse-pipes:owners', Value: owners }] },
    });
    secrets.answer(
      tagged('arn:aws:iam::123456789012:role/Other'),
      tagged('arn:aws:iam::123456789012:role/Other'),
    );
    const notOwned = await handler(event('POST', '/pipes', request));
    expect(notOwned.statusCode).toBe(403);
    expect(JSON.parse(notOwned.body).error).toMatchObject({
      name: 'SecretNotOwnedError',
      fieldErrors: [
        expect.objectContaining({ path: 'source.secretArn' }),
        expect.objectContaining({ path: 'destination.secretArn' }),
      ],
    });
    expect(secrets.calls.map((call) => (call.body as { SecretId: string }).SecretId)).toEqual([ARN, ARN]);
    secrets.answer(
      tagged('arn:aws:iam::123456789012:user/alice'),
      tagged('arn:aws:iam::123456789012:user/alice'),
    );

    sfn.answer({
      status: 200,
      body: { executionArn: 'arn:aws:states:eu-west-1:123456789012:execution:pipes-create:x', startDate: 1 },
    });
    const created = await handler(event('POST', '/pipes', request));
    expect(created.statusCode).toBe(202);
    const body = JSON.parse(created.body);
    expect(body).toMatchObject({
      name: 'cloud-shop',
      state: 'Provisioning',
      executionId: expect.stringContaining(':execution:'),
    });
    expect(sfn.calls).toHaveLength(1);
    expect(sfn.calls[0]?.body).toEqual({
      stateMachineArn: machineArn('create'),
      name: `create-${body.id}`,
      input: JSON.stringify({
        pipeId: body.id,
        expectedState: 'Provisioning',
        requestedBy: 'arn:aws:iam::123456789012:user/alice',
        requestId: `create-${body.id}`,
      }),
    });

    const read = await handler(event('GET', `/pipes/${body.id}`));
    expect(read.statusCode).toBe(200);
    expect(JSON.parse(read.body).destination).toEqual({ database: 'analytics', secretArn: ARN });
  });
});

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { DynamoPipeStore } from '../adapters/dynamodb/store.js';
import { StepFunctionsStarter, stateMachineArnsFromEnv } from '../adapters/stepfunctions/starter.js';
import type { ApiDeps } from '../api/deps.js';
import type { ApiRequest } from '../api/http.js';
import { handleApiRequest } from '../api/router.js';
import { cloudCreateRules } from './create-rules.js';

/** Built once per Lambda container: clients keep their connections between invocations. */
let deps: ApiDeps | undefined;

function buildDeps(env: Record<string, string | undefined>): ApiDeps {
  const tableName = env.PIPE_STORE_TABLE;
  if (!tableName) throw new Error('PIPE_STORE_TABLE is not set');
  const dynamo = new DynamoDBClient({});
  const store = new DynamoPipeStore({ client: dynamo, tableName });
  return {
    store,
    starter: new StepFunctionsStarter(new SFNClient({}), stateMachineArnsFromEnv(env)),
    // The cloud never keeps a plain connection string or password: secret ARNs only.
    config: cloudCreateRules(env),
    logger: {
      error: (message, detail) => console.error(JSON.stringify({ level: 'error', message, ...detail })),
    },
  };
}

function toApiRequest(event: APIGatewayProxyEvent): ApiRequest {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    if (value !== undefined) headers[name.toLowerCase()] = value;
  }
  const query: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.queryStringParameters ?? {})) {
    if (value !== undefined) query[name] = value;
  }
  const body =
    event.body === null
      ? null
      : event.isBase64Encoded
        ? Buffer.from(event.body, 'base64').toString('utf8')
        : event.body;
  return { method: event.httpMethod, path: event.path, query, headers, body };
}

/** The IAM identity API Gateway authenticated; recorded as the actor of the change. */
function actorOf(event: APIGatewayProxyEvent): string {
  const identity = event.requestContext?.identity;
  return identity?.userArn ?? identity?.caller ?? 'unknown';
}

/** API Gateway REST proxy integration → the shared router → proxy result. */
export async function handler(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  deps ??= buildDeps(process.env);
  const answer = await handleApiRequest(deps, { actor: actorOf(event) }, toApiRequest(event));
  return {
    statusCode: answer.status,
    headers: answer.headers,
    body: answer.body === undefined ? '' : JSON.stringify(answer.body),
  };
}

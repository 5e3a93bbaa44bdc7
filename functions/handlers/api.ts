import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
import type { APIGatewayProxyEvent, Context as LambdaContext } from 'aws-lambda';
import { handle, type LambdaEvent } from 'hono/aws-lambda';
import { DynamoPipeStore } from '../adapters/dynamodb/store.js';
import { MongoCollectionSampler } from '../adapters/mongodb/sample-source.js';
import { StepFunctionsStarter, stateMachineArnsFromEnv } from '../adapters/stepfunctions/starter.js';
import { apiApp } from '../api/app.js';
import type { ApiDeps } from '../api/deps.js';
import { allowedHostsFromEnv, cloudCreateRules } from './create-rules.js';
import { log, traced } from './observability.js';
import { preflightProbeWith } from './preflight-probe.js';
import { resolveSourceUri } from './secrets.js';

function buildDeps(env: Record<string, string | undefined>): ApiDeps {
  const tableName = env.PIPE_STORE_TABLE;
  if (!tableName) throw new Error('PIPE_STORE_TABLE is not set');
  return {
    store: new DynamoPipeStore({ client: traced(new DynamoDBClient({})), tableName }),
    starter: new StepFunctionsStarter(traced(new SFNClient({})), stateMachineArnsFromEnv(env)),
    // The cloud never keeps a plain connection string or password: secret ARNs only.
    config: cloudCreateRules(env),
    log,
    // Secrets are read, and hosts checked, as the pipe's own connections do.
    preflight: preflightProbeWith({ allowedHosts: allowedHostsFromEnv(env) }),
    // A secret's connection string is read here, and its hosts checked against the allowlist, as a pipe's are.
    sampler: new MongoCollectionSampler({
      resolveUri: (source) => resolveSourceUri(source, { allowedHosts: allowedHostsFromEnv(env) }),
    }),
  };
}

/** What hono/aws-lambda passes the app as `c.env`. */
interface LambdaBindings {
  event: APIGatewayProxyEvent;
}

/** The IAM identity API Gateway authenticated; recorded as the actor of the change. */
function actorOf({ event }: LambdaBindings): string {
  const identity = event.requestContext?.identity;
  return identity?.userArn ?? identity?.caller ?? 'unknown';
}

/** Built on the first request, once per Lambda container: clients keep their connections between invocations. */
let serve: ReturnType<typeof handle> | undefined;

/** API Gateway REST proxy integration → the API's hono app → proxy result. */
export async function handler(event: APIGatewayProxyEvent, context?: LambdaContext) {
  serve ??= handle(apiApp<{ Bindings: LambdaBindings }>(buildDeps(process.env), actorOf));
  // hono/aws-lambda declares its own event types (a `version` field, no nulls) where API Gateway
  // sends null for an absent query string; its code reads both, so the event goes in as sent.
  return serve(event as unknown as LambdaEvent, context);
}

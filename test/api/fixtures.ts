import { DynamoPipeStore } from '../../functions/adapters/dynamodb/store.js';
import type { ApiConfig, ApiDeps } from '../../functions/api/deps.js';
import type {
  LifecycleOperation,
  LifecycleStarter,
  OperationInput,
  StartedOperation,
} from '../../functions/ports/lifecycle.js';
import type { Log } from '../../functions/ports/log.js';
import { type LocalApiServer, startLocalApiServer } from '../../local/api/server.js';
import { type LocalDynamo, startDynalite } from '../support/dynalite.js';

/** Test double: records every operation the API starts, and answers like Step Functions would. */
export class RecordingStarter implements LifecycleStarter {
  readonly started: Array<{ operation: LifecycleOperation; input: OperationInput }> = [];
  private readonly seen = new Map<string, string>();

  async start(operation: LifecycleOperation, input: OperationInput): Promise<StartedOperation> {
    const key = `${operation}/${input.requestId}`;
    const existing = this.seen.get(key);
    if (existing) return { executionId: existing };
    const executionId = `exec-${this.started.length + 1}`;
    this.seen.set(key, executionId);
    this.started.push({ operation, input });
    return { executionId };
  }
}

/** A Log that keeps the API's error lines for the test to read (the others are dropped). */
export function recordingLog(errors: Array<{ message: string; detail: Record<string, unknown> }>): Log {
  const drop = () => undefined;
  return {
    debug: drop,
    info: drop,
    warn: drop,
    error: (message, detail = {}) => errors.push({ message, detail }),
  };
}

export const LOCAL_DESTINATION = { kind: 'clickhouse', url: 'http://127.0.0.1:8123', database: 'default' };

export interface ApiFixture {
  url: string;
  store: DynamoPipeStore;
  starter: RecordingStarter;
  errors: Array<{ message: string; detail: Record<string, unknown> }>;
  stop(): Promise<void>;
}

export async function startApi(config: Partial<ApiConfig> = {}): Promise<ApiFixture> {
  const dynamo: LocalDynamo = await startDynalite();
  let server: LocalApiServer | undefined;
  try {
    const client = dynamo.newClient();
    const store = new DynamoPipeStore({ client, tableName: dynamo.tableName });
    const starter = new RecordingStarter();
    const errors: ApiFixture['errors'] = [];
    const deps: ApiDeps = {
      store,
      starter,
      config: { allowPlainSecrets: true, defaultDestination: LOCAL_DESTINATION, ...config },
      log: recordingLog(errors),
    };
    server = await startLocalApiServer({ deps });
    const started = server;
    return {
      url: server.url,
      store,
      starter,
      errors,
      stop: async () => {
        await started.stop();
        await dynamo.stop();
      },
    };
  } catch (error) {
    await server?.stop();
    await dynamo.stop();
    throw error;
  }
}

export interface Answer {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field in the tests
  body: any;
}

/** One real HTTP request to the local server. */
export async function call(
  base: string,
  method: string,
  path: string,
  options: { body?: unknown; raw?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const hasBody = options.body !== undefined || options.raw !== undefined;
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { ...(hasBody ? { 'content-type': 'application/json' } : {}), ...options.headers },
    ...(hasBody ? { body: options.raw ?? JSON.stringify(options.body) } : {}),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: text === '' ? undefined : JSON.parse(text),
  };
}

export function createRequest(name = 'shop', port = 27017) {
  return {
    name,
    source: { uri: `mongodb://127.0.0.1:${port}/?replicaSet=rs0` },
    settings: {
      replicationMode: 'cdc',
      tableMappings: [{ sourceDatabaseName: 'shop', sourceCollection: 'orders', targetTable: 'orders' }],
    },
  };
}

/** Moves a pipe along the lifecycle through the store, as the machines would. */
export async function driveTo(
  store: DynamoPipeStore,
  pipeId: string,
  events: Parameters<DynamoPipeStore['applyEvent']>[1][],
): Promise<void> {
  for (const event of events) await store.applyEvent(pipeId, event, { reason: 'test', actor: 'test' });
}

/** A pipe with two tables (shop.orders, shop.users), created through the API. */
export async function newTwoTablePipe(api: ApiFixture, name: string): Promise<string> {
  const body = createRequest(name);
  body.settings.tableMappings.push({
    sourceDatabaseName: 'shop',
    sourceCollection: 'users',
    targetTable: 'users',
  });
  const answer = await call(api.url, 'POST', '/pipes', { body });
  if (answer.status !== 202)
    throw new Error(`create answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  return answer.body.id;
}

/** Events that take a new pipe to Running, and on to Paused, as the machines would send them. */
export const TO_RUNNING = ['provisioned', 'destinationReady', 'snapshotDone'] as const;
export const TO_PAUSED = [...TO_RUNNING, 'pause', 'batchDrained'] as const;

/** The operations the API started for one pipe, after its create. */
export function startedFor(api: ApiFixture, pipeId: string) {
  return api.starter.started.filter((entry) => entry.input.pipeId === pipeId && entry.operation !== 'create');
}

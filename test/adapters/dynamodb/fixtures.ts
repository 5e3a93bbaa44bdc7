import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoPipeStore } from '../../../functions/adapters/dynamodb/store.js';
import type { CreatePipeInput, PlanFence } from '../../../functions/ports/pipe-store.js';
import type { LocalDynamo } from '../../support/dynalite.js';

/** A clock the test moves by hand, so lease expiry needs no sleeping. */
export class ManualClock {
  constructor(private current = Date.UTC(2026, 10, 22, 2, 0, 0)) {}
  now = (): number => this.current;
  advance(ms: number): void {
    this.current += ms;
  }
}

let sequence = 0;
/** Unique per call so tests in one file never share a pipe. */
export function uniqueId(prefix: string): string {
  sequence += 1;
  return `${prefix}-${sequence}`;
}

export function newStore(
  dynamo: LocalDynamo,
  clock = new ManualClock(),
  client?: DynamoDBClient,
): DynamoPipeStore {
  return new DynamoPipeStore({
    client: client ?? dynamo.newClient(),
    tableName: dynamo.tableName,
    now: clock.now,
  });
}

export function pipeInput(overrides: Partial<CreatePipeInput> = {}): CreatePipeInput {
  return {
    name: uniqueId('orders'),
    settings: {
      replicationMode: 'cdc',
      syncIntervalSeconds: 60,
      tableMappings: [{ sourceCollection: 'orders' }],
    },
    source: { kind: 'mongodb', uriSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:src' },
    destination: { kind: 'clickhouse', database: 'analytics' },
    actor: 'test',
    ...overrides,
  };
}

/**
 * Makes the client fail the next request that `matches`, as a process dying at that point
 * would: the request never reaches DynamoDB.
 */
export function crashOnce(
  client: DynamoDBClient,
  matches: (command: string, input: Record<string, unknown>) => boolean,
) {
  let armed = true;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (armed && matches(context.commandName ?? '', args.input as Record<string, unknown>)) {
        armed = false;
        throw new Error('simulated crash');
      }
      return next(args);
    },
    { step: 'initialize', name: 'crashOnce' },
  );
  return () => client.middlewareStack.remove('crashOnce');
}

/** The plan fence a chunk that loaded the stored partition holds (planId null when it has none). */
export async function fenceOf(
  store: DynamoPipeStore,
  pipeId: string,
  tableKey: string,
  index: number,
): Promise<PlanFence> {
  const partition = (await store.listPartitions(pipeId, tableKey)).find((stored) => stored.index === index);
  return { planId: partition?.planId ?? null };
}

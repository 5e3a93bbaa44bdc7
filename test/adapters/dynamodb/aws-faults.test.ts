import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import type { DynamoPipeStore } from '../../../functions/adapters/dynamodb/store.js';
import { ERROR_NAMES } from '../../../functions/core/error-names.js';
import {
  FatalError,
  LeaseHeldError,
  type PipeError,
  StaleFenceError,
} from '../../../functions/core/errors.js';
import { CheckpointRegressionError, StoreUnavailableError } from '../../../functions/core/store-errors.js';
import { CDC_LEASE } from '../../../functions/ports/pipe-store.js';
import { type AwsFault, FAULTS, failFirst, injectAwsFaults } from '../../support/aws-faults.js';
import { type LocalDynamo, useDynalite } from '../../support/dynalite.js';
import { fenceOf, ManualClock, newStore, pipeInput } from './fixtures.js';

/**
 * The pipe store over a real DynamoDB client (dynalite) whose answers are replaced at the wire
 * by throttling, 5xx and broken connections: whatever the store's call, what leaves it is a
 * named error (StoreUnavailableError, retried by the machines), never a raw SDK exception.
 */
let dynamo: LocalDynamo;
let store: DynamoPipeStore;
const clock = new ManualClock();

useDynalite((started) => {
  dynamo = started;
  store = newStore(started, clock);
});

/** A store on its own client, every call of which meets `fault` until `off()`. */
function faultyStore(
  choose: Parameters<typeof injectAwsFaults>[1],
  client: DynamoDBClient = dynamo.newClient(),
) {
  const faulty = newStore(dynamo, clock, client);
  const injector = injectAwsFaults(client, choose);
  return { store: faulty, injector };
}

const TRANSIENT: [string, AwsFault][] = [
  ['ProvisionedThroughputExceededException (400)', FAULTS.throughputExceeded],
  ['ThrottlingException (400)', FAULTS.throttling],
  ['TooManyRequestsException (429)', FAULTS.tooManyRequests],
  ['InternalServerError (500)', FAULTS.internalError],
  ['ServiceUnavailable (503)', FAULTS.serviceUnavailable],
  ['ECONNRESET (socket hang up)', FAULTS.connectionReset],
  ['TimeoutError', FAULTS.timeout],
  ['a 500 after the write was applied', { ...FAULTS.internalError, after: true }],
];

/** One store call of each kind of DynamoDB request the store makes. */
const CALLS: [string, (s: DynamoPipeStore, pipeId: string) => Promise<unknown>][] = [
  ['GetItem (getPipe)', (s, pipeId) => s.getPipe(pipeId)],
  ['Query (listHistory)', (s, pipeId) => s.listHistory(pipeId)],
  ['PutItem (acquireLease)', (s, pipeId) => s.acquireLease(pipeId, 'lease-under-fault', 'w', 60_000)],
  [
    'UpdateItem (applyEvent)',
    (s, pipeId) => s.applyEvent(pipeId, 'provisioned', { reason: 't', actor: 't' }),
  ],
  [
    'BatchWriteItem (savePartitionPlan)',
    (s, pipeId) => s.savePartitionPlan(pipeId, 'shop.orders', [{ index: 0, bounds: null }]),
  ],
];

describe('the DynamoDB pipe store under throttling and 5xx answers', () => {
  it.each(TRANSIENT)('%s on every kind of call → StoreUnavailableError', async (_what, fault) => {
    for (const [label, call] of CALLS) {
      const pipeId = (await store.createPipe(pipeInput())).pipe.id;
      const { store: faulty, injector } = faultyStore(() => fault);
      const error = await call(faulty, pipeId).then(
        () => undefined,
        (thrown: unknown) => thrown,
      );
      expect(injector.fired.length, label).toBeGreaterThan(0);
      expect(error, label).toBeInstanceOf(StoreUnavailableError);
      expect((error as PipeError).name, label).toBe('StoreUnavailableError');
      expect(ERROR_NAMES[(error as PipeError).name], label).toBe('retry');
      expect((error as Error).message, label).toContain(dynamo.tableName);
    }
  });

  it('the same call goes through once DynamoDB answers again', async () => {
    const pipeId = (await store.createPipe(pipeInput())).pipe.id;
    const { store: faulty } = faultyStore(failFirst(1, FAULTS.throughputExceeded));
    await expect(
      faulty.applyEvent(pipeId, 'provisioned', { reason: 't', actor: 't' }),
    ).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(
      faulty.applyEvent(pipeId, 'provisioned', { reason: 't', actor: 't' }),
    ).resolves.toMatchObject({
      state: 'Setup',
    });
  });

  it('conditional checks still reach the store: a held lease, a stale fence', async () => {
    const pipeId = (await store.createPipe(pipeInput())).pipe.id;
    const { store: faulty, injector } = faultyStore(() => undefined);
    const lease = await faulty.acquireLease(pipeId, CDC_LEASE, 'first', 60_000);
    await expect(faulty.acquireLease(pipeId, CDC_LEASE, 'second', 60_000)).rejects.toBeInstanceOf(
      LeaseHeldError,
    );
    await faulty.revokeLease(pipeId, CDC_LEASE, 'test');
    await expect(
      faulty.commitResumePoint(
        pipeId,
        { token: 't', clusterTime: { seconds: 1, increment: 1 } },
        lease.fence,
      ),
    ).rejects.toBeInstanceOf(StaleFenceError);
    expect(injector.calls).toBeGreaterThan(0);
  });

  it('access denied and a missing table are fatal and say which call, which table, which permission', async () => {
    const pipeId = (await store.createPipe(pipeInput())).pipe.id;
    const { store: denied } = faultyStore(() => FAULTS.accessDenied);
    const error = await denied
      .acquireLease(pipeId, CDC_LEASE, 'w', 60_000)
      .catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(FatalError);
    expect((error as Error).name).toBe('FatalError');
    expect((error as Error).message).toMatch(/PutItem/);
    expect((error as Error).message).toMatch(/dynamodb:PutItem/);
    expect((error as Error).message).toContain(dynamo.tableName);

    const elsewhere = newStore({ ...dynamo, tableName: 'NoSuchTable' }, clock);
    const missing = await elsewhere.getPipe(pipeId).catch((thrown: unknown) => thrown);
    expect(missing).toBeInstanceOf(FatalError);
    expect((missing as Error).message).toMatch(/NoSuchTable/);
    expect((missing as Error).message).toMatch(/does not exist/);
  });

  it('a write that landed before its 500 and was re-sent by the SDK is retried, not a conflict', async () => {
    const pipeId = (await store.createPipe(pipeInput())).pipe.id;
    await store.savePartitionPlan(pipeId, 'shop.orders', [{ index: 0, bounds: null }]);
    // The SDK's own retry (as in Lambda, where maxAttempts is 3): the second attempt re-sends it.
    const client = new DynamoDBClient({
      endpoint: dynamo.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 2,
    });
    const { store: faulty, injector } = faultyStore(
      failFirst(1, { ...FAULTS.internalError, after: true }, ['UpdateItemCommand']),
      client,
    );
    const checkpoint = { seq: 1, checkpoint: '"a"', rowsCopied: 10 };
    const error = await faulty
      .checkpointPartition(
        pipeId,
        'shop.orders',
        0,
        checkpoint,
        await fenceOf(store, pipeId, 'shop.orders', 0),
      )
      .catch((thrown: unknown) => thrown);
    expect(injector.fired).toEqual(['UpdateItemCommand: 500 InternalServerError (after it was applied)']);
    expect(error).not.toBeInstanceOf(CheckpointRegressionError);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    // The checkpoint did land: the step's retry reads it and goes on from there.
    expect((await store.listPartitions(pipeId, 'shop.orders'))[0]).toMatchObject({ seq: 1, rowsCopied: 10 });
    client.destroy();
  });
});

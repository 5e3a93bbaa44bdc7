import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoPipeStore } from '../../functions/adapters/dynamodb/store.js';
import { ERROR_NAMES } from '../../functions/core/error-names.js';
import { cdcBatchTask } from '../../functions/handlers/cdc-batch.js';
import type { Runtime } from '../../functions/handlers/runtime.js';
import { LocalStateMachines } from '../../local/stepfunctions/runner.js';
import { type AwsCallInfo, type AwsFault, FAULTS, injectAwsFaults } from '../support/aws-faults.js';
import {
  compareWithSource,
  liveRows,
  type MachineWorld,
  newPipe,
  seed,
  startMachineWorld,
} from './support.js';

/**
 * Throttling and 5xx answers injected at the wire of the pipe store's REAL DynamoDB client (the
 * one the handlers use, talking to dynalite): the machines retry the Task, the CDC handler
 * rethrows a retried name and leaves the pipe Running, and nothing is lost or duplicated.
 */
describe('AWS throttling and 5xx at the pipe store', () => {
  let world: MachineWorld;
  let runtime: Runtime;
  let machines: LocalStateMachines;
  let choose: (call: AwsCallInfo) => AwsFault | undefined = () => undefined;
  let fired: string[];
  let sequence = 0;

  beforeAll(async () => {
    world = await startMachineWorld();
    const client = world.dynamo.newClient();
    fired = injectAwsFaults(client, (call) => choose(call)).fired;
    runtime = { ...world.runtime, store: new DynamoPipeStore({ client, tableName: world.dynamo.tableName }) };
    machines = new LocalStateMachines({ runtime, retryIntervalMs: 0, waitMs: 5 });
  }, 120_000);
  afterAll(async () => {
    await world?.stop();
  });

  /** The sort key a call reads or writes (`PART#…`, `RESUME`, `LEASE#…`), or the query's prefix. */
  function sortKeyOf(call: AwsCallInfo): string {
    const input = call.input ?? {};
    return String(
      input.Key?.SK?.S ?? input.Item?.SK?.S ?? input.ExpressionAttributeValues?.[':prefix']?.S ?? '',
    );
  }

  /** Each listed fault once, on the calls `matches` picks, in order. */
  function faultsOn(matches: (call: AwsCallInfo) => boolean, ...faults: AwsFault[]) {
    const left = [...faults];
    fired.length = 0;
    choose = (call) => (matches(call) ? left.shift() : undefined);
    return () => left.length;
  }

  function runCreate(pipeId: string) {
    sequence += 1;
    return machines.run('create', {
      pipeId,
      expectedState: null,
      requestedBy: 'test',
      requestId: `aws-throttling-${sequence}`,
    });
  }

  it('a snapshot chunk throttled and answered 500 by DynamoDB is retried; the pipe reaches Running', async () => {
    await seed(world, 'aws', 'orders', 300);
    const pipeId = await newPipe(world, [{ db: 'aws', coll: 'orders' }], { snapshotBatchMaxRows: 50 });
    const left = faultsOn(
      (call) => sortKeyOf(call).startsWith('PART#'),
      FAULTS.throughputExceeded,
      FAULTS.throttling,
      { ...FAULTS.internalError, after: true },
      FAULTS.serviceUnavailable,
      FAULTS.connectionReset,
    );
    const result = await runCreate(pipeId);
    choose = () => undefined;
    expect(result).toMatchObject({ status: 'SUCCEEDED' });
    expect(left()).toBe(0);
    expect(fired).toHaveLength(5);
    const pipe = await world.store.getPipe(pipeId);
    expect(pipe.state).toBe('Running');
    expect(pipe.lastError ?? null).toBeNull();
    expect(await liveRows(world, 'aws', 'orders')).toBe(300);
    expect(await compareWithSource(world, 'aws', 'orders')).toMatchObject({
      count: 300,
      missing: [],
      extra: [],
      different: [],
    });
  }, 120_000);

  it.each([
    ['throttled (ProvisionedThroughputExceededException)', FAULTS.throughputExceeded],
    ['answered 500 after it was applied', { ...FAULTS.internalError, after: true } as AwsFault],
  ])(
    'a CDC run whose resume point commit is %s: retried name, still Running, the next run catches up',
    async (_what, fault) => {
      const coll = `changes${sequence}`;
      await seed(world, 'aws', coll, 40);
      const pipeId = await newPipe(world, [{ db: 'aws', coll }]);
      choose = () => undefined;
      expect(await runCreate(pipeId)).toMatchObject({ status: 'SUCCEEDED' });
      const orders = world.mongo.db('aws').collection<{ _id: number; name: string; tags: string[] }>(coll);
      const offset = 1_000;
      await orders.insertMany(
        Array.from({ length: 20 }, (_, i) => ({ _id: offset + i, name: `new ${i}`, tags: [] })),
      );
      await orders.updateMany({ _id: { $lt: 10 } }, { $push: { tags: `run-${offset}` } });
      await orders.deleteOne({ _id: 12 });

      faultsOn(
        (call) =>
          sortKeyOf(call) === 'RESUME' &&
          call.command === 'UpdateItemCommand' &&
          /#token/.test(call.input.UpdateExpression ?? ''),
        fault,
      );
      const error = await cdcBatchTask.invoke(runtime, { pipeId }).then(
        () => undefined,
        (thrown: unknown) => thrown,
      );
      choose = () => undefined;
      expect(fired).toHaveLength(1);
      expect(error).toBeInstanceOf(Error);
      expect(ERROR_NAMES[(error as Error).name]).toBe('retry');
      expect((error as Error).name).toBe('StoreUnavailableError');
      const pipe = await world.store.getPipe(pipeId);
      expect(pipe.state).toBe('Running');
      expect(pipe.lastError ?? null).toBeNull();

      const next = await cdcBatchTask.invoke(runtime, { pipeId });
      expect(next).toMatchObject({ status: 'ran', endedBecause: 'caught-up' });
      expect(await compareWithSource(world, 'aws', coll)).toMatchObject({
        count: 59,
        missing: [],
        extra: [],
        different: [],
      });
    },
    60_000,
  );
});

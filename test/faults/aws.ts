import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoPipeStore } from '../../functions/adapters/dynamodb/store.js';
import { markReplicating } from '../e2e/harness.js';
import { type AwsCallInfo, type AwsFault, FAULTS, injectAwsFaults } from '../support/aws-faults.js';
import type { Fault } from './faults.js';
import { type CaseRun, cdcUnderLoad, snapshotUnderLoad } from './run-case.js';

/**
 * "AWS throttling / 5xx at every AWS call": the pipe store's REAL DynamoDB client (dynalite) gets
 * throttling or 5xx answers at the wire, replacing DynamoDB's, on the first call of every call
 * site the snapshot and CDC make (a call site: the request, the kind of item and the update it
 * makes) and on every 25th call. The pipe store is the only AWS service the engines call
 * (Scheduler, Step Functions and Lambda are the handlers', covered by test/adapters and
 * test/api), so this is every AWS call of the case.
 */

/** e.g. `UpdateItemCommand PART SET #checkpoint = :checkpoint, rowsCo`. */
export function callSiteOf(call: AwsCallInfo): string {
  const input = call.input ?? {};
  const [first] = Object.values(input.RequestItems ?? {}) as {
    PutRequest?: { Item?: unknown };
    DeleteRequest?: { Key?: unknown };
  }[][];
  const batchItem = (first?.[0]?.PutRequest?.Item ?? first?.[0]?.DeleteRequest?.Key) as
    | { SK?: { S?: string } }
    | undefined;
  const sortKey = String(
    input.Key?.SK?.S ??
      input.Item?.SK?.S ??
      batchItem?.SK?.S ??
      input.ExpressionAttributeValues?.[':prefix']?.S ??
      input.IndexName ??
      input.ExpressionAttributeValues?.[':pk']?.S ??
      '',
  );
  const kind = sortKey.split('#')[0] ?? '';
  const update = String(input.UpdateExpression ?? '').slice(0, 40);
  return `${call.command} ${kind}${update ? ` ${update}` : ''}`;
}

/** What one chosen call meets, and on how many attempts in a row (the SDK re-sends it). */
interface Injected {
  fault: AwsFault;
  times: number;
}

interface AwsFaultPlan {
  /** The SDK's own attempts per call (Lambda's default is 3; 1 hands every fault to the engine). */
  sdkAttempts: number;
  /** Also fault every Nth call, not only the first of each call site. */
  everyNth: number;
  /** The fault for the `turn`-th candidate call (`first` of its call site, or an Nth call), if any. */
  choose(site: string, first: boolean, turn: number): Injected | undefined;
}

const WRITES = /^(PutItem|UpdateItem|DeleteItem|BatchWriteItem)Command /;

/**
 * Counts the store's calls that failed because the SDK re-sent a conditional write whose first
 * attempt had landed (its answer lost): read as a conflict, that would fail the pipe.
 */
function countingOwnWrites(store: DynamoPipeStore): DynamoPipeStore & { ownWrites: number } {
  let ownWrites = 0;
  return new Proxy(store, {
    get(target, property, receiver) {
      if (property === 'ownWrites') return ownWrites;
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) =>
        Promise.resolve((value as (...a: unknown[]) => unknown).apply(target, args)).catch(
          (error: unknown) => {
            if (error instanceof Error && /condition failed on a retry/.test(error.message)) ownWrites += 1;
            throw error;
          },
        );
    },
  }) as DynamoPipeStore & { ownWrites: number };
}

/** Runs the case's snapshot and CDC with the pipe store behind a faulty DynamoDB client. */
function awsFault(name: string, plan: AwsFaultPlan): Fault {
  return {
    name,
    async run(run: CaseRun) {
      const client = new DynamoDBClient({
        endpoint: run.world.dynamo.endpoint,
        region: 'us-east-1',
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
        maxAttempts: plan.sdkAttempts,
      });
      const seen = new Set<string>();
      let turn = 0;
      let calls = 0;
      /** The same request's next attempts (the SDK re-sends it) fail too, `left` more times. */
      let repeating: { input: unknown; fault: AwsFault; left: number } | null = null;
      const injector = injectAwsFaults(client, (call) => {
        if (repeating && repeating.input === call.input && repeating.left > 0) {
          repeating.left -= 1;
          return repeating.fault;
        }
        repeating = null;
        calls += 1;
        const site = callSiteOf(call);
        const first = !seen.has(site);
        seen.add(site);
        if (!first && calls % plan.everyNth !== 0) return undefined;
        const chosen = plan.choose(site, first, turn);
        turn += 1;
        if (!chosen) return undefined;
        const { fault, times } = chosen;
        if (times > 1) repeating = { input: call.input, fault, left: times - 1 };
        return fault;
      });
      const store = countingOwnWrites(
        new DynamoPipeStore({ client, tableName: run.world.dynamo.tableName, now: run.clock.now }),
      );
      const healthy = run.parts;
      run.parts = { ...healthy, store };
      try {
        await snapshotUnderLoad(run);
        const inSnapshot = injector.fired.length;
        const snapshotSites = seen.size;
        await markReplicating(run.store, run.pipe);
        await cdcUnderLoad(run);
        injector.off();
        const inCdc = injector.fired.length - inSnapshot;
        const state = (await run.store.getPipe(run.pipe.pipeId)).state;
        const raw = run.notes.filter(
          (note) => / retried$/.test(note) && !/StoreUnavailableError retried$/.test(note),
        );
        const named = run.notes.filter((note) => /StoreUnavailableError retried$/.test(note)).length;
        run.notes.push(
          `aws: ${injector.fired.length} faults on ${seen.size} call sites (${snapshotSites} in the snapshot)`,
        );
        if (store.ownWrites > 0)
          run.notes.push(
            `aws: ${store.ownWrites} conditional writes refused on the SDK's re-send of a write that landed`,
          );
        if (process.env.FAULTS_DEBUG) console.error([...seen].join('\n'), '\n', injector.fired.join('\n'));
        return [
          ...(inSnapshot > 0 ? [] : ['no fault fired in the snapshot']),
          ...(inCdc > 0 ? [] : ['no fault fired in CDC']),
          ...(state === 'Failed' ? ['the pipe is Failed'] : []),
          ...(named > 0 ? [] : ['no StoreUnavailableError reached the engines']),
          ...(raw.length > 0 ? [`errors not named by the store: ${[...new Set(raw)].join(', ')}`] : []),
        ];
      } finally {
        run.parts = healthy;
        client.destroy();
      }
    },
  };
}

const THROTTLES = [FAULTS.throughputExceeded, FAULTS.throttling, FAULTS.tooManyRequests] as const;

/** Throttling: refused before it did anything; the SDK makes one attempt, so the engine sees each. */
export const awsThrottling = awsFault('aws-throttling', {
  sdkAttempts: 1,
  everyNth: 25,
  choose: (_site, _first, turn) => ({ fault: THROTTLES[turn % THROTTLES.length] as AwsFault, times: 1 }),
});

const LOST_ANSWERS: readonly AwsFault[] = [
  { ...FAULTS.internalError, after: true },
  { ...FAULTS.connectionReset, after: true },
  { ...FAULTS.timeout, after: true },
];
const NO_ANSWERS: readonly AwsFault[] = [
  FAULTS.internalError,
  FAULTS.serviceUnavailable,
  FAULTS.connectionReset,
  FAULTS.timeout,
];

/**
 * 5xx, resets and timeouts with the SDK retrying once, as in Lambda. The first write of every
 * call site lands and loses its answer, and the SDK re-sends it: a conditional write then comes
 * back refused by its own first attempt. Every Nth call (reads and writes) fails twice in a row,
 * so the engine sees it, a write after it landed half the time. (First reads are left alone: the
 * read a refused checkpoint makes to explain itself would otherwise hide the refusal.)
 */
export const aws5xx = awsFault('aws-5xx', {
  sdkAttempts: 2,
  everyNth: 25,
  choose: (site, first, turn) => {
    const write = WRITES.test(site);
    if (first && write) return { fault: LOST_ANSWERS[turn % LOST_ANSWERS.length] as AwsFault, times: 1 };
    if (first) return undefined;
    if (write && turn % 2 === 0)
      return { fault: LOST_ANSWERS[turn % LOST_ANSWERS.length] as AwsFault, times: 2 };
    return { fault: NO_ANSWERS[turn % NO_ANSWERS.length] as AwsFault, times: 2 };
  },
});

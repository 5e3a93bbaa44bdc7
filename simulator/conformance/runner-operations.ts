/** The special `testRunner` operations: fail points, event waits, topology checks, threads. */
import { setTimeout as sleep } from 'node:timers/promises';
import { type ClientSession, type Document, MongoClient, type TopologyDescription } from 'mongodb';
import { isDocument } from './bson-types.js';
import { createEntities } from './create-entities.js';
import type { TestEnvironment } from './environment.js';
import { AssertionFailure, TestFileError, UnsupportedFeature } from './errors.js';
import { categoryOf, countMatchingEvents, type RecordedEvent } from './events.js';
import { scalarsEqual } from './matcher.js';

type Execute = (operation: unknown, env: TestEnvironment) => Promise<void>;
type RunnerOperation = (args: unknown, env: TestEnvironment, execute: Execute) => Promise<void>;

const pollIntervalMs = 25;

function describeRecorded(recorded: RecordedEvent): string {
  const { event } = recorded;
  if (event.commandName) return `${recorded.type}:${String(event.commandName)}`;
  const change = (description: unknown) => (isDocument(description) ? String(description.type) : '?');
  if (event.newDescription)
    return `${recorded.type}:${change(event.previousDescription)}->${change(event.newDescription)}`;
  return recorded.type;
}

function argumentsOf(raw: unknown, allowed: string[], operation: string): Record<string, unknown> {
  if (!isDocument(raw)) throw new TestFileError(`${operation}: arguments must be a document`);
  for (const key of Object.keys(raw)) {
    if (!allowed.includes(key)) throw new UnsupportedFeature(`argument ${key} for ${operation}`);
  }
  return raw;
}

/** Polls `condition` until true or `timeoutMs` elapse (bounded loop). */
async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() >= deadline) return false;
    await sleep(pollIntervalMs);
  }
  return true;
}

async function configureFailPoint(
  client: MongoClient,
  failPoint: unknown,
  env: TestEnvironment,
): Promise<void> {
  if (!isDocument(failPoint) || typeof failPoint.configureFailPoint !== 'string') {
    throw new TestFileError('failPoint must be a configureFailPoint command');
  }
  env.failPoints.add(failPoint.configureFailPoint);
  await client.db('admin').command(failPoint as Document);
}

/** The mongos a session's transaction is pinned to (the driver keeps it on the transaction). */
function pinnedAddress(session: ClientSession): string | undefined {
  const transaction = (
    session as unknown as {
      transaction: { isPinned: boolean; server?: { description?: { address?: string } } };
    }
  ).transaction;
  return transaction.isPinned ? transaction.server?.description?.address : undefined;
}

function topologyOf(client: MongoClient): TopologyDescription {
  const topology = (client as unknown as { topology?: { description: TopologyDescription } }).topology;
  if (!topology) throw new AssertionFailure('the client has no topology (not connected)');
  return topology.description;
}

function primaryOf(description: TopologyDescription): string | undefined {
  for (const [address, server] of description.servers) {
    if (server.type === 'RSPrimary') return address;
  }
  return undefined;
}

function lastTwoLsids(args: Record<string, unknown>, env: TestEnvironment): [unknown, unknown] {
  const client = env.entities.get(args.client, 'client');
  const started = client.recorder.events.filter((event) => event.type === 'commandStartedEvent');
  if (started.length < 2) throw new AssertionFailure(`need two commandStartedEvents, have ${started.length}`);
  const lsid = (index: number) => (started[index]!.event.command as Document | undefined)?.lsid;
  return [lsid(started.length - 2), lsid(started.length - 1)];
}

const transactionStates: Record<string, string> = {
  NO_TRANSACTION: 'none',
  STARTING_TRANSACTION: 'starting',
  TRANSACTION_IN_PROGRESS: 'in_progress',
  TRANSACTION_COMMITTED: 'committed',
  TRANSACTION_COMMITTED_EMPTY: 'committed',
  TRANSACTION_ABORTED: 'aborted',
};

async function collectionExists(env: TestEnvironment, args: Record<string, unknown>): Promise<boolean> {
  const db = env.internalClient.db(String(args.databaseName));
  const found = await db.listCollections({ name: String(args.collectionName) }, { nameOnly: true }).toArray();
  return found.length > 0;
}

/** Index names of a collection, through the internal client; none when the collection is missing. */
async function indexNames(env: TestEnvironment, args: Record<string, unknown>): Promise<string[]> {
  if (!(await collectionExists(env, args))) return [];
  const collection = env.internalClient.db(String(args.databaseName)).collection(String(args.collectionName));
  const indexes = await collection.listIndexes().toArray();
  return indexes.map((index) => String(index.name));
}

export const runnerOperations: Record<string, RunnerOperation> = {
  failPoint: async (raw, env) => {
    const args = argumentsOf(raw, ['client', 'failPoint'], 'failPoint');
    await configureFailPoint(env.entities.get(args.client, 'client').client, args.failPoint, env);
  },
  targetedFailPoint: async (raw, env) => {
    const args = argumentsOf(raw, ['session', 'failPoint'], 'targetedFailPoint');
    const { session, client } = env.entities.get(args.session, 'session');
    // A transaction through mongos pins its session to one mongos: the fail point goes there.
    // Replica sets never pin, so the primary (through the session's client) is the target.
    const address = pinnedAddress(session);
    if (!address) {
      await configureFailPoint(client.client, args.failPoint, env);
      return;
    }
    const direct = new MongoClient(
      `mongodb://${address}/?directConnection=true&serverSelectionTimeoutMS=5000`,
    );
    try {
      await configureFailPoint(direct, args.failPoint, env);
    } finally {
      await direct.close().catch(() => undefined);
    }
  },
  createEntities: async (raw, env) => {
    const args = argumentsOf(raw, ['entities'], 'createEntities');
    await createEntities(args.entities, env.entities, env.entityContext);
  },
  wait: async (raw) => {
    const args = argumentsOf(raw, ['ms'], 'wait');
    await sleep(Number(args.ms));
  },
  waitForEvent: async (raw, env) => {
    const args = argumentsOf(raw, ['client', 'event', 'count'], 'waitForEvent');
    const { recorder } = env.entities.get(args.client, 'client');
    const count = Number(args.count);
    if (!isDocument(args.event)) throw new TestFileError('waitForEvent: event must be a document');
    categoryOf(Object.keys(args.event)[0] ?? '');
    const seen = () => countMatchingEvents(args.event, recorder.events, env.entities) >= count;
    if (!(await waitUntil(seen, env.waitTimeoutMs))) {
      const have = countMatchingEvents(args.event, recorder.events, env.entities);
      const seenTypes = recorder.events.map(describeRecorded).join(', ');
      throw new AssertionFailure(
        `waitForEvent: ${JSON.stringify(args.event)} seen ${have} times, wanted ${count}; observed [${seenTypes}]`,
      );
    }
  },
  assertEventCount: async (raw, env) => {
    const args = argumentsOf(raw, ['client', 'event', 'count'], 'assertEventCount');
    const { recorder } = env.entities.get(args.client, 'client');
    const have = countMatchingEvents(args.event, recorder.events, env.entities);
    if (have !== Number(args.count)) {
      throw new AssertionFailure(
        `assertEventCount: ${JSON.stringify(args.event)} seen ${have} times, wanted ${args.count}`,
      );
    }
  },
  recordTopologyDescription: async (raw, env) => {
    const args = argumentsOf(raw, ['client', 'id'], 'recordTopologyDescription');
    const description = topologyOf(env.entities.get(args.client, 'client').client);
    env.entities.set(String(args.id), { kind: 'topologyDescription', description });
  },
  assertTopologyType: async (raw, env) => {
    const args = argumentsOf(raw, ['topologyDescription', 'topologyType'], 'assertTopologyType');
    const { description } = env.entities.get(args.topologyDescription, 'topologyDescription');
    if (description.type !== args.topologyType) {
      throw new AssertionFailure(
        `topology type is ${description.type}, expected ${String(args.topologyType)}`,
      );
    }
  },
  waitForPrimaryChange: async (raw, env) => {
    const args = argumentsOf(
      raw,
      ['client', 'priorTopologyDescription', 'timeoutMS'],
      'waitForPrimaryChange',
    );
    const client = env.entities.get(args.client, 'client').client;
    const prior = primaryOf(
      env.entities.get(args.priorTopologyDescription, 'topologyDescription').description,
    );
    const changed = () => {
      const current = primaryOf(topologyOf(client));
      return current !== undefined && current !== prior;
    };
    const timeoutMs = typeof args.timeoutMS === 'number' ? args.timeoutMS : env.waitTimeoutMs;
    if (!(await waitUntil(changed, timeoutMs))) {
      throw new AssertionFailure(
        `waitForPrimaryChange: primary still ${String(prior)} after ${timeoutMs} ms`,
      );
    }
  },
  runOnThread: async (raw, env, execute) => {
    const args = argumentsOf(raw, ['thread', 'operation'], 'runOnThread');
    const { thread } = env.entities.get(args.thread, 'thread');
    thread.run(() => execute(args.operation, env));
  },
  waitForThread: async (raw, env) => {
    const args = argumentsOf(raw, ['thread'], 'waitForThread');
    await env.entities.get(args.thread, 'thread').thread.finish(env.waitTimeoutMs);
  },
  assertSessionTransactionState: async (raw, env) => {
    const args = argumentsOf(raw, ['session', 'state'], 'assertSessionTransactionState');
    const { session } = env.entities.get(args.session, 'session');
    const internal = (session as unknown as { transaction: { state: string } }).transaction.state;
    const state = transactionStates[internal] ?? internal;
    if (state !== args.state)
      throw new AssertionFailure(`session transaction state ${state}, expected ${args.state}`);
  },
  assertSessionPinned: async (raw, env) => {
    const args = argumentsOf(raw, ['session'], 'assertSessionPinned');
    const { session } = env.entities.get(args.session, 'session');
    if (!pinnedAddress(session)) throw new AssertionFailure('session is not pinned');
  },
  assertSessionUnpinned: async (raw, env) => {
    const args = argumentsOf(raw, ['session'], 'assertSessionUnpinned');
    const { session } = env.entities.get(args.session, 'session');
    const transaction = (session as unknown as { transaction: { isPinned: boolean } }).transaction;
    if (transaction.isPinned) throw new AssertionFailure('session is pinned');
  },
  assertSameLsidOnLastTwoCommands: async (raw, env) => {
    const args = argumentsOf(raw, ['client'], 'assertSameLsidOnLastTwoCommands');
    const [first, second] = lastTwoLsids(args, env);
    if (!isDocument(first) || !isDocument(second) || !scalarsEqual(first.id, second.id)) {
      throw new AssertionFailure('the last two commands used different lsids');
    }
  },
  assertDifferentLsidOnLastTwoCommands: async (raw, env) => {
    const args = argumentsOf(raw, ['client'], 'assertDifferentLsidOnLastTwoCommands');
    const [first, second] = lastTwoLsids(args, env);
    if (isDocument(first) && isDocument(second) && scalarsEqual(first.id, second.id)) {
      throw new AssertionFailure('the last two commands used the same lsid');
    }
  },
  assertCollectionExists: async (raw, env) => {
    const args = argumentsOf(raw, ['databaseName', 'collectionName'], 'assertCollectionExists');
    if (!(await collectionExists(env, args)))
      throw new AssertionFailure(`${args.collectionName} does not exist`);
  },
  assertCollectionNotExists: async (raw, env) => {
    const args = argumentsOf(raw, ['databaseName', 'collectionName'], 'assertCollectionNotExists');
    if (await collectionExists(env, args)) throw new AssertionFailure(`${args.collectionName} exists`);
  },
  assertIndexExists: async (raw, env) => {
    const args = argumentsOf(raw, ['databaseName', 'collectionName', 'indexName'], 'assertIndexExists');
    if (!(await indexNames(env, args)).includes(String(args.indexName)))
      throw new AssertionFailure(`index ${args.indexName} does not exist`);
  },
  assertIndexNotExists: async (raw, env) => {
    const args = argumentsOf(raw, ['databaseName', 'collectionName', 'indexName'], 'assertIndexNotExists');
    if ((await indexNames(env, args)).includes(String(args.indexName)))
      throw new AssertionFailure(`index ${args.indexName} exists`);
  },
};

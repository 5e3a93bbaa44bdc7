/** Runs one test of a file: setup, operations, event and outcome assertions, cleanup. */
import { MongoClient } from 'mongodb';
import { isDocument } from './bson-types.js';
import { setUpInitialData, verifyOutcome } from './collection-data.js';
import { createEntities } from './create-entities.js';
import { EntityMap } from './entities.js';
import type { TestEnvironment } from './environment.js';
import { AssertionFailure, TestFileError, UnsupportedFeature } from './errors.js';
import { type EventCategory, matchEventList } from './events.js';
import { executeOperation } from './execute-operation.js';
import type { TestCase, TestFile } from './load.js';

export interface TestCaseOptions {
  uri: string;
  internalClient: MongoClient;
  timeoutMs: number;
  waitTimeoutMs: number;
  /** Tolerate the known driver deviations (driver-deviations.ts); false = strict. */
  tolerateDriverDeviations: boolean;
}

async function killAllSessions(client: MongoClient): Promise<void> {
  await client
    .db('admin')
    .command({ killAllSessions: [] })
    .catch(() => undefined);
}

/** Switches the fail points off on every member, since a step-down may have moved the primary. */
async function disableFailPoints(env: TestEnvironment): Promise<void> {
  if (env.failPoints.size === 0) return;
  const topology = (
    env.internalClient as unknown as { topology?: { description: { servers: Map<string, unknown> } } }
  ).topology;
  const hosts = topology ? [...topology.description.servers.keys()] : [];
  for (const host of hosts) {
    const direct = new MongoClient(`mongodb://${host}/?directConnection=true&serverSelectionTimeoutMS=2000`);
    try {
      for (const name of env.failPoints) {
        await direct
          .db('admin')
          .command({ configureFailPoint: name, mode: 'off' })
          .catch(() => undefined);
      }
    } finally {
      await direct.close().catch(() => undefined);
    }
  }
  env.failPoints.clear();
}

const settleAfterTimeoutMs = 5_000;

const testKeys = ['description', 'runOnRequirements', 'skipReason', 'operations', 'expectEvents', 'outcome'];
const fileKeys = [
  'description',
  'schemaVersion',
  'runOnRequirements',
  'createEntities',
  'initialData',
  'tests',
  '_yamlAnchors',
];
const expectEventsKeys = ['client', 'eventType', 'events', 'ignoreExtraEvents'];

function refuseUnknownKeys(value: object, known: string[], what: string): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) throw new UnsupportedFeature(`${what} field: ${key}`);
  }
}

/** Databases the file's entities use, dropped before each test so tests do not see each other's data. */
function databasesToReset(file: TestFile): string[] {
  const names = new Set<string>();
  for (const item of file.createEntities ?? []) {
    const database = isDocument(item) ? item.database : undefined;
    if (isDocument(database) && typeof database.databaseName === 'string') names.add(database.databaseName);
  }
  for (const collection of file.initialData ?? []) names.add(collection.databaseName);
  for (const reserved of ['admin', 'config', 'local']) names.delete(reserved);
  return [...names];
}

function checkExpectedEvents(test: TestCase, env: TestEnvironment): void {
  for (const expectation of test.expectEvents ?? []) {
    if (!isDocument(expectation)) throw new TestFileError('expectEvents entries must be documents');
    refuseUnknownKeys(expectation, expectEventsKeys, 'expectEvents');
    const { recorder } = env.entities.get(expectation.client, 'client');
    const category = (expectation.eventType ?? 'command') as EventCategory;
    if (!['command', 'cmap', 'sdam'].includes(category)) throw new TestFileError(`bad eventType ${category}`);
    const expected = expectation.events;
    if (!Array.isArray(expected)) throw new TestFileError('expectEvents.events must be a list');
    const reason = matchEventList(
      expected,
      recorder.ofCategory(category),
      expectation.ignoreExtraEvents === true,
      env.entities,
      category,
      env.toleratedDeviations,
    );
    if (reason)
      throw new AssertionFailure(`expectEvents (${String(expectation.client)}, ${category}): ${reason}`);
  }
}

async function runSteps(file: TestFile, test: TestCase, env: TestEnvironment, options: TestCaseOptions) {
  refuseUnknownKeys(file, fileKeys, 'test file');
  refuseUnknownKeys(test, testKeys, 'test');
  await killAllSessions(options.internalClient);
  for (const name of databasesToReset(file)) {
    await inStage(`dropping database ${name}`, async () => {
      await options.internalClient.db(name).dropDatabase({ writeConcern: { w: 'majority' } });
    });
  }
  const initialData = file.initialData;
  if (initialData) await inStage('initialData', () => setUpInitialData(options.internalClient, initialData));
  const entities = file.createEntities;
  if (entities)
    await inStage('createEntities', () => createEntities(entities, env.entities, env.entityContext));
  try {
    for (const [index, operation] of test.operations.entries()) {
      const name = isDocument(operation) ? String(operation.name) : '?';
      await inStage(`operation #${index} ${name}`, () => executeOperation(operation, env));
    }
  } finally {
    for (const [, entity] of env.entities.all()) if (entity.kind === 'client') entity.recorder.stop();
    await disableFailPoints(env);
  }
  checkExpectedEvents(test, env);
  const outcome = test.outcome;
  if (outcome) await inStage('outcome', () => verifyOutcome(options.internalClient, outcome));
}

/** Prefixes an error's message with the step of the test that raised it, keeping its class. */
async function inStage(stage: string, step: () => Promise<void>): Promise<void> {
  try {
    await step();
  } catch (error) {
    if (error instanceof Error) error.message = `${stage}: ${error.message}`;
    throw error;
  }
}

/**
 * Resolves with the driver deviations tolerated when the test passed (empty: passed as
 * written); rejects with the reason it failed (timeouts included).
 */
export async function runTestCase(
  file: TestFile,
  test: TestCase,
  options: TestCaseOptions,
): Promise<string[]> {
  const env: TestEnvironment = {
    entities: new EntityMap(),
    internalClient: options.internalClient,
    entityContext: { uri: options.uri },
    failPoints: new Set(),
    waitTimeoutMs: options.waitTimeoutMs,
    toleratedDeviations: options.tolerateDriverDeviations ? new Set() : undefined,
  };
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new AssertionFailure(`test timed out after ${options.timeoutMs} ms`)),
      options.timeoutMs,
    );
  });
  const steps = runSteps(file, test, env, options);
  try {
    await Promise.race([steps, timeout]);
  } finally {
    clearTimeout(timer);
    // Closing the clients also unblocks any operation still waiting after a timeout.
    await env.entities.closeAll();
    let settleTimer: NodeJS.Timeout | undefined;
    const settled = new Promise<void>((resolve) => {
      settleTimer = setTimeout(resolve, settleAfterTimeoutMs);
    });
    await Promise.race([steps.catch(() => undefined), settled]);
    clearTimeout(settleTimer);
    await disableFailPoints(env);
  }
  return [...(env.toleratedDeviations ?? [])];
}

/** Executing one `operation` of a test: dispatch, then expectError / expectResult / saveResultAsEntity. */
import { AbstractCursor, ChangeStream } from 'mongodb';
import { isDocument } from './bson-types.js';
import type { Entity } from './entities.js';
import type { TestEnvironment } from './environment.js';
import { AssertionFailure, TestFileError, UnsupportedFeature } from './errors.js';
import { checkExpectedError, describeError } from './expect-error.js';
import { describeValue, matchValue } from './matcher.js';
import { Arguments } from './operations/arguments.js';
import { collectionOperations } from './operations/collection-operations.js';
import {
  changeStreamOperations,
  clientOperations,
  cursorOperations,
  databaseOperations,
  sessionOperations,
} from './operations/other-operations.js';
import type { OperationResult } from './operations/results.js';
import { runnerOperations } from './runner-operations.js';

const operationKeys = new Set([
  'name',
  'object',
  'arguments',
  'expectError',
  'expectResult',
  'saveResultAsEntity',
  'ignoreResultAndError',
]);

async function dispatch(entity: Entity, name: string, args: Arguments): Promise<OperationResult> {
  const unsupported = () => new UnsupportedFeature(`operation: ${name} on ${entity.kind}`);
  switch (entity.kind) {
    case 'collection': {
      const operation = collectionOperations[name];
      if (!operation) throw unsupported();
      return operation(entity.collection, args);
    }
    case 'database': {
      const operation = databaseOperations[name];
      if (!operation) throw unsupported();
      return operation(entity.db, args);
    }
    case 'client': {
      const operation = clientOperations[name];
      if (!operation) throw unsupported();
      return operation(entity, args);
    }
    case 'session': {
      const operation = sessionOperations[name];
      if (!operation) throw unsupported();
      return operation(entity.session, args);
    }
    case 'changeStream': {
      const operation = changeStreamOperations[name];
      if (!operation) throw unsupported();
      return operation(entity.stream, args);
    }
    case 'cursor': {
      const operation = cursorOperations[name];
      if (!operation) throw unsupported();
      return operation(entity.cursor, args);
    }
    default:
      throw unsupported();
  }
}

/** The spec requires createChangeStream to run its aggregate before returning. */
async function initializeChangeStream(stream: ChangeStream): Promise<void> {
  const cursor = (stream as unknown as { cursor: { cursorInit(): Promise<void> } }).cursor;
  await cursor.cursorInit();
}

function saveResult(id: unknown, result: OperationResult, env: TestEnvironment): void {
  if (typeof id !== 'string') throw new TestFileError('saveResultAsEntity must be a name');
  const { value } = result;
  if (value instanceof ChangeStream) env.entities.set(id, { kind: 'changeStream', stream: value });
  else if (value instanceof AbstractCursor) env.entities.set(id, { kind: 'cursor', cursor: value });
  else if (value === undefined)
    throw new TestFileError(`saveResultAsEntity ${id}: the operation returned nothing`);
  else env.entities.set(id, { kind: 'bson', value });
}

function matchResult(expected: unknown, result: OperationResult, env: TestEnvironment): string | null {
  const entities = env.entities;
  if (!result.iterable || !Array.isArray(expected) || !Array.isArray(result.value)) {
    return matchValue(expected, result.value, { root: true, entities });
  }
  const actual = result.value;
  if (actual.length !== expected.length) {
    return `expected ${expected.length} documents, got ${actual.length}: ${describeValue(actual)}`;
  }
  for (let index = 0; index < expected.length; index++) {
    const reason = matchValue(expected[index], actual[index], { root: true, entities });
    if (reason) return `document #${index}: ${reason}`;
  }
  return null;
}

export async function executeOperation(operation: unknown, env: TestEnvironment): Promise<void> {
  if (!isDocument(operation)) throw new TestFileError('operation must be a document');
  for (const key of Object.keys(operation)) {
    if (!operationKeys.has(key)) throw new UnsupportedFeature(`operation field: ${key}`);
  }
  const { name, object } = operation;
  if (typeof name !== 'string' || typeof object !== 'string')
    throw new TestFileError('operation needs name and object');
  if (object === 'testRunner') {
    const special = runnerOperations[name];
    if (!special) throw new UnsupportedFeature(`test runner operation: ${name}`);
    await special(operation.arguments ?? {}, env, executeOperation);
    return;
  }
  const entity = env.entities.getAny(object);
  const args = Arguments.of(name, operation.arguments, env.entities);
  let result: OperationResult | undefined;
  let error: unknown;
  let failed = false;
  try {
    result = await dispatch(entity, name, args);
    if (result.value instanceof ChangeStream) {
      const stream = result.value;
      await initializeChangeStream(stream).catch(async (error: unknown) => {
        await stream.close().catch(() => undefined);
        throw error;
      });
    }
  } catch (caught) {
    if (caught instanceof UnsupportedFeature || caught instanceof TestFileError) throw caught;
    error = caught;
    failed = true;
  }
  if (operation.ignoreResultAndError === true) {
    if (result?.value instanceof ChangeStream || result?.value instanceof AbstractCursor) {
      env.entities.trackUnnamed(result.value);
    }
    return;
  }
  if (operation.expectError !== undefined) {
    if (!failed)
      throw new AssertionFailure(`${name}: expected an error, got ${describeValue(result?.value)}`);
    checkExpectedError(operation.expectError, error, env.entities);
    return;
  }
  if (failed) throw new AssertionFailure(`${name} failed: ${describeError(error)}`);
  if (operation.expectResult !== undefined) {
    const reason = matchResult(operation.expectResult, result!, env);
    if (reason) throw new AssertionFailure(`${name} result: ${reason}`);
  }
  if (operation.saveResultAsEntity !== undefined) saveResult(operation.saveResultAsEntity, result!, env);
  else if (result?.value instanceof ChangeStream || result?.value instanceof AbstractCursor) {
    env.entities.trackUnnamed(result.value);
  }
}

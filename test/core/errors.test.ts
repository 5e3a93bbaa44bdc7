import { describe, expect, it } from 'vitest';
import { ERROR_CLASSES, ERROR_NAMES } from '../../functions/core/error-names.js';
import {
  ChangeStreamHistoryLostError,
  FatalError,
  IllegalTransitionError,
  InvalidSettingsError,
  LeaseHeldError,
  PipeError,
  PipeNotFoundError,
  SettingsLockedError,
  StaleFenceError,
  StateConflictError,
  TransientError,
} from '../../functions/core/errors.js';

/**
 * Error names are a contract with statemachines/ (Retry/Catch match on them): this list is
 * written out by hand so renaming a class fails here first.
 */
const PINNED: Record<string, string> = {
  TransientError: 'retry',
  FatalError: 'fatal',
  ChangeStreamHistoryLostError: 'history-lost',
  IllegalTransitionError: 'fatal',
  PipeNotFoundError: 'fatal',
  StateConflictError: 'fatal',
  LeaseHeldError: 'retry',
  StaleFenceError: 'fatal',
  SourceUnavailableError: 'retry',
  SourceFatalError: 'fatal',
  DestinationUnavailableError: 'retry',
  DestinationFatalError: 'fatal',
  InvalidSettingsError: 'fatal',
  SettingsLockedError: 'fatal',
  MalformedResumeTokenError: 'fatal',
  UnsupportedValueError: 'fatal',
  InvalidStoreInputError: 'fatal',
  IdempotencyConflictError: 'fatal',
  PipeNameTakenError: 'fatal',
  PipeAlreadyExistsError: 'fatal',
  TableMappingNotFoundError: 'fatal',
  PartitionNotFoundError: 'fatal',
  CheckpointRegressionError: 'fatal',
  CorruptStoreItemError: 'fatal',
  StoreUnavailableError: 'retry',
  StandaloneSourceError: 'fatal',
  NoResumePointError: 'fatal',
  TableOwnedByAnotherPipeError: 'fatal',
  TableBelongsToNoPipeError: 'fatal',
};

describe('error names (contract with the state machines)', () => {
  it('ERROR_NAMES is exactly the pinned list', () => {
    expect({ ...ERROR_NAMES }).toEqual(PINNED);
  });

  it.each(ERROR_CLASSES.map((cls) => [cls.name, cls] as const))('%s reports its own name', (name, cls) => {
    const Ctor = cls as unknown as new (...args: unknown[]) => PipeError;
    const args: Record<string, unknown[]> = {
      IllegalTransitionError: ['Running', 'resume', ['pause']],
      PipeNotFoundError: ['p1'],
      StateConflictError: ['p1', 'Running', 'Paused'],
      LeaseHeldError: ['cdc', 'worker-2', 0],
      StaleFenceError: ['cdc', 3],
      InvalidSettingsError: [[{ path: 'settings.x', message: 'bad' }]],
      SettingsLockedError: ['Running', ['pullBatchSize']],
      InvalidStoreInputError: ['pipeId', 'must not be empty'],
      IdempotencyConflictError: ['key-1', 'p1'],
      PipeNameTakenError: ['shop', 'p1'],
      PipeAlreadyExistsError: ['p1'],
      TableMappingNotFoundError: ['p1', 'shop.orders'],
      PartitionNotFoundError: ['p1', 'shop.orders', 3],
      CheckpointRegressionError: ['p1', 'shop.orders', 3, 5, 4, false],
      CorruptStoreItemError: ['PIPE#p1/PIPE', 'state missing'],
      StandaloneSourceError: ['127.0.0.1:27017'],
      NoResumePointError: [],
      TableOwnedByAnotherPipeError: ['sm', 'orders', 'p1', 'p2'],
      TableBelongsToNoPipeError: ['sm', 'orders'],
    };
    const error = new Ctor(...(args[name] ?? ['message']));
    expect(error.name).toBe(name);
    expect(error.disposition).toBe(PINNED[name]);
    expect(error).toBeInstanceOf(PipeError);
    expect(error).toBeInstanceOf(Error);
  });

  it('keeps the hierarchy the store and the machines rely on', () => {
    expect(new LeaseHeldError('l', 'h', 0)).toBeInstanceOf(TransientError);
    expect(new StaleFenceError('l', 1)).toBeInstanceOf(FatalError);
    expect(new StateConflictError('p', 'Running', 'Paused')).toBeInstanceOf(FatalError);
    expect(new PipeNotFoundError('p')).toBeInstanceOf(FatalError);
    expect(new IllegalTransitionError('Running', 'resume', [])).toBeInstanceOf(FatalError);
    expect(new ChangeStreamHistoryLostError('x')).not.toBeInstanceOf(FatalError);
  });

  it('messages carry what the user needs', () => {
    expect(new IllegalTransitionError('Running', 'resume', ['pause', 'resync']).message).toBe(
      'cannot resume a pipe in state Running; allowed here: pause, resync',
    );
    expect(
      new InvalidSettingsError([{ path: 'settings.pullBatchSize', message: 'must be at least 1' }]).message,
    ).toBe('invalid settings: settings.pullBatchSize: must be at least 1');
    expect(new SettingsLockedError('Running', ['pullBatchSize']).message).toMatch(/pause it first/);
  });
});

describe('ChangeStreamHistoryLostError', () => {
  it('always says a resync is needed and why, with what the server said', () => {
    const error = new ChangeStreamHistoryLostError('Resume of change stream was not possible (code 286)');
    expect(error.message).toMatch(/^resync needed: the change stream resume point fell off the oplog/);
    expect(error.message).toContain('oplog window');
    expect(error.message).toContain('Server said: Resume of change stream was not possible (code 286)');
    expect(new ChangeStreamHistoryLostError().message).toMatch(/^resync needed/);
  });
});

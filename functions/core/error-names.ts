import {
  ChangeStreamHistoryLostError,
  DestinationFatalError,
  DestinationUnavailableError,
  type Disposition,
  FatalError,
  IllegalTransitionError,
  InvalidSettingsError,
  LeaseHeldError,
  MalformedResumeTokenError,
  PipeNotFoundError,
  SettingsLockedError,
  SourceFatalError,
  SourceUnavailableError,
  StaleFenceError,
  StateConflictError,
  TableBelongsToNoPipeError,
  TableOwnedByAnotherPipeError,
  TransientError,
  UnsupportedValueError,
} from './errors.js';
import { NoResumePointError, StandaloneSourceError } from './source-errors.js';
import {
  CheckpointRegressionError,
  CorruptStoreItemError,
  IdempotencyConflictError,
  InvalidStoreInputError,
  PartitionNotFoundError,
  PipeAlreadyExistsError,
  PipeNameTakenError,
  StoreUnavailableError,
  TableMappingNotFoundError,
} from './store-errors.js';

/**
 * Every error name a Lambda can report, with what Step Functions should do about it. The state
 * machines' Retry clauses list the `retry` names and their Catch clauses route the rest.
 */
export const ERROR_NAMES: Readonly<Record<string, Disposition>> = Object.freeze({
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
});

/** The classes behind ERROR_NAMES, so a test can prove names and dispositions agree. */
export const ERROR_CLASSES = [
  TransientError,
  FatalError,
  ChangeStreamHistoryLostError,
  IllegalTransitionError,
  PipeNotFoundError,
  StateConflictError,
  LeaseHeldError,
  StaleFenceError,
  SourceUnavailableError,
  SourceFatalError,
  DestinationUnavailableError,
  DestinationFatalError,
  InvalidSettingsError,
  SettingsLockedError,
  MalformedResumeTokenError,
  UnsupportedValueError,
  InvalidStoreInputError,
  IdempotencyConflictError,
  PipeNameTakenError,
  PipeAlreadyExistsError,
  TableMappingNotFoundError,
  PartitionNotFoundError,
  CheckpointRegressionError,
  CorruptStoreItemError,
  StoreUnavailableError,
  StandaloneSourceError,
  NoResumePointError,
  TableOwnedByAnotherPipeError,
  TableBelongsToNoPipeError,
] as const;

export function errorNamesWith(disposition: Disposition): string[] {
  return Object.entries(ERROR_NAMES)
    .filter(([, value]) => value === disposition)
    .map(([name]) => name);
}

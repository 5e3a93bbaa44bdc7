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
 * Every error a Lambda can report by name. The state machines' Retry clauses list the `retry`
 * names and their Catch clauses route the rest; a class not listed here reaches them under its
 * disposition's base name (TransientError, FatalError).
 */
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

/** Each listed class's name with its disposition (the class declares both). */
export const ERROR_NAMES: Readonly<Record<string, Disposition>> = Object.freeze(
  Object.fromEntries(ERROR_CLASSES.map((cls) => [cls.name, cls.disposition])),
);

export function errorNamesWith(disposition: Disposition): string[] {
  return Object.entries(ERROR_NAMES)
    .filter(([, value]) => value === disposition)
    .map(([name]) => name);
}

/**
 * Named errors. The `name` of each class is a contract with the Step Functions Retry/Catch
 * clauses in statemachines/: Lambda reports it as the error type, so renaming one is a
 * breaking change (test/core/errors.test.ts pins the list).
 */
import { qualifiedTableName } from './table-key.js';

/** What the caller should do about an error. */
export type Disposition = 'retry' | 'fatal' | 'history-lost';

export abstract class PipeError extends Error {
  /**
   * The class's disposition, readable without an instance (ERROR_NAMES is built from it).
   * TransientError, FatalError and ChangeStreamHistoryLostError declare it; every other class
   * inherits it from the one it extends.
   */
  declare static readonly disposition: Disposition;
  abstract readonly disposition: Disposition;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A transient failure: retrying the same step later is expected to succeed. */
export class TransientError extends PipeError {
  static override readonly disposition = 'retry' as const;
  readonly disposition = TransientError.disposition;
}

/** A failure retrying cannot fix: the pipe goes to Failed. */
export class FatalError extends PipeError {
  static override readonly disposition = 'fatal' as const;
  readonly disposition = FatalError.disposition;
}

/** What the user reads when the resume point is gone: that a resync is needed, and why. */
export function historyLostMessage(detail: string): string {
  return (
    'resync needed: the change stream resume point fell off the oplog (the pipe was paused or ' +
    'failing for longer than the oplog window keeps history), so changes since then cannot be ' +
    `replayed; resync the pipe to reload the tables. Server said: ${detail}`
  );
}

/**
 * The change stream resume point fell off the oplog: only a resync recovers. Whoever raises it
 * passes what the server said; the message always leads with "resync needed" and the reason.
 */
export class ChangeStreamHistoryLostError extends PipeError {
  static override readonly disposition = 'history-lost' as const;
  readonly disposition = ChangeStreamHistoryLostError.disposition;
  constructor(detail = 'the resume point is no longer in the oplog', options?: { cause?: unknown }) {
    super(historyLostMessage(detail), options);
  }
}

export class IllegalTransitionError extends FatalError {
  constructor(
    readonly state: string | null,
    readonly event: string,
    readonly allowedEvents: readonly string[],
  ) {
    super(
      `cannot ${event} a pipe in state ${state ?? '(none)'}; allowed here: ${
        allowedEvents.length > 0 ? allowedEvents.join(', ') : 'nothing'
      }`,
    );
  }
}

export class PipeNotFoundError extends FatalError {
  constructor(readonly pipeId: string) {
    super(`pipe ${pipeId} does not exist`);
  }
}

/** A conditional state write lost: the pipe is no longer in the state the writer expected. */
export class StateConflictError extends FatalError {
  constructor(
    readonly pipeId: string,
    readonly expectedState: string | null,
    readonly actualState: string | null,
  ) {
    super(
      `pipe ${pipeId} is ${actualState ?? '(missing)'}, not ${expectedState ?? '(none)'}: another change got there first`,
    );
  }
}

/** Someone else holds a live lease; the caller should exit and let the holder finish. */
export class LeaseHeldError extends TransientError {
  constructor(
    readonly leaseName: string,
    readonly holder: string,
    readonly expiresAt: number,
  ) {
    super(`lease ${leaseName} is held by ${holder} until ${new Date(expiresAt).toISOString()}`);
  }
}

/** The writer's fencing number was superseded by a takeover: it must stop without writing. */
export class StaleFenceError extends FatalError {
  constructor(
    readonly leaseName: string,
    readonly fence: number,
  ) {
    super(`fence ${fence} on ${leaseName} is stale: the lease was taken over, this writer must stop`);
  }
}

/** The MongoDB source cannot be reached right now (network, election, shutdown): retry later. */
export class SourceUnavailableError extends TransientError {}

/** The MongoDB source refused the work in a way retrying cannot fix (auth, unknown server error). */
export class SourceFatalError extends FatalError {}

/** The ClickHouse destination cannot take the work right now (network, overload, too many parts). */
export class DestinationUnavailableError extends TransientError {}

/** The ClickHouse destination refused the work for good (missing table, auth, bad SQL). */
export class DestinationFatalError extends FatalError {}

/** A field-level validation problem, addressed by its path in the submitted input. */
export interface FieldError {
  path: string;
  message: string;
}

/** Input (settings or a create-pipe request) broke one or more rules; each is listed by field. */
export class InvalidSettingsError extends FatalError {
  constructor(readonly fieldErrors: readonly FieldError[]) {
    super(
      `invalid settings: ${fieldErrors.map((error) => `${error.path || '(root)'}: ${error.message}`).join('; ')}`,
    );
  }
}

/** A settings change was asked for while the pipe was not in a state that allows it. */
export class SettingsLockedError extends FatalError {
  constructor(
    readonly state: string,
    readonly settingNames: readonly string[],
  ) {
    super(
      `settings ${settingNames.join(', ')} can only change while the pipe is Paused; it is ${state}: pause it first`,
    );
  }
}

/** A stored change stream resume token could not be decoded. */
export class MalformedResumeTokenError extends FatalError {}

/** A BSON value or change event the core does not know how to turn into a row. */
export class UnsupportedValueError extends FatalError {}

/**
 * A pipe asked to create, write, swap or drop a destination table that another pipe owns (its
 * claim in the pipe store, docs/pipe-store.md). Nothing was changed on the table.
 */
export class TableOwnedByAnotherPipeError extends FatalError {
  constructor(
    readonly database: string,
    readonly table: string,
    readonly ownerPipeId: string,
    /** The pipe that asked; null for a request that has no pipe yet (a create). */
    readonly pipeId: string | null,
  ) {
    super(
      `table ${qualifiedTableName({ database, table })} belongs to pipe ${ownerPipeId}${pipeId ? `, not to pipe ${pipeId}` : ''}: ` +
        'a pipe only creates, writes, swaps or drops its own tables; map another table',
    );
  }
}

/**
 * A pipe would create a destination table that already exists in ClickHouse with no pipe owning
 * it (made by hand, or kept when its pipe was deleted). Writing into it would mix its rows with
 * the pipe's, so it is refused; nothing was changed on the table.
 */
export class TableBelongsToNoPipeError extends FatalError {
  constructor(
    readonly database: string,
    readonly table: string,
  ) {
    super(
      `table ${qualifiedTableName({ database, table })} exists and belongs to no pipe: drop it or pick another name`,
    );
  }
}

import { FatalError, TransientError } from './errors.js';

/**
 * Errors only the pipe store raises. Their names are part of the statemachines/ contract and are
 * listed in error-names.ts.
 */

/** A store call got input that breaks its rules (bad id, negative count, unserializable value). */
export class InvalidStoreInputError extends FatalError {
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super(`invalid ${field}: ${problem}`);
  }
}

/** The idempotency key was already used for a different create request. */
export class IdempotencyConflictError extends FatalError {
  constructor(
    readonly idempotencyKey: string,
    readonly existingPipeId: string,
  ) {
    super(
      `idempotency key ${idempotencyKey} was already used for a different request (pipe ${existingPipeId})`,
    );
  }
}

/** Another pipe already has this name. */
export class PipeNameTakenError extends FatalError {
  constructor(
    readonly pipeName: string,
    readonly existingPipeId: string,
  ) {
    super(`a pipe named ${pipeName} already exists (pipe ${existingPipeId})`);
  }
}

export class TableMappingNotFoundError extends FatalError {
  constructor(
    readonly pipeId: string,
    readonly tableKey: string,
  ) {
    super(`pipe ${pipeId} has no table ${tableKey}`);
  }
}

export class PartitionNotFoundError extends FatalError {
  constructor(
    readonly pipeId: string,
    readonly tableKey: string,
    readonly index: number,
  ) {
    super(`pipe ${pipeId} has no snapshot partition ${index} for table ${tableKey}`);
  }
}

/**
 * A checkpoint would move a partition backwards (an older or replayed writer), or reopen a done
 * one; or a pending batch does not follow the partition's stored progress. `refusal` says what
 * was refused and why when the default wording (a checkpoint moving backwards) would mislead.
 */
export class CheckpointRegressionError extends FatalError {
  constructor(
    readonly pipeId: string,
    readonly tableKey: string,
    readonly index: number,
    readonly storedSeq: number,
    readonly givenSeq: number,
    readonly done: boolean,
    refusal?: string,
  ) {
    const partition = `partition ${index} of ${tableKey} (pipe ${pipeId})`;
    super(
      refusal !== undefined
        ? `${partition} ${refusal}`
        : done
          ? `${partition} is already done; checkpoint seq ${givenSeq} refused`
          : `${partition} is at seq ${storedSeq}; checkpoint seq ${givenSeq} would move it backwards`,
    );
  }
}

/** An item read back from the table does not have the shape this adapter writes. */
export class CorruptStoreItemError extends FatalError {
  constructor(
    readonly itemKey: string,
    readonly problem: string,
  ) {
    super(`stored item ${itemKey} is malformed: ${problem}`);
  }
}

/** DynamoDB kept refusing part of a batch write (throttling); retrying the step later is expected to work. */
export class StoreUnavailableError extends TransientError {}

/** A pipe with this id exists and was created by a different request. */
export class PipeAlreadyExistsError extends FatalError {
  constructor(readonly pipeId: string) {
    super(`pipe ${pipeId} already exists with different settings`);
  }
}

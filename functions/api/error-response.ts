import { classifyError } from '../core/classify.js';
import {
  IllegalTransitionError,
  InvalidSettingsError,
  PipeNotFoundError,
  SettingsLockedError,
  StateConflictError,
  TableBelongsToNoPipeError,
  TableOwnedByAnotherPipeError,
  TransientError,
} from '../core/errors.js';
import { PIPE_STATES, type PipeState } from '../core/lifecycle.js';
import { redactText } from '../core/redact.js';
import {
  IdempotencyConflictError,
  InvalidStoreInputError,
  PipeAlreadyExistsError,
  PipeNameTakenError,
} from '../core/store-errors.js';
import { SecretNotOwnedError } from '../engines/register-pipe.js';
import type { ApiLogger } from './deps.js';
import { ApiError, BadRequestError, CommandRefusedError, MethodNotAllowedError } from './errors.js';
import { type ApiResponse, json } from './http.js';
import { allowedCommands } from './view.js';

function errorBody(name: string, message: string, extra: Record<string, unknown> = {}) {
  return { error: { name, message, ...extra } };
}

function asState(value: string | null): PipeState | null {
  return PIPE_STATES.find((state) => state === value) ?? null;
}

function conflict(error: Error, state: string | null): ApiResponse {
  const currentState = asState(state);
  return json(
    409,
    errorBody(error.name, error.message, {
      currentState,
      allowedCommands: currentState ? allowedCommands(currentState) : [],
    }),
  );
}

/**
 * Maps every error a route can raise to its answer. Known, named errors say what went wrong;
 * anything else is a 500 whose details go to the log only (they may hold hosts or stack traces).
 */
export function errorResponse(error: unknown, logger: ApiLogger): ApiResponse {
  if (error instanceof BadRequestError || error instanceof InvalidSettingsError) {
    return json(400, errorBody(error.name, error.message, { fieldErrors: error.fieldErrors }));
  }
  if (error instanceof SecretNotOwnedError) {
    return json(403, errorBody(error.name, error.message, { fieldErrors: error.fieldErrors }));
  }
  if (error instanceof InvalidStoreInputError) {
    const fieldErrors = [{ path: error.field, message: error.problem }];
    return json(400, errorBody(error.name, error.message, { fieldErrors }));
  }
  if (error instanceof CommandRefusedError) {
    return json(
      409,
      errorBody(error.name, error.message, {
        currentState: error.currentState,
        allowedCommands: error.allowedCommands,
      }),
    );
  }
  if (error instanceof MethodNotAllowedError) {
    return json(405, errorBody(error.name, error.message), { allow: error.allowedMethods.join(', ') });
  }
  if (error instanceof ApiError) return json(error.status, errorBody(error.name, error.message));
  if (error instanceof PipeNotFoundError) return json(404, errorBody(error.name, error.message));
  if (error instanceof IllegalTransitionError) return conflict(error, error.state);
  if (error instanceof StateConflictError) return conflict(error, error.actualState);
  if (error instanceof SettingsLockedError) return conflict(error, error.state);
  if (
    error instanceof IdempotencyConflictError ||
    error instanceof PipeNameTakenError ||
    error instanceof PipeAlreadyExistsError ||
    error instanceof TableOwnedByAnotherPipeError ||
    error instanceof TableBelongsToNoPipeError
  ) {
    return json(409, errorBody(error.name, error.message));
  }
  // Messages from drivers can quote a connection string: credentials are masked even in the log.
  logger.error('api request failed', {
    name: error instanceof Error ? error.name : typeof error,
    message: redactText(error instanceof Error ? error.message : String(error)),
    stack: error instanceof Error && error.stack ? redactText(error.stack) : undefined,
  });
  // A throttled, failing or unreachable AWS service (StoreUnavailableError and the other retried
  // names; a raw SDK or socket error an adapter let through is classified here): the caller retries.
  if (error instanceof TransientError || classifyError(error).disposition === 'retry') {
    return json(503, errorBody('ServiceUnavailable', 'the service is briefly unavailable: retry shortly'), {
      'retry-after': '1',
    });
  }
  return json(500, errorBody('InternalError', 'internal error: the request could not be completed'));
}

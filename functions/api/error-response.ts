import type { ContentfulStatusCode } from 'hono/utils/http-status';
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
import type { Log } from '../ports/log.js';
import { ApiError, BadRequestError, CommandRefusedError, MethodNotAllowedError } from './errors.js';
import type { ErrorBody, ErrorDetail } from './schemas/error-body.js';
import { allowedCommands } from './view.js';

/** An error as the API answers it; the front serializes the body as JSON. */
export interface ErrorAnswer {
  status: ContentfulStatusCode;
  body: ErrorBody;
  /** Beside content-type: Allow on a 405, Retry-After on a 503. */
  headers: Record<string, string>;
}

type ErrorExtra = Omit<ErrorDetail, 'name' | 'message'>;

function answer(
  status: ContentfulStatusCode,
  error: { name: string; message: string },
  extra: ErrorExtra = {},
  headers: Record<string, string> = {},
): ErrorAnswer {
  return { status, body: { error: { name: error.name, message: error.message, ...extra } }, headers };
}

function asState(value: string | null): PipeState | null {
  return PIPE_STATES.find((state) => state === value) ?? null;
}

function conflict(error: Error, state: string | null): ErrorAnswer {
  const currentState = asState(state);
  return answer(409, error, {
    currentState,
    allowedCommands: currentState ? allowedCommands(currentState) : [],
  });
}

/** The answer of an error the caller is told about, or null for an unexpected one. */
function knownErrorAnswer(error: unknown): ErrorAnswer | null {
  if (error instanceof BadRequestError || error instanceof InvalidSettingsError) {
    return answer(400, error, { fieldErrors: [...error.fieldErrors] });
  }
  if (error instanceof SecretNotOwnedError)
    return answer(403, error, { fieldErrors: [...error.fieldErrors] });
  if (error instanceof InvalidStoreInputError) {
    return answer(400, error, { fieldErrors: [{ path: error.field, message: error.problem }] });
  }
  if (error instanceof CommandRefusedError) {
    return answer(409, error, {
      currentState: error.currentState,
      allowedCommands: [...error.allowedCommands],
    });
  }
  if (error instanceof MethodNotAllowedError) {
    return answer(405, error, {}, { allow: error.allowedMethods.join(', ') });
  }
  if (error instanceof ApiError) return answer(error.status, error);
  if (error instanceof PipeNotFoundError) return answer(404, error);
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
    return answer(409, error);
  }
  return null;
}

/**
 * Maps every error a route can raise to its answer. Known, named errors say what went wrong;
 * anything else is a 500 whose details go to the log only (they may hold hosts or stack traces).
 */
export function errorResponse(error: unknown, log: Log): ErrorAnswer {
  const known = knownErrorAnswer(error);
  if (known) return known;
  // Messages from drivers can quote a connection string: credentials are masked even in the log.
  log.error('api request failed', {
    name: error instanceof Error ? error.name : typeof error,
    message: redactText(error instanceof Error ? error.message : String(error)),
    stack: error instanceof Error && error.stack ? redactText(error.stack) : undefined,
  });
  // A throttled, failing or unreachable AWS service (StoreUnavailableError and the other retried
  // names; a raw SDK or socket error an adapter let through is classified here): the caller retries.
  if (error instanceof TransientError || classifyError(error).disposition === 'retry') {
    const unavailable = {
      name: 'ServiceUnavailable',
      message: 'the service is briefly unavailable: retry shortly',
    };
    return answer(503, unavailable, {}, { 'retry-after': '1' });
  }
  return answer(500, {
    name: 'InternalError',
    message: 'internal error: the request could not be completed',
  });
}

import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { FieldError } from '../core/errors.js';
import type { PipeState } from '../core/lifecycle.js';
import type { ApiCommand } from './schemas/pipe-view.js';

/**
 * HTTP-level refusals that have no meaning outside the API (a route that does not exist, a body
 * that is not JSON, a command the pipe's state refuses). They are answered by the app and
 * never reach a state machine, so they are not part of the ERROR_NAMES contract.
 */
export abstract class ApiError extends Error {
  abstract readonly status: ContentfulStatusCode;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The body or query broke a rule; each broken rule is listed with the path of its field. */
export class BadRequestError extends ApiError {
  readonly status = 400;
  constructor(readonly fieldErrors: readonly FieldError[]) {
    super(
      `invalid request: ${fieldErrors.map((error) => `${error.path || '(body)'}: ${error.message}`).join('; ')}`,
    );
  }
}

export class RouteNotFoundError extends ApiError {
  readonly status = 404;
  constructor(path: string) {
    super(`no such resource: ${path}`);
  }
}

export class MethodNotAllowedError extends ApiError {
  readonly status = 405;
  constructor(
    method: string,
    readonly allowedMethods: readonly string[],
  ) {
    super(`method ${method} is not allowed here; allowed: ${allowedMethods.join(', ')}`);
  }
}

export class PayloadTooLargeError extends ApiError {
  readonly status = 413;
  constructor(maxBytes: number) {
    super(`the body must be at most ${maxBytes} bytes`);
  }
}

export class UnsupportedMediaTypeError extends ApiError {
  readonly status = 415;
  constructor(contentType: string) {
    super(`request bodies must be application/json, not ${contentType}`);
  }
}

/**
 * A command the pipe's current state does not accept (including every command during a
 * transitional state: refused, never queued). Carries what the caller needs to retry sensibly.
 */
export class CommandRefusedError extends ApiError {
  readonly status = 409;
  constructor(
    readonly command: string,
    readonly currentState: PipeState,
    readonly allowedCommands: readonly ApiCommand[],
    reason?: string,
  ) {
    super(
      reason ??
        `cannot ${command} a pipe in state ${currentState}; allowed now: ${
          allowedCommands.length > 0 ? allowedCommands.join(', ') : 'nothing'
        }`,
    );
  }
}

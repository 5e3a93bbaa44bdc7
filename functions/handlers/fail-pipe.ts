import { ERROR_NAMES } from '../core/error-names.js';
import { IllegalTransitionError, PipeNotFoundError } from '../core/errors.js';
import type { PipeState } from '../core/lifecycle.js';
import { sanitizeMessage } from '../core/redact.js';
import { parseSettings } from '../core/settings.js';
import type { Runtime } from './runtime.js';

export interface Failure {
  name: string;
  message: string;
}

/**
 * What a Catch hands over (`{Error, Cause}`) as the user should read it. The Cause is a Lambda
 * error's JSON (`errorType`, `errorMessage`), a child execution's description (its own `Error`
 * and `Cause`), or plain text (the local runner, States.* errors).
 */
export function describeFailure(error: { Error?: string; Cause?: unknown }): Failure {
  const failure = unwrapFailure(error, 0);
  return { name: failure.name, message: sanitizeMessage(failure.message) };
}

function unwrapFailure(error: { Error?: string; Cause?: unknown }, depth: number): Failure {
  const name = error.Error ?? 'FatalError';
  const cause = error.Cause;
  if (typeof cause !== 'string') return { name, message: cause === undefined ? name : JSON.stringify(cause) };
  let parsed: unknown;
  try {
    parsed = JSON.parse(cause);
  } catch {
    return { name, message: cause };
  }
  if (parsed !== null && typeof parsed === 'object') {
    const record = parsed as Record<string, unknown>;
    if (typeof record.errorMessage === 'string')
      return {
        name: typeof record.errorType === 'string' ? record.errorType : name,
        message: record.errorMessage,
      };
    if (typeof record.Error === 'string' && depth < 3)
      return unwrapFailure({ Error: record.Error, Cause: record.Cause }, depth + 1);
  }
  return { name, message: cause };
}

export interface FailResult {
  state: PipeState | null;
  autoResync: boolean;
}

/**
 * Records the error and moves the pipe to Failed. Already Failed is fine (the first reason is
 * kept in the history); a deleted pipe is fine too. The CDC schedule is disabled. After a lost
 * change stream history, a pipe with autoResyncOnHistoryLoss starts its resync machine.
 */
export async function failPipe(
  runtime: Runtime,
  pipeId: string,
  raw: Failure,
  actor: string,
): Promise<FailResult> {
  const { store } = runtime;
  const failure = { name: raw.name, message: sanitizeMessage(raw.message) };
  let state: PipeState | null;
  try {
    await store.recordError(pipeId, failure);
    state = (await store.applyEvent(pipeId, 'fail', { actor, reason: `${failure.name}: ${failure.message}` }))
      .state;
  } catch (error) {
    if (error instanceof PipeNotFoundError) return { state: null, autoResync: false };
    if (!(error instanceof IllegalTransitionError)) throw error;
    state = 'Failed';
  }
  // CDC skips a pipe that is not Running anyway; disabling also stops the idle invocations.
  await runtime.scheduler.disable(pipeId);
  const pipe = await store.getPipe(pipeId);
  const settings = parseSettings(pipe.settings, ['settings']);
  const autoResync =
    ERROR_NAMES[failure.name] === 'history-lost' &&
    settings.autoResyncOnHistoryLoss &&
    runtime.starter !== undefined;
  if (autoResync && runtime.starter) {
    await runtime.starter.start('resync', {
      pipeId,
      expectedState: 'Failed',
      requestedBy: 'auto-resync',
      requestId: `auto-resync-${pipeId}-${pipe.version}`,
    });
  }
  return { state, autoResync };
}

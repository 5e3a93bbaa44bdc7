import { z } from 'zod';
import { StateConflictError } from '../../core/errors.js';
import { PIPE_EVENTS, PIPE_STATES, type PipeEvent } from '../../core/lifecycle.js';
import type { PipeSettings } from '../../core/settings.js';
import type { PipeRecord } from '../../ports/pipe-store.js';
import type { Runtime } from '../runtime.js';

/** Every Task input carries the execution's pipe and who asked; extra fields are ignored. */
export const pipeInput = z.object({
  pipeId: z.string().min(1),
  requestedBy: z.string().min(1).default('state-machine'),
  requestId: z.string().min(1).optional(),
});

export const pipeEvent = z.enum(PIPE_EVENTS);
export const pipeState = z.enum(PIPE_STATES);
export const tableKeys = z.array(
  z.string().regex(/^[^.]+\..+$/, { error: 'must be <database>.<collection>' }),
);

export interface TransitionOptions {
  expectedState?: PipeRecord['state'];
  actor: string;
  reason: string;
  /** The operation's request id: kept on the history entry so a retried Task recognises its own write. */
  requestId?: string;
}

/**
 * Moves the pipe by an event with a conditional write. When the write fails because the state
 * moved, and the move was this very request's (its Lambda call timed out after the write and the
 * Task was retried), the step counts as done instead of failing the pipe or refusing the command.
 */
export async function transitionPipe(
  runtime: Runtime,
  pipeId: string,
  event: PipeEvent,
  options: TransitionOptions,
): Promise<{ state: PipeRecord['state'] }> {
  try {
    const next = await runtime.store.applyEvent(pipeId, event, {
      reason: options.reason,
      actor: options.actor,
      ...(options.expectedState ? { expectedState: options.expectedState } : {}),
      ...(options.requestId ? { requestId: options.requestId } : {}),
    });
    return { state: next.state };
  } catch (error) {
    if (!(error instanceof StateConflictError) || !options.requestId) throw error;
    const [last] = (await runtime.store.listHistory(pipeId, { limit: 1 })).items;
    const ours =
      last?.event === event && last.from === options.expectedState && last.requestId === options.requestId;
    if (!ours) throw error;
    return { state: last.to };
  }
}

/** Snapshot-only pipes finish in Completed; the others go on with CDC. */
export function isSnapshotOnly(settings: PipeSettings): boolean {
  return settings.replicationMode === 'snapshot';
}

import { z } from 'zod';
import { defineTask } from '../task.js';
import { pipeEvent, pipeInput, pipeState, transitionPipe } from './common.js';

const input = pipeInput.extend({
  event: pipeEvent,
  /** What the caller saw; absent or null: the state read now, so the write is still conditional. */
  expectedState: pipeState.nullable().optional(),
  reason: z.string().max(500).optional(),
});

/**
 * Applies one lifecycle event with a conditional write. As an operation's first Task it is the
 * command itself: a StateConflictError or IllegalTransitionError means another command won.
 */
export const applyEventTask = defineTask('ApplyEvent', input, async (runtime, command) => {
  const previousState = command.expectedState ?? (await runtime.store.getPipe(command.pipeId)).state;
  const { state } = await transitionPipe(runtime, command.pipeId, command.event, {
    expectedState: previousState,
    actor: command.requestedBy,
    requestId: command.requestId,
    reason: command.reason ?? `${command.event} (state machine)`,
  });
  return { state, previousState };
});

export const handler = applyEventTask.handler;

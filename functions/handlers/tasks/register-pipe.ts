import { z } from 'zod';
import { registerPipe } from '../../engines/register-pipe.js';
import { defineTask } from '../task.js';

/**
 * The create machine started with a create request (the body of `POST /pipes`) instead of a
 * stored pipe: the AWS console's "Start execution". Validated by the same core parser and the
 * same deployment rules as the API (an InvalidSettingsError listing every field error, before
 * anything is stored), stored idempotently under the execution's name (starting the same name
 * twice registers one pipe), and handed on as the input the API would have started the machine
 * with.
 */
const input = z.object({
  /** The execution's input as the console sent it. */
  request: z.unknown(),
  /** `$$.Execution.Name`: plays the part of the API's Idempotency-Key. */
  executionName: z.string().min(1),
  /** `$$.Execution.Id`: this execution's own moves are recognised by it when a Task is retried. */
  executionId: z.string().min(1),
});

export const registerPipeTask = defineTask('RegisterPipe', input, async (runtime, command) => {
  const requestedBy = `step-functions execution ${command.executionName}`;
  const { pipe } = await registerPipe(runtime.store, {
    request: command.request,
    rules: runtime.createRules ?? { allowPlainSecrets: false, defaultDestination: null },
    idempotencyKey: `execution:${command.executionName}`,
    actor: requestedBy,
    // Who started the execution is not known here: the right to start it is the check.
    caller: null,
    reason: `created by the create machine's execution ${command.executionName}`,
  });
  return {
    pipeId: pipe.id,
    expectedState: 'Provisioning',
    requestedBy,
    requestId: `create-${command.executionId}`,
  };
});

export const handler = registerPipeTask.handler;

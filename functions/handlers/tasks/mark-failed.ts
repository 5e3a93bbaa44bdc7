import { z } from 'zod';
import { describeFailure, failPipe } from '../fail-pipe.js';
import { defineTask } from '../task.js';
import { pipeInput } from './common.js';

const input = pipeInput.extend({
  error: z.object({ Error: z.string().optional(), Cause: z.unknown().optional() }),
});

/** Every machine's Catch ends here: the pipe goes to Failed with the error as its lastError. */
export const markFailedTask = defineTask('MarkFailed', input, async (runtime, command) => {
  const failure = describeFailure(command.error);
  const result = await failPipe(runtime, command.pipeId, failure, command.requestedBy);
  return { ...result, error: failure };
});

export const handler = markFailedTask.handler;

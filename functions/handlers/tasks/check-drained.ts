import { z } from 'zod';
import { CDC_LEASE } from '../../ports/pipe-store.js';
import { defineTask } from '../task.js';
import { pipeInput } from './common.js';

const input = pipeInput.extend({ polls: z.number().int().min(0).default(0) });

/**
 * Whether a CDC batch still holds the pipe's lease. A batch releases it when it ends and a
 * crashed one lets it expire, so the machine's bounded poll always ends.
 */
export const checkDrainedTask = defineTask('CheckDrained', input, async (runtime, command) => {
  const lease = await runtime.store.getLease(command.pipeId, CDC_LEASE);
  const drained = lease === null || lease.expiresAt <= runtime.clock.now();
  return { drained, polls: command.polls + 1 };
});

export const handler = checkDrainedTask.handler;

import { z } from 'zod';
import { defineTask } from '../task.js';
import { pipeInput } from './common.js';

const input = pipeInput.extend({ action: z.enum(['enable', 'disable', 'remove']) });

/**
 * The pipe's CDC schedule. `enable` only enables it while the pipe is Running, so the machines
 * can end every path with it (a snapshot-only pipe that ended Completed keeps it disabled).
 */
export const setScheduleTask = defineTask('SetSchedule', input, async (runtime, command) => {
  if (command.action === 'remove') {
    await runtime.scheduler.disable(command.pipeId);
    await runtime.scheduler.remove(command.pipeId);
    return { schedule: 'removed' };
  }
  if (command.action === 'disable') {
    await runtime.scheduler.disable(command.pipeId);
    return { schedule: 'disabled' };
  }
  const pipe = await runtime.store.getPipe(command.pipeId);
  if (pipe.state !== 'Running') return { schedule: 'unchanged', state: pipe.state };
  await runtime.scheduler.enable(command.pipeId);
  return { schedule: 'enabled', state: pipe.state };
});

export const handler = setScheduleTask.handler;

import { z } from 'zod';
import { cdcRunsIn } from '../../core/cdc-mode.js';
import { CDC_LEASE } from '../../ports/pipe-store.js';
import { loadPipe } from '../pipe-runtime.js';
import { defineTask } from '../task.js';
import { isSnapshotOnly, pipeInput } from './common.js';

const input = pipeInput.extend({ action: z.enum(['enable', 'disable', 'remove']) });

/**
 * The pipe's CDC schedule. `enable` only enables it while CDC runs in the pipe's state (Snapshot,
 * Resync, Modifying, Running) and the pipe is not snapshot-only, so the machines can end every
 * path with it; it writes the current syncIntervalSeconds (a settings change while Paused) and
 * starts a run at once instead of waiting for the first tick. `remove` also revokes the CDC lease,
 * so a run in progress ends at its next write instead of at its budget.
 */
export const setScheduleTask = defineTask('SetSchedule', input, async (runtime, command) => {
  if (command.action === 'remove') {
    await runtime.scheduler.disable(command.pipeId);
    await runtime.scheduler.remove(command.pipeId);
    await runtime.store.revokeLease(command.pipeId, CDC_LEASE, 'the pipe is being deleted');
    return { schedule: 'removed' };
  }
  if (command.action === 'disable') {
    await runtime.scheduler.disable(command.pipeId);
    return { schedule: 'disabled' };
  }
  const { pipe, settings } = await loadPipe(runtime, command.pipeId);
  if (!cdcRunsIn(pipe.state) || isSnapshotOnly(settings)) return { schedule: 'unchanged', state: pipe.state };
  await runtime.scheduler.ensure(command.pipeId, settings.syncIntervalSeconds);
  await runtime.scheduler.enable(command.pipeId);
  await runtime.cdcTrigger?.runSoon(command.pipeId, 'restart');
  return { schedule: 'enabled', state: pipe.state };
});

export const handler = setScheduleTask.handler;

import { z } from 'zod';
import { finishResync } from '../../engines/resync.js';
import { loadPipe, withConnections } from '../pipe-runtime.js';
import { defineTask } from '../task.js';
import { isSnapshotOnly, pipeInput, tableKeys, transitionPipe } from './common.js';

const input = pipeInput.extend({ prepared: z.object({ tables: tableKeys }) });

/**
 * Resync → Running (or Completed): each loaded `<table>_resync` swapped in, CDC restarted on the
 * live tables alone, then the old rows dropped. CDC kept running through the whole resync, so the
 * resume point does not move.
 */
export const swapTablesTask = defineTask('SwapTables', input, async (runtime, command) => {
  const loaded = await loadPipe(runtime, command.pipeId);
  const { store } = runtime;
  const snapshotOnly = isSnapshotOnly(loaded.settings);
  await withConnections(runtime, loaded, async ({ destination }) => {
    const deps = { store, destination, ...(runtime.cdcTrigger ? { trigger: runtime.cdcTrigger } : {}) };
    await finishResync(deps, {
      pipeId: command.pipeId,
      tableKeys: command.prepared.tables,
      startCdc: !snapshotOnly,
    });
  });
  await store.clearError(command.pipeId);
  return transitionPipe(runtime, command.pipeId, snapshotOnly ? 'swapDoneSnapshotOnly' : 'swapDone', {
    expectedState: 'Resync',
    actor: command.requestedBy,
    requestId: command.requestId,
    reason: 'resync tables swapped in',
  });
});

export const handler = swapTablesTask.handler;

import { z } from 'zod';
import { moveResumePointToStart, swapResyncTable } from '../../engines/resync.js';
import { defineTask } from '../task.js';
import { applyEvent, isSnapshotOnly, loadPipe, pipeInput, withConnections } from './common.js';

const input = pipeInput.extend({ prepared: z.object({ scope: z.enum(['pipe', 'tables']) }) });

/**
 * Resync → Running (or Completed): each loaded `<table>_resync` swapped in, and for a
 * whole-pipe resync the resume point moved to the resync's start point.
 */
export const swapTablesTask = defineTask('SwapTables', input, async (runtime, command) => {
  const loaded = await loadPipe(runtime, command.pipeId);
  const { store } = runtime;
  await withConnections(runtime, loaded, async ({ destination }) => {
    for (const mapping of await store.listTableMappings(command.pipeId)) {
      if (mapping.state === 'Resync')
        await swapResyncTable({ store, destination }, { pipeId: command.pipeId, tableKey: mapping.tableKey });
    }
  });
  if (command.prepared.scope === 'pipe') await moveResumePointToStart(store, command.pipeId);
  await store.clearError(command.pipeId);
  const snapshotOnly = isSnapshotOnly(loaded.settings);
  return applyEvent(runtime, command.pipeId, snapshotOnly ? 'swapDoneSnapshotOnly' : 'swapDone', {
    expectedState: 'Resync',
    actor: command.requestedBy,
    requestId: command.requestId,
    reason: 'resync tables swapped in',
  });
});

export const handler = swapTablesTask.handler;

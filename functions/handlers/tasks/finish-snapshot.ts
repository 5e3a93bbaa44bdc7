import { loadPipe } from '../pipe-runtime.js';
import { defineTask } from '../task.js';
import { isSnapshotOnly, pipeInput, transitionPipe } from './common.js';

/** Snapshot → Running (or Completed): every loaded table starts replicating. */
export const finishSnapshotTask = defineTask('FinishSnapshot', pipeInput, async (runtime, input) => {
  const { settings } = await loadPipe(runtime, input.pipeId);
  for (const mapping of await runtime.store.listTableMappings(input.pipeId)) {
    if (mapping.state === 'Snapshot')
      await runtime.store.setTableState(input.pipeId, mapping.tableKey, { state: 'Replicating' });
  }
  const snapshotOnly = isSnapshotOnly(settings);
  return transitionPipe(runtime, input.pipeId, snapshotOnly ? 'snapshotDoneSnapshotOnly' : 'snapshotDone', {
    expectedState: 'Snapshot',
    actor: input.requestedBy,
    requestId: input.requestId,
    reason: snapshotOnly ? 'snapshot loaded' : 'snapshot loaded, CDC goes on',
  });
});

export const handler = finishSnapshotTask.handler;

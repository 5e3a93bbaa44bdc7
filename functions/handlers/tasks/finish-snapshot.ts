import { defineTask } from '../task.js';
import { applyEvent, isSnapshotOnly, loadPipe, pipeInput } from './common.js';

/** Snapshot → Running (or Completed): every loaded table starts replicating. */
export const finishSnapshotTask = defineTask('FinishSnapshot', pipeInput, async (runtime, input) => {
  const { settings } = await loadPipe(runtime, input.pipeId);
  for (const mapping of await runtime.store.listTableMappings(input.pipeId)) {
    if (mapping.state === 'Snapshot')
      await runtime.store.setTableState(input.pipeId, mapping.tableKey, { state: 'Replicating' });
  }
  const snapshotOnly = isSnapshotOnly(settings);
  return applyEvent(runtime, input.pipeId, snapshotOnly ? 'snapshotDoneSnapshotOnly' : 'snapshotDone', {
    expectedState: 'Snapshot',
    actor: input.requestedBy,
    requestId: input.requestId,
    reason: snapshotOnly ? 'snapshot loaded' : 'snapshot loaded, CDC goes on',
  });
});

export const handler = finishSnapshotTask.handler;

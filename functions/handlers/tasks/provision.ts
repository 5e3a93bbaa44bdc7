import { loadPipe, withConnections } from '../pipe-runtime.js';
import { defineTask } from '../task.js';
import { pipeInput, transitionPipe } from './common.js';

/**
 * Provisioning → Setup. The pipe record exists already (the API wrote it); this checks the
 * source can serve the pipe and creates its CDC schedule, disabled until the pipe runs.
 */
export const provisionTask = defineTask('Provision', pipeInput, async (runtime, input) => {
  const loaded = await loadPipe(runtime, input.pipeId);
  await withConnections(runtime, loaded, (connections) => connections.checkSource());
  await runtime.scheduler.ensure(input.pipeId, loaded.settings.syncIntervalSeconds);
  return transitionPipe(runtime, input.pipeId, 'provisioned', {
    expectedState: 'Provisioning',
    actor: input.requestedBy,
    requestId: input.requestId,
    reason: 'source checked, CDC schedule created (disabled)',
  });
});

export const handler = provisionTask.handler;

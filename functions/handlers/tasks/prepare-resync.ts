import { prepareResyncTable } from '../../engines/resync.js';
import { defineTask } from '../task.js';
import { loadPipe, pipeInput, tableKeys, withConnections } from './common.js';

const input = pipeInput.extend({ tables: tableKeys.optional() });

/**
 * A resync's load target: a new start point (whole-pipe resync only: CDC will resume there once
 * the tables are swapped), then an empty `<table>_resync` per table and its old plan forgotten.
 * A table resync keeps the pipe's resume point: replaying from it is correct for every table.
 */
export const prepareResyncTask = defineTask('PrepareResync', input, async (runtime, command) => {
  const loaded = await loadPipe(runtime, command.pipeId);
  const { store } = runtime;
  const scope = command.tables ? 'tables' : 'pipe';
  const keys =
    command.tables ??
    (await store.listTableMappings(command.pipeId))
      .filter((mapping) => mapping.state !== 'Removed' && mapping.state !== 'Pending')
      .map((mapping) => mapping.tableKey);
  await withConnections(runtime, loaded, async ({ changeSource, destination }) => {
    if (scope === 'pipe' && changeSource)
      await store.recordStartPoint(command.pipeId, await changeSource.captureStartPoint());
    for (const tableKey of keys)
      await prepareResyncTable({ store, destination }, { pipeId: command.pipeId, tableKey });
  });
  return { scope, tables: keys };
});

export const handler = prepareResyncTask.handler;

import { loadPipe } from '../pipe-runtime.js';
import { defineTask } from '../task.js';
import { pipeInput, tableKeys } from './common.js';

const input = pipeInput.extend({ tables: tableKeys.optional() });

/**
 * The snapshot flow's first step: which tables to load and how wide. The Map states read their
 * MaxConcurrency from this output (snapshotNumberOfParallelTables, initialLoadParallelism).
 */
export const planSnapshotTask = defineTask('PlanSnapshot', input, async (runtime, command) => {
  const { settings } = await loadPipe(runtime, command.pipeId);
  const keys =
    command.tables ??
    (await runtime.store.listTableMappings(command.pipeId))
      .filter((mapping) => mapping.state === 'Snapshot' || mapping.state === 'Resync')
      .map((mapping) => mapping.tableKey);
  return {
    pipeId: command.pipeId,
    maxTables: settings.snapshotNumberOfParallelTables,
    tables: keys.map((tableKey) => ({
      pipeId: command.pipeId,
      tableKey,
      parallelism: settings.initialLoadParallelism,
    })),
  };
});

export const handler = planSnapshotTask.handler;

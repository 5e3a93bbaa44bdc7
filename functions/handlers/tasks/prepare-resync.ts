import { z } from 'zod';
import type { PipeState } from '../../core/lifecycle.js';
import { tableShapePatchSchema } from '../../core/settings-change-shape.js';
import { prepareResyncTables, resetResumePoint } from '../../engines/resync.js';
import { applyShapeChanges } from '../../engines/shape-change.js';
import { loadPipe, withConnections } from '../pipe-runtime.js';
import { defineTask } from '../task.js';
import { isSnapshotOnly, pipeInput, tableKeys } from './common.js';

const input = pipeInput.extend({
  tables: tableKeys.optional(),
  /** A shape change's new shapes (PATCH tableMappingsToChange): applied before the `_resync` tables are made. */
  tableShapes: z.array(tableShapePatchSchema).optional(),
});

/** A pipe resynced from these states may have lost its resume point, or its tables are stale anyway. */
const RESET_FROM: readonly PipeState[] = ['Failed', 'Paused'];

/**
 * A resync's load target: an empty `<table>_resync` per table, the tables in Resync (CDC writes
 * to both tables from now on) and CDC restarted. A whole-pipe resync of a Failed or Paused pipe
 * also records a new start point and moves the resume point there: its old one may be gone from
 * the oplog. Otherwise the resume point stays; replaying from it is correct for every table.
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
  const reset = scope === 'pipe' && RESET_FROM.includes(await stateBeforeResync(runtime, command.pipeId));
  const cdc = !isSnapshotOnly(loaded.settings);
  await withConnections(runtime, loaded, async ({ changeSource, destination }) => {
    const deps = { store, destination, ...(runtime.cdcTrigger ? { trigger: runtime.cdcTrigger } : {}) };
    if (command.tableShapes)
      await applyShapeChanges(deps, { pipeId: command.pipeId, shapes: command.tableShapes });
    await prepareResyncTables(deps, { pipeId: command.pipeId, tableKeys: keys, startCdc: cdc && !reset });
    if (!reset || !changeSource) return;
    const start = await store.recordStartPoint(command.pipeId, await changeSource.captureStartPoint());
    if (await resetResumePoint(store, command.pipeId, start))
      await runtime.cdcTrigger?.runSoon(command.pipeId, 'restart');
  });
  return { scope, tables: keys, resumePointReset: reset };
});

/** The state the resync command moved the pipe from (its latest history entry); unknown counts as Failed. */
async function stateBeforeResync(
  runtime: Parameters<typeof loadPipe>[0],
  pipeId: string,
): Promise<PipeState> {
  const [latest] = (await runtime.store.listHistory(pipeId, { limit: 1 })).items;
  return latest?.event === 'resync' && latest.from ? latest.from : 'Failed';
}

export const handler = prepareResyncTask.handler;

import { z } from 'zod';
import { restartCdc } from '../../engines/resync.js';
import { loadTable, targetDatabaseOf } from '../../engines/table-context.js';
import { requireOwnedTables } from '../../engines/table-ownership.js';
import type { TableMappingRecord } from '../../ports/pipe-store.js';
import { loadPipe, withConnections } from '../pipe-runtime.js';
import { defineTask } from '../task.js';
import { pipeInput, pipeState, tableKeys, transitionPipe } from './common.js';

const input = pipeInput.extend({
  tables: tableKeys.min(1),
  dropTables: z.boolean().default(false),
  /** The first Task's output: the state to go back to. */
  command: z.object({ previousState: pipeState }),
});

/**
 * Modifying → back where the pipe was: tables Removed, CDC restarted without them, and only then
 * their ClickHouse tables dropped (when asked), so no run is still inserting into them. A table
 * is dropped only if the pipe owns it (TableOwnedByAnotherPipeError before anything changes
 * otherwise), and its claim is released once it is gone. A table removed without dropTables
 * stays the pipe's (claimed) until the pipe is deleted: its rows are the user's data, no other
 * pipe may write into them, and the pipe may add the table back.
 */
export const removeTablesTask = defineTask('RemoveTables', input, async (runtime, command) => {
  const loaded = await loadPipe(runtime, command.pipeId);
  const { store } = runtime;
  const mappings: TableMappingRecord[] = [];
  for (const tableKey of command.tables) mappings.push(await loadTable(store, command.pipeId, tableKey));
  const refs = command.dropTables
    ? mappings.map((mapping) => ({
        database: targetDatabaseOf(loaded, mapping),
        table: mapping.targetTable,
      }))
    : [];
  // Only the pipe's own tables are dropped: checked for all before anything changes.
  await requireOwnedTables(store, command.pipeId, refs);
  for (const mapping of mappings)
    await store.setTableState(command.pipeId, mapping.tableKey, { state: 'Removed' });
  const toPaused = command.command.previousState === 'Paused';
  await restartCdc(
    { store, ...(runtime.cdcTrigger ? { trigger: runtime.cdcTrigger } : {}) },
    command.pipeId,
    'tables removed',
    !toPaused,
  );
  if (command.dropTables) {
    await withConnections(runtime, loaded, async ({ destination }) => {
      for (const ref of refs) {
        await destination.dropTable(ref);
        // The claim goes with the table, never before it: a crash in between re-runs the drop.
        await store.releaseTableClaim(command.pipeId, ref);
      }
    });
  }
  return transitionPipe(
    runtime,
    command.pipeId,
    toPaused ? 'tablesRemovedToPaused' : 'tablesRemovedToRunning',
    {
      expectedState: 'Modifying',
      actor: command.requestedBy,
      requestId: command.requestId,
      reason: `removed ${command.tables.join(', ')}${command.dropTables ? ' (ClickHouse tables dropped)' : ''}`,
    },
  );
});

export const handler = removeTablesTask.handler;

import { FatalError } from '../../core/errors.js';
import { tableKeyOf } from '../../core/table-key.js';
import { tableOptionsFor } from '../../core/table-schema.js';
import { restartCdc } from '../../engines/resync.js';
import { targetDatabaseOf } from '../../engines/table-context.js';
import { claimNewTables } from '../../engines/table-ownership.js';
import { loadPipe, withConnections } from '../pipe-runtime.js';
import { defineTask } from '../task.js';
import { pipeInput, tableKeys } from './common.js';

const input = pipeInput.extend({ tables: tableKeys.min(1) });

/** A table to add must already be in the pipe's settings (the API's settings change puts it there). */
export class TableNotInSettingsError extends FatalError {}

/**
 * Setup for the new tables only: their ClickHouse tables (claimed for the pipe first, as in
 * SetUpDestination; a table it removed earlier without dropping is still its own) and mappings,
 * in Snapshot; then CDC restarts, so it writes their events from the last committed resume point
 * on while their snapshot (which comes after) runs, and every other table keeps flowing.
 */
export const addTablesTask = defineTask('AddTables', input, async (runtime, command) => {
  const loaded = await loadPipe(runtime, command.pipeId);
  const { pipe, settings } = loaded;
  const mappings = command.tables.map((tableKey) => {
    const mapping = settings.tableMappings.find((entry) => tableKeyOf(entry) === tableKey);
    if (!mapping)
      throw new TableNotInSettingsError(`pipe ${pipe.id}: ${tableKey} is not in its tableMappings`);
    return { tableKey, mapping, database: targetDatabaseOf(loaded, mapping) };
  });
  await withConnections(runtime, loaded, async ({ destination }) => {
    await claimNewTables(
      { store: runtime.store, destination },
      pipe.id,
      mappings.map(({ mapping, database }) => ({ database, table: mapping.targetTable })),
    );
    for (const { mapping, database } of mappings) {
      await destination.ensureDatabase(database);
      await destination.createTable(
        { database, table: mapping.targetTable },
        tableOptionsFor(loaded.tableOptions, mapping),
      );
      // A table removed earlier and added again loads from scratch, not from its old plan.
      await runtime.store.deletePartitionPlan(pipe.id, tableKeyOf(mapping));
      await runtime.store.putTableMapping(pipe.id, mapping, 'Snapshot');
    }
  });
  await restartCdc(
    { store: runtime.store, ...(runtime.cdcTrigger ? { trigger: runtime.cdcTrigger } : {}) },
    pipe.id,
    'tables added',
    true,
  );
  return { tables: mappings.map((entry) => entry.tableKey) };
});

export const handler = addTablesTask.handler;

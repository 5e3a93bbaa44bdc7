import { tableKeyOf } from '../../core/table-key.js';
import { tableOptionsFor } from '../../core/table-schema.js';
import { targetDatabaseOf } from '../../engines/table-context.js';
import { claimNewTables } from '../../engines/table-ownership.js';
import { loadPipe, withConnections } from '../pipe-runtime.js';
import { defineTask } from '../task.js';
import { pipeInput, transitionPipe } from './common.js';

/**
 * Setup → Snapshot (or Running for cdc_only): ClickHouse database and tables (each claimed for
 * the pipe first: engines/table-ownership.ts), the table mappings, and the CDC start point,
 * recorded before the snapshot reads anything.
 */
export const setUpDestinationTask = defineTask('SetUpDestination', pipeInput, async (runtime, input) => {
  const loaded = await loadPipe(runtime, input.pipeId);
  const { pipe, settings } = loaded;
  const { store } = runtime;
  const cdcOnly = settings.replicationMode === 'cdc_only';
  const tables = await withConnections(runtime, loaded, async ({ destination, changeSource }) => {
    const existing = new Set((await store.listTableMappings(pipe.id)).map((mapping) => mapping.tableKey));
    const targets = settings.tableMappings.map((mapping) => {
      const ref = { database: targetDatabaseOf(loaded, mapping), table: mapping.targetTable };
      return { mapping, tableKey: tableKeyOf(mapping), ref };
    });
    // Each table is claimed for this pipe before it is created (refused when another pipe owns
    // it or it exists without an owner); a re-run passes on its own claims.
    await claimNewTables(
      { store, destination },
      pipe.id,
      targets.map((target) => target.ref),
    );
    const keys: string[] = [];
    for (const { mapping, tableKey, ref } of targets) {
      await destination.ensureDatabase(ref.database);
      await destination.createTable(ref, tableOptionsFor(loaded.tableOptions, mapping));
      if (!existing.has(tableKey)) await store.putTableMapping(pipe.id, mapping, 'Pending');
      keys.push(tableKey);
    }
    if (changeSource && !(await store.getStartPoint(pipe.id)))
      await store.recordStartPoint(pipe.id, await changeSource.captureStartPoint());
    return keys;
  });
  for (const tableKey of tables)
    await store.setTableState(pipe.id, tableKey, { state: cdcOnly ? 'Replicating' : 'Snapshot' });
  const moved = await transitionPipe(
    runtime,
    pipe.id,
    cdcOnly ? 'destinationReadyCdcOnly' : 'destinationReady',
    {
      expectedState: 'Setup',
      actor: input.requestedBy,
      requestId: input.requestId,
      reason: 'destination tables created, start point recorded',
    },
  );
  return { state: moved.state, tables: cdcOnly ? [] : tables };
});

export const handler = setUpDestinationTask.handler;

import { applyTableShapeChanges, type TableShapePatch } from '../core/settings-change-shape.js';
import { tableKeyOf } from '../core/table-key.js';
import { tableOptionsFor } from '../core/table-schema.js';
import type { Destination } from '../ports/destination.js';
import type { PipeStore } from '../ports/pipe-store.js';
import { contextOfPipe, loadTable, tableRefOf } from './table-context.js';

export interface ShapeChangeDeps {
  store: Pick<PipeStore, 'getPipe' | 'getTableMapping' | 'updateSettings'>;
  destination: Pick<Destination, 'addColumns'>;
}

/**
 * The first step of a shape change's resync, before prepareResyncTables (docs/settings.md,
 * "Changing a table's shape"): each reshaped live table gets the typed columns of its new shape
 * that it lacks, and only then do the settings take the new shapes. A CDC run reads the settings
 * when it begins and names the shape's columns in its inserts, to the live table too until the
 * swap, so a run that read the new shape must find those columns there. prepareResyncTables then
 * creates each `_resync` table from the stored shape. Safe to repeat: a shape already stored is no
 * change, and the columns are added only if missing. Returns the tables reshaped by this call.
 */
export async function applyShapeChanges(
  deps: ShapeChangeDeps,
  input: { pipeId: string; shapes: readonly TableShapePatch[] },
): Promise<string[]> {
  const pipe = await deps.store.getPipe(input.pipeId);
  const context = contextOfPipe(pipe);
  const change = applyTableShapeChanges(context.settings, input.shapes);
  for (const tableKey of change.reshaped) {
    const record = await loadTable(deps.store, input.pipeId, tableKey);
    const mapping = change.settings.tableMappings.find((entry) => tableKeyOf(entry) === tableKey);
    if (mapping === undefined) continue;
    const { columns = [] } = tableOptionsFor(context.tableOptions, mapping);
    await deps.destination.addColumns(tableRefOf(context, record), columns);
  }
  if (change.reshaped.length + change.mismatchOnly.length > 0) {
    await deps.store.updateSettings(pipe.id, change.settings, { state: pipe.state, version: pipe.version });
  }
  return change.reshaped;
}

import { parseDestinationRecord } from '../../core/destination-record.js';
import { type FieldError, InvalidSettingsError } from '../../core/errors.js';
import { friendlyIssueMessage, toFieldErrors } from '../../core/field-errors.js';
import { parseSettings, type TableMapping, tableMappingsSchema } from '../../core/settings.js';
import { tableKeyOf } from '../../core/table-key.js';
import { refuseTablesOwnedElsewhere } from '../../engines/table-ownership.js';
import type { PipeRecord, TableMappingRecord } from '../../ports/pipe-store.js';
import type { ApiDeps, RequestContext } from '../deps.js';
import { BadRequestError } from '../errors.js';
import type { PipePatchBody } from '../schemas/requests.js';
import { requireAllowed, requireTables, startCommand } from './commands.js';
import { storedSettings } from './pipe-views.js';

/** The table changes of `PATCH /pipes/{id}`: each starts its machine after the checks it can make now. */

/** New mappings are checked by the core's rules for mappings, their field paths under tableMappingsToAdd. */
function parseNewMappings(input: unknown[]): TableMapping[] {
  const result = tableMappingsSchema.safeParse(input, { error: friendlyIssueMessage });
  if (!result.success)
    throw new InvalidSettingsError(toFieldErrors(result.error.issues, ['tableMappingsToAdd']));
  return result.data;
}

/** A new mapping may take neither a collection the pipe replicates nor a table another mapping fills. */
function conflictsWithLiveTables(live: TableMappingRecord[], mappings: TableMapping[]): FieldError[] {
  return mappings.flatMap((mapping, index) => {
    const key = tableKeyOf(mapping);
    if (live.some((table) => table.tableKey === key)) {
      return [
        { path: `tableMappingsToAdd[${index}].sourceCollection`, message: `${key} is already replicated` },
      ];
    }
    if (live.some((table) => table.targetTable === mapping.targetTable)) {
      return [
        {
          path: `tableMappingsToAdd[${index}].targetTable`,
          message: `table ${mapping.targetTable} already takes another collection`,
        },
      ];
    }
    return [];
  });
}

/**
 * Mappings of tables removed earlier leave the settings, so a collection or target table can be
 * taken again; a mapping equal to a new one is replaced, so a retried request converges.
 */
async function writeNewMappings(
  deps: ApiDeps,
  pipe: PipeRecord,
  tables: TableMappingRecord[],
  mappings: TableMapping[],
): Promise<void> {
  const newKeys = mappings.map((mapping) => tableKeyOf(mapping));
  const removed = new Set(tables.filter((table) => table.state === 'Removed').map((table) => table.tableKey));
  const current = storedSettings(pipe);
  const kept = current.tableMappings.filter((mapping) => {
    const key = tableKeyOf(mapping);
    return !removed.has(key) && !newKeys.includes(key);
  });
  const settings = parseSettings({ ...current, tableMappings: [...kept, ...mappings] }, ['settings']);
  if (JSON.stringify(settings.tableMappings) !== JSON.stringify(current.tableMappings)) {
    await deps.store.updateSettings(pipe.id, settings, { state: pipe.state, version: pipe.version });
  }
}

/**
 * The add-tables machine reads the new mappings from the pipe's settings, so they are written
 * there (with any targetDatabase) before it starts; its first Task creates the table items.
 */
export async function addTables(
  deps: ApiDeps,
  context: RequestContext,
  request: Request,
  pipe: PipeRecord,
  input: unknown[],
) {
  requireAllowed(pipe, 'addTables');
  const mappings = parseNewMappings(input);
  const tables = await deps.store.listTableMappings(pipe.id);
  const conflicts = conflictsWithLiveTables(
    tables.filter((table) => table.state !== 'Removed'),
    mappings,
  );
  if (conflicts.length > 0) throw new BadRequestError(conflicts);
  // A table another pipe owns is a 409 now, not a Failed pipe later (the Task checks again).
  const { database } = parseDestinationRecord(pipe.destination);
  await refuseTablesOwnedElsewhere(
    deps.store,
    pipe.id,
    mappings.map((mapping) => ({
      database: mapping.targetDatabase ?? database ?? '',
      table: mapping.targetTable,
    })),
  );
  await writeNewMappings(deps, pipe, tables, mappings);
  const tableKeys = mappings.map((mapping) => tableKeyOf(mapping));
  return startCommand(deps, context, request, pipe, { operation: 'addTables', tables: tableKeys });
}

/** Marks the tables Removed through the remove-tables machine; a pipe keeps at least one table. */
export async function removeTables(
  deps: ApiDeps,
  context: RequestContext,
  request: Request,
  pipe: PipeRecord,
  body: PipePatchBody,
) {
  requireAllowed(pipe, 'removeTables');
  const keys = (body.tableMappingsToRemove ?? []).map((ref) => tableKeyOf(ref));
  const all = await deps.store.listTableMappings(pipe.id);
  requireTables(all, keys, 'tableMappingsToRemove');
  const remaining = all.filter((table) => table.state !== 'Removed' && !keys.includes(table.tableKey));
  if (body.dropTables) {
    const settings = storedSettings(pipe);
    const { database } = parseDestinationRecord(pipe.destination);
    await refuseTablesOwnedElsewhere(
      deps.store,
      pipe.id,
      all
        .filter((table) => keys.includes(table.tableKey))
        .map((table) => ({
          database:
            settings.tableMappings.find((mapping) => tableKeyOf(mapping) === table.tableKey)
              ?.targetDatabase ??
            database ??
            '',
          table: table.targetTable,
        })),
    );
  }
  if (remaining.length === 0) {
    throw new BadRequestError([
      { path: 'tableMappingsToRemove', message: 'a pipe keeps at least one table: delete the pipe instead' },
    ]);
  }
  return startCommand(deps, context, request, pipe, {
    operation: 'removeTables',
    tables: keys,
    dropTables: body.dropTables ?? false,
  });
}

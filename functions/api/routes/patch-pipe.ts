import { InvalidSettingsError } from '../../core/errors.js';
import { friendlyIssueMessage, toFieldErrors } from '../../core/field-errors.js';
import { parseSettings, type TableMapping, tableMappingsSchema } from '../../core/settings.js';
import { applySettingsChange } from '../../core/settings-change.js';
import { tableKeyOf } from '../../core/table-key.js';
import { refuseTablesOwnedElsewhere } from '../../engines/table-ownership.js';
import type { PipeRecord } from '../../ports/pipe-store.js';
import { readJsonBody } from '../body.js';
import type { ApiDeps, RequestContext } from '../deps.js';
import { BadRequestError } from '../errors.js';
import { type ApiRequest, type ApiResponse, json } from '../http.js';
import { type PipePatchBody, parseWith, pipePatchSchema } from '../schemas.js';
import { requireAllowed, requireTables, startCommand } from './commands.js';
import { storedSettings, viewOf } from './pipe-views.js';

/** Settings: only while Paused (the core refuses otherwise); applied directly, no machine runs. */
async function changeSettings(deps: ApiDeps, pipe: PipeRecord, patch: Record<string, unknown>) {
  const change = applySettingsChange(pipe.state, storedSettings(pipe), patch);
  const updated =
    change.changed.length === 0
      ? pipe
      : await deps.store.updateSettings(pipe.id, change.settings, {
          state: pipe.state,
          version: pipe.version,
        });
  return json(200, { ...(await viewOf(deps.store, updated)), changedSettings: change.changed });
}

function parseNewMappings(input: unknown[]): TableMapping[] {
  const result = tableMappingsSchema.safeParse(input, { error: friendlyIssueMessage });
  if (!result.success)
    throw new InvalidSettingsError(toFieldErrors(result.error.issues, ['tableMappingsToAdd']));
  return result.data;
}

/**
 * The add-tables machine reads the new mappings from the pipe's settings, so they are written
 * there (with any targetDatabase) before it starts; its first Task creates the table items.
 * Mappings of tables removed earlier leave the settings, so a collection or target table can be
 * taken again; a mapping equal to a new one is replaced, so a retried request converges.
 */
async function addTables(
  deps: ApiDeps,
  context: RequestContext,
  request: ApiRequest,
  pipe: PipeRecord,
  input: unknown[],
) {
  requireAllowed(pipe, 'addTables');
  const mappings = parseNewMappings(input);
  const tables = await deps.store.listTableMappings(pipe.id);
  const live = tables.filter((table) => table.state !== 'Removed');
  const conflicts = mappings.flatMap((mapping, index) => {
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
  if (conflicts.length > 0) throw new BadRequestError(conflicts);
  // A table another pipe owns is a 409 now, not a Failed pipe later (the Task checks again).
  const database = (pipe.destination as { database?: unknown } | null)?.database;
  await refuseTablesOwnedElsewhere(
    deps.store,
    pipe.id,
    mappings.map((mapping) => ({
      database: mapping.targetDatabase ?? (typeof database === 'string' ? database : ''),
      table: mapping.targetTable,
    })),
  );
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
  return startCommand(deps, context, request, pipe, { operation: 'addTables', tables: newKeys });
}

async function removeTables(
  deps: ApiDeps,
  context: RequestContext,
  request: ApiRequest,
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
    const database = (pipe.destination as { database?: unknown } | null)?.database;
    await refuseTablesOwnedElsewhere(
      deps.store,
      pipe.id,
      all
        .filter((table) => keys.includes(table.tableKey))
        .map((table) => ({
          database:
            settings.tableMappings.find((mapping) => tableKeyOf(mapping) === table.tableKey)
              ?.targetDatabase ?? (typeof database === 'string' ? database : ''),
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

/** PATCH /pipes/{id}: add tables, remove tables, or change settings; one kind per request. */
export async function patchPipeRoute(
  deps: ApiDeps,
  context: RequestContext,
  pipeId: string,
  request: ApiRequest,
): Promise<ApiResponse> {
  const body = parseWith(pipePatchSchema, readJsonBody(request));
  const pipe = await deps.store.getPipe(pipeId);
  if (body.settings !== undefined) return changeSettings(deps, pipe, body.settings);
  if (body.tableMappingsToAdd !== undefined) {
    return addTables(deps, context, request, pipe, body.tableMappingsToAdd);
  }
  return removeTables(deps, context, request, pipe, body);
}

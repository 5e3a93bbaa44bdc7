import { z } from '@hono/zod-openapi';
import { applyTableShapeChanges, tableShapePatchSchema } from '../../core/settings-change-shape.js';
import { tableKeyOf } from '../../core/table-key.js';
import { CDC_LEASE, type PipeRecord } from '../../ports/pipe-store.js';
import type { ApiDeps, RequestContext } from '../deps.js';
import { parseWith } from '../schemas/requests.js';
import { requireAllowed, requireTables, startCommand } from './commands.js';
import { storedSettings, viewOf } from './pipe-views.js';

const patchesSchema = z.array(tableShapePatchSchema);

/**
 * `PATCH /pipes/{id}` with `tableMappingsToChange` (docs/settings.md "Changing a table's shape").
 * A new column list or new excluded fields start a resync of those tables alone, the new shapes in
 * its input: its PrepareResync adds the new columns to each live table, stores the shapes, then
 * makes the `_resync` tables from them (engines/shape-change.ts), so no CDC run ever reads a shape
 * its live table cannot take. Other tables keep replicating throughout. onTypeMismatch alone is
 * stored here and reaches CDC at its next run.
 */
export async function changeTableShapes(
  deps: ApiDeps,
  context: RequestContext,
  request: Request,
  pipe: PipeRecord,
  input: unknown[],
) {
  const patches = parseWith(patchesSchema, input, ['tableMappingsToChange']);
  const tables = await deps.store.listTableMappings(pipe.id);
  requireTables(
    tables,
    patches.map((patch) => tableKeyOf(patch)),
    'tableMappingsToChange',
  );
  const change = applyTableShapeChanges(storedSettings(pipe), patches);
  if (change.reshaped.length > 0) {
    requireAllowed(pipe, 'resync');
    const accepted = await startCommand(deps, context, request, pipe, {
      operation: 'resync',
      tables: change.reshaped,
      tableShapes: patches,
    });
    return { status: 202 as const, body: accepted };
  }
  const changed = change.mismatchOnly.length > 0;
  const updated = changed
    ? await deps.store.updateSettings(pipe.id, change.settings, { state: pipe.state, version: pipe.version })
    : pipe;
  // The running CDC run read the settings when it began: ending it makes the next one read the new rule.
  if (changed) await deps.store.revokeLease(pipe.id, CDC_LEASE, 'onTypeMismatch changed');
  const view = await viewOf(deps.store, updated);
  return { status: 200 as const, body: { ...view, changedSettings: changed ? ['tableMappings'] : [] } };
}

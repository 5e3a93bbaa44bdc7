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
 * The new shapes are stored first, then a resync of the reshaped tables alone is started: its
 * PrepareResync creates each `_resync` table from the stored shape, and CDC, restarted there,
 * writes the new shape to `_resync` and the live table alike until the swap. Other tables keep
 * replicating throughout. onTypeMismatch alone is stored and reaches CDC at its next run.
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
  // Refused before anything is stored: a shape stored without its resync would describe a table it does not fit.
  if (change.reshaped.length > 0) requireAllowed(pipe, 'resync');
  const changed = change.reshaped.length + change.mismatchOnly.length > 0;
  const updated = changed
    ? await deps.store.updateSettings(pipe.id, change.settings, { state: pipe.state, version: pipe.version })
    : pipe;
  if (change.reshaped.length > 0) {
    const accepted = await startCommand(deps, context, request, updated, {
      operation: 'resync',
      tables: change.reshaped,
    });
    return { status: 202 as const, body: accepted };
  }
  // The running CDC run read the settings when it began: ending it makes the next one read the new rule.
  if (change.mismatchOnly.length > 0)
    await deps.store.revokeLease(pipe.id, CDC_LEASE, 'onTypeMismatch changed');
  const view = await viewOf(deps.store, updated);
  return { status: 200 as const, body: { ...view, changedSettings: changed ? ['tableMappings'] : [] } };
}

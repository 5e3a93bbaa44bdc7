import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { Env } from 'hono';
import { applySettingsChange } from '../../core/settings-change.js';
import type { PipeRecord } from '../../ports/pipe-store.js';
import type { ActorOf, ApiDeps } from '../deps.js';
import { readJsonBody, requirePipeId } from '../read-request.js';
import { errorResponses } from '../schemas/error-responses.js';
import { acceptedPipeSchema, settingsChangedSchema } from '../schemas/pipe-view.js';
import {
  idempotencyKeyHeader,
  parseWith,
  pipeIdParams,
  pipePatchDocument,
  pipePatchSchema,
} from '../schemas/requests.js';
import { serveRoute } from '../serve-route.js';
import { storedSettings, viewOf } from './pipe-views.js';
import { addTables, removeTables } from './table-changes.js';
import { changeTableShapes } from './table-shape-change.js';

const ADD_TABLE_EXAMPLE = {
  tableMappingsToAdd: [{ sourceDatabaseName: 'shop', sourceCollection: 'items', targetTable: 'items' }],
};

export const patchPipeRoute = createRoute({
  method: 'patch',
  path: '/pipes/{id}',
  operationId: 'updatePipe',
  summary:
    "Add tables, remove tables, change a table's shape, or change settings (settings only while Paused)",
  request: {
    params: pipeIdParams,
    headers: idempotencyKeyHeader,
    body: {
      required: true,
      content: { 'application/json': { schema: pipePatchDocument, example: ADD_TABLE_EXAMPLE } },
    },
  },
  responses: {
    200: {
      description: 'Settings changed (or, for tableMappingsToChange, onTypeMismatch alone).',
      content: { 'application/json': { schema: settingsChangedSchema } },
    },
    202: {
      description:
        'Table change accepted; its machine started (a shape change: the resync of the reshaped tables).',
      content: { 'application/json': { schema: acceptedPipeSchema } },
    },
    ...errorResponses(400, 404, 409, 413, 415),
  },
});

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
  return { ...(await viewOf(deps.store, updated)), changedSettings: change.changed };
}

/** PATCH /pipes/{id}: add tables, remove tables, change table shapes, or change settings; one kind per request. */
export function servePipePatch<E extends Env>(app: OpenAPIHono<E>, deps: ApiDeps, actorOf: ActorOf<E>): void {
  serveRoute(app, patchPipeRoute, async (c) => {
    const pipeId = requirePipeId(c.req.param('id'));
    const body = parseWith(pipePatchSchema, await readJsonBody(c.req.raw));
    const pipe = await deps.store.getPipe(pipeId);
    if (body.settings !== undefined) return c.json(await changeSettings(deps, pipe, body.settings), 200);
    const context = { actor: actorOf(c.env) };
    if (body.tableMappingsToChange !== undefined) {
      const answer = await changeTableShapes(deps, context, c.req.raw, pipe, body.tableMappingsToChange);
      return answer.status === 202 ? c.json(answer.body, 202) : c.json(answer.body, 200);
    }
    if (body.tableMappingsToAdd !== undefined) {
      return c.json(await addTables(deps, context, c.req.raw, pipe, body.tableMappingsToAdd), 202);
    }
    return c.json(await removeTables(deps, context, c.req.raw, pipe, body), 202);
  });
}

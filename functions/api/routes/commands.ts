import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { Env } from 'hono';
import { isAllowed, type PipeEvent } from '../../core/lifecycle.js';
import type { TableShapePatch } from '../../core/settings-change-shape.js';
import type { LifecycleOperation } from '../../ports/lifecycle.js';
import type { PipeRecord, TableMappingRecord } from '../../ports/pipe-store.js';
import type { ActorOf, ApiDeps, RequestContext } from '../deps.js';
import { BadRequestError, CommandRefusedError } from '../errors.js';
import { idempotencyKeyOf, readJsonBody, requirePipeId } from '../read-request.js';
import { operationRequestId } from '../request-id.js';
import { errorResponses } from '../schemas/error-responses.js';
import { acceptedPipeSchema } from '../schemas/pipe-view.js';
import { idempotencyKeyHeader, parseWith, pipeIdParams, stateCommandSchema } from '../schemas/requests.js';
import { serveRoute } from '../serve-route.js';
import { allowedCommands } from '../view.js';
import { acceptedView } from './pipe-views.js';

const accepted = (description: string) => ({
  description,
  content: { 'application/json': { schema: acceptedPipeSchema } },
});

export const stateCommandRoute = createRoute({
  method: 'patch',
  path: '/pipes/{id}/state',
  operationId: 'changePipeState',
  summary: 'Pause, resume or resync',
  request: {
    params: pipeIdParams,
    headers: idempotencyKeyHeader,
    body: {
      required: true,
      content: { 'application/json': { schema: stateCommandSchema, example: { command: 'pause' } } },
    },
  },
  responses: {
    202: accepted("Accepted; the operation's machine started."),
    ...errorResponses(400, 404, 409, 413, 415),
  },
});

export const deletePipeRoute = createRoute({
  method: 'delete',
  path: '/pipes/{id}',
  operationId: 'deletePipe',
  summary: 'Delete a pipe (accepted in every state)',
  request: { params: pipeIdParams, headers: idempotencyKeyHeader },
  responses: { 202: accepted('Accepted; the delete machine started.'), ...errorResponses(400, 404) },
});

/** Refuses (409) a command the pipe's state does not accept; transitional states accept none. */
export function requireAllowed(pipe: PipeRecord, event: PipeEvent): void {
  if (!isAllowed(pipe.state, event)) {
    throw new CommandRefusedError(event, pipe.state, allowedCommands(pipe.state));
  }
}

/** The live (not removed) tables among `keys`, or a 400 naming each unknown one at `path[i]`. */
export function requireTables(
  tables: TableMappingRecord[],
  keys: readonly string[],
  path: string,
): TableMappingRecord[] {
  const live = new Map(tables.filter((table) => table.state !== 'Removed').map((t) => [t.tableKey, t]));
  const missing = keys.flatMap((key, index) =>
    live.has(key) ? [] : [{ path: `${path}[${index}]`, message: `the pipe has no table ${key}` }],
  );
  if (missing.length > 0) throw new BadRequestError(missing);
  return keys.map((key) => live.get(key)!);
}

export interface StartCommand {
  operation: LifecycleOperation;
  tables?: string[];
  dropTables?: boolean;
  /** A shape change's resync: the new shapes, applied by its PrepareResync. */
  tableShapes?: TableShapePatch[];
}

/** Starts the operation's machine for the state the caller saw and answers 202. */
export async function startCommand(
  deps: ApiDeps,
  context: RequestContext,
  request: Request,
  pipe: PipeRecord,
  command: StartCommand,
) {
  const { operation, tables, dropTables, tableShapes } = command;
  const requestId = operationRequestId(operation, pipe.id, pipe.version, {
    idempotencyKey: idempotencyKeyOf(request),
    detail:
      tables === undefined && dropTables === undefined
        ? undefined
        : { tables, dropTables, ...(tableShapes === undefined ? {} : { tableShapes }) },
  });
  const started = await deps.starter.start(operation, {
    pipeId: pipe.id,
    expectedState: pipe.state,
    ...(tables === undefined ? {} : { tables }),
    ...(dropTables === undefined ? {} : { dropTables }),
    ...(tableShapes === undefined ? {} : { tableShapes }),
    requestedBy: context.actor,
    requestId,
  });
  return acceptedView(deps.store, pipe.id, operation, started);
}

/** PATCH /pipes/{id}/state: pause, resume, or resync (the whole pipe, or the listed tables). */
async function changeState(deps: ApiDeps, context: RequestContext, pipeId: string, request: Request) {
  const body = parseWith(stateCommandSchema, await readJsonBody(request));
  const pipe = await deps.store.getPipe(pipeId);
  requireAllowed(pipe, body.command);
  if (body.tables !== undefined) {
    requireTables(await deps.store.listTableMappings(pipeId), body.tables, 'tables');
  }
  return startCommand(deps, context, request, pipe, {
    operation: body.command,
    ...(body.tables === undefined ? {} : { tables: body.tables }),
  });
}

/** DELETE /pipes/{id}: accepted in every state; the delete machine stops whatever runs. */
async function deletePipe(deps: ApiDeps, context: RequestContext, pipeId: string, request: Request) {
  const pipe = await deps.store.getPipe(pipeId);
  return startCommand(deps, context, request, pipe, { operation: 'delete' });
}

export function serveCommands<E extends Env>(app: OpenAPIHono<E>, deps: ApiDeps, actorOf: ActorOf<E>): void {
  serveRoute(app, deletePipeRoute, async (c) => {
    const pipeId = requirePipeId(c.req.param('id'));
    return c.json(await deletePipe(deps, { actor: actorOf(c.env) }, pipeId, c.req.raw), 202);
  });
  serveRoute(app, stateCommandRoute, async (c) => {
    const pipeId = requirePipeId(c.req.param('id'));
    return c.json(await changeState(deps, { actor: actorOf(c.env) }, pipeId, c.req.raw), 202);
  });
}

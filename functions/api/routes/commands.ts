import { isAllowed, type PipeEvent } from '../../core/lifecycle.js';
import type { LifecycleOperation } from '../../ports/lifecycle.js';
import type { PipeRecord, TableMappingRecord } from '../../ports/pipe-store.js';
import { idempotencyKeyOf, readJsonBody } from '../body.js';
import type { ApiDeps, RequestContext } from '../deps.js';
import { BadRequestError, CommandRefusedError } from '../errors.js';
import { type ApiRequest, type ApiResponse, json } from '../http.js';
import { operationRequestId } from '../request-id.js';
import { parseWith, stateCommandSchema } from '../schemas.js';
import { allowedCommands } from '../view.js';
import { acceptedView } from './pipe-views.js';

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
}

/** Starts the operation's machine for the state the caller saw and answers 202. */
export async function startCommand(
  deps: ApiDeps,
  context: RequestContext,
  request: ApiRequest,
  pipe: PipeRecord,
  command: StartCommand,
): Promise<ApiResponse> {
  const { operation, tables, dropTables } = command;
  const requestId = operationRequestId(operation, pipe.id, pipe.version, {
    idempotencyKey: idempotencyKeyOf(request),
    detail: tables === undefined && dropTables === undefined ? undefined : { tables, dropTables },
  });
  const started = await deps.starter.start(operation, {
    pipeId: pipe.id,
    expectedState: pipe.state,
    ...(tables === undefined ? {} : { tables }),
    ...(dropTables === undefined ? {} : { dropTables }),
    requestedBy: context.actor,
    requestId,
  });
  return json(202, await acceptedView(deps.store, pipe.id, operation, started));
}

/** PATCH /pipes/{id}/state: pause, resume, or resync (the whole pipe, or the listed tables). */
export async function stateCommandRoute(
  deps: ApiDeps,
  context: RequestContext,
  pipeId: string,
  request: ApiRequest,
): Promise<ApiResponse> {
  const body = parseWith(stateCommandSchema, readJsonBody(request));
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
export async function deletePipeRoute(
  deps: ApiDeps,
  context: RequestContext,
  pipeId: string,
  request: ApiRequest,
): Promise<ApiResponse> {
  const pipe = await deps.store.getPipe(pipeId);
  return startCommand(deps, context, request, pipe, { operation: 'delete' });
}

import { tableKeyOf } from '../../adapters/dynamodb/tables.js';
import { type CreatePipeRequest, parseCreatePipeRequest } from '../../core/create-request.js';
import type { FieldError } from '../../core/errors.js';
import { idempotencyKeyOf, readJsonBody } from '../body.js';
import type { ApiConfig, ApiDeps, RequestContext } from '../deps.js';
import { BadRequestError } from '../errors.js';
import { type ApiRequest, type ApiResponse, json } from '../http.js';
import { acceptedView } from './pipe-views.js';

/** In the cloud a password must never reach pipe state or execution input: only secret ARNs. */
function refusePlainSecrets(request: CreatePipeRequest, config: ApiConfig): void {
  if (config.allowPlainSecrets) return;
  const errors: FieldError[] = [];
  if ('uri' in request.source) {
    errors.push({
      path: 'source.uri',
      message:
        'this deployment does not accept connection strings: store it in Secrets Manager and send source.secretArn',
    });
  }
  if (request.destination && 'password' in request.destination) {
    errors.push({
      path: 'destination.password',
      message:
        'this deployment does not accept passwords: store the credentials in Secrets Manager and send destination.secretArn',
    });
  }
  if (errors.length > 0) throw new BadRequestError(errors);
}

function destinationOf(request: CreatePipeRequest, config: ApiConfig): Record<string, unknown> {
  if (request.destination) return request.destination;
  if (config.defaultDestination) return config.defaultDestination;
  throw new BadRequestError([
    { path: 'destination', message: 'is required: this deployment has no default destination' },
  ]);
}

/**
 * POST /pipes. The store makes the create idempotent (Idempotency-Key, or the name when there is
 * none); the table mappings missing after an earlier attempt are written, never rewritten (a
 * rewrite would reset a table's state); and the create machine is started with a request id
 * derived from the pipe id, so a retry starts at most one execution.
 */
export async function createPipeRoute(
  deps: ApiDeps,
  context: RequestContext,
  request: ApiRequest,
): Promise<ApiResponse> {
  const idempotencyKey = idempotencyKeyOf(request);
  const parsed = parseCreatePipeRequest(readJsonBody(request));
  refusePlainSecrets(parsed, deps.config);
  const destination = destinationOf(parsed, deps.config);
  const { store, starter } = deps;
  const { pipe } = await store.createPipe({
    name: parsed.name,
    ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
    settings: parsed.settings,
    source: parsed.source,
    destination,
    actor: context.actor,
    reason: 'created through the API',
  });
  const existing = new Set((await store.listTableMappings(pipe.id)).map((table) => table.tableKey));
  for (const mapping of parsed.settings.tableMappings) {
    if (existing.has(tableKeyOf(mapping))) continue;
    const { sourceDatabaseName, sourceCollection, targetTable } = mapping;
    await store.putTableMapping(pipe.id, { sourceDatabaseName, sourceCollection, targetTable });
  }
  const current = await store.getPipe(pipe.id);
  const started =
    current.state === 'Provisioning'
      ? await starter.start('create', {
          pipeId: pipe.id,
          expectedState: 'Provisioning',
          requestedBy: context.actor,
          requestId: `create-${pipe.id}`,
        })
      : null;
  return json(202, await acceptedView(store, pipe.id, 'create', started), {
    location: `/pipes/${pipe.id}`,
  });
}

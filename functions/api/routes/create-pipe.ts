import { registerPipe } from '../../engines/register-pipe.js';
import { idempotencyKeyOf, readJsonBody } from '../body.js';
import type { ApiDeps, RequestContext } from '../deps.js';
import { type ApiRequest, type ApiResponse, json } from '../http.js';
import { acceptedView } from './pipe-views.js';

/**
 * POST /pipes. `registerPipe` validates the request with the deployment's rules and stores it
 * idempotently (Idempotency-Key, or the name when there is none); the create machine is started
 * with a request id derived from the pipe id, so a retry starts at most one execution.
 */
export async function createPipeRoute(
  deps: ApiDeps,
  context: RequestContext,
  request: ApiRequest,
): Promise<ApiResponse> {
  const idempotencyKey = idempotencyKeyOf(request);
  const { store, starter } = deps;
  const { pipe } = await registerPipe(store, {
    request: readJsonBody(request),
    rules: deps.config,
    ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
    actor: context.actor,
    caller: context.actor,
    reason: 'created through the API',
  });
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

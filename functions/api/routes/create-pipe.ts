import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { Env } from 'hono';
import { registerPipe } from '../../engines/register-pipe.js';
import type { ActorOf, ApiDeps, RequestContext } from '../deps.js';
import { idempotencyKeyOf, readJsonBody } from '../read-request.js';
import { errorResponses } from '../schemas/error-responses.js';
import { acceptedPipeSchema } from '../schemas/pipe-view.js';
import { createPipeRequestDocument, idempotencyKeyHeader } from '../schemas/requests.js';
import { serveRoute } from '../serve-route.js';
import { acceptedView } from './pipe-views.js';

/** The minimal create of docs/api.md; the OpenAPI test sends it and checks it against the schema. */
const MINIMAL_CREATE = {
  name: 'shop',
  source: { uri: 'mongodb://127.0.0.1:27017/?replicaSet=rs0' },
  settings: {
    replicationMode: 'cdc',
    tableMappings: [{ sourceDatabaseName: 'shop', sourceCollection: 'orders', targetTable: 'orders' }],
  },
};

export const createPipeRoute = createRoute({
  method: 'post',
  path: '/pipes',
  operationId: 'createPipe',
  summary: 'Create a pipe',
  description:
    'Registers the pipe in Provisioning with its table mappings and starts the create machine. ' +
    'Idempotent: the Idempotency-Key header, or without it the name, makes a repeated request return ' +
    'the same pipe.',
  request: {
    headers: idempotencyKeyHeader,
    body: {
      required: true,
      content: { 'application/json': { schema: createPipeRequestDocument, example: MINIMAL_CREATE } },
    },
  },
  responses: {
    202: {
      description: 'Accepted: the pipe as it is now and the started execution.',
      headers: z.object({ Location: z.string().openapi({ description: 'The path of the pipe.' }) }),
      content: { 'application/json': { schema: acceptedPipeSchema } },
    },
    ...errorResponses(400, 403, 409, 413, 415),
  },
});

/**
 * POST /pipes. `registerPipe` validates the request with the deployment's rules and stores it
 * idempotently (Idempotency-Key, or the name when there is none); the create machine is started
 * with a request id derived from the pipe id, so a retry starts at most one execution.
 */
async function createPipe(deps: ApiDeps, context: RequestContext, request: Request) {
  const idempotencyKey = idempotencyKeyOf(request);
  const { store, starter } = deps;
  const { pipe } = await registerPipe(store, {
    request: await readJsonBody(request),
    rules: deps.config,
    ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
    actor: context.actor,
    // The caller must own every secret it names (docs/security.md): the actor is that principal.
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
  return acceptedView(store, pipe.id, 'create', started);
}

export function serveCreatePipe<E extends Env>(
  app: OpenAPIHono<E>,
  deps: ApiDeps,
  actorOf: ActorOf<E>,
): void {
  serveRoute(app, createPipeRoute, async (c) => {
    const view = await createPipe(deps, { actor: actorOf(c.env) }, c.req.raw);
    return c.json(view, 202, { location: `/pipes/${view.id}` });
  });
}

import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { Env } from 'hono';
import { preflightRequestSchema } from '../../core/create-request.js';
import { runPreflight } from '../../engines/preflight.js';
import type { ActorOf, ApiDeps } from '../deps.js';
import { ApiError } from '../errors.js';
import { readJsonBody } from '../read-request.js';
import { errorBodySchema } from '../schemas/error-body.js';
import { errorResponses } from '../schemas/error-responses.js';
import { serveRoute } from '../serve-route.js';

/** This deployment's API was built without a way to reach sources and destinations. */
export class PreflightUnavailableError extends ApiError {
  readonly status = 501;
  constructor() {
    super('this deployment does not run pre-flight checks from its API');
    this.name = 'PreflightUnavailableError';
  }
}

const EXAMPLE = {
  source: { uri: 'mongodb://127.0.0.1:27017/?replicaSet=rs0' },
  tableMappings: [{ sourceDatabaseName: 'shop', sourceCollection: 'orders', targetTable: 'orders' }],
};

const preflightRequestDocument = preflightRequestSchema.meta({
  id: 'PreflightRequest',
  description:
    "The source, destination and tableMappings of a create request (CreatePipeRequest's, under the same rules); " +
    'destination may be left out when the deployment has a default.',
});

const checkSchema = z
  .object({
    id: z.string().openapi({
      description:
        'What was checked: source.connection, source.topology, source.members, source.oplog, source.privileges, ' +
        'source.changeStream, source.collections, destination.connection, destination.rights, tables.ownership.',
      example: 'source.topology',
    }),
    status: z.enum(['passed', 'warned', 'failed']).openapi({
      description:
        'failed: a create would fail on it (Provision or Setup refuses it); warned: it would run, but look.',
    }),
    message: z.string().openapi({ description: 'What was found, free of credentials.' }),
    advice: z.string().nullable().openapi({ description: 'What to do about it; null when passed.' }),
  })
  .openapi('PreflightCheck');

const reportSchema = z
  .object({
    verdict: z
      .enum(['passed', 'warned', 'failed'])
      .openapi({ description: 'The worst status among the checks.' }),
    checks: z.array(checkSchema).openapi({
      description:
        'In this order: the source checks, the destination checks, then table ownership. A side that could not be ' +
        'reached has one failed connection check and no others.',
    }),
  })
  .openapi('PreflightReport');

export const preflightRoute = createRoute({
  method: 'post',
  path: '/preflight',
  operationId: 'preflight',
  summary: 'Check a pipe before creating it',
  description:
    'Runs the checks a create meets, creating nothing: the request rules and secret owners of POST /pipes, then ' +
    'the source (topology, member states, oplog window, privileges, change streams, collections), the destination ' +
    "(login, rights) and the target tables' ownership. Checks that fail answer 200 with the report: only a bad " +
    'request is an error.',
  request: {
    body: {
      required: true,
      content: { 'application/json': { schema: preflightRequestDocument, example: EXAMPLE } },
    },
  },
  responses: {
    200: {
      description: 'The report, whether the checks passed or not.',
      content: { 'application/json': { schema: reportSchema } },
    },
    ...errorResponses(400, 403, 413, 415),
    501: {
      description: 'This deployment does not run pre-flight checks from its API: PreflightUnavailableError.',
      content: { 'application/json': { schema: errorBodySchema } },
    },
  },
});

/** POST /preflight: the caller must own the secrets it names, as for a create (docs/security.md). */
export function servePreflight<E extends Env>(app: OpenAPIHono<E>, deps: ApiDeps, actorOf: ActorOf<E>): void {
  serveRoute(app, preflightRoute, async (c) => {
    const probe = deps.preflight;
    if (probe === undefined) throw new PreflightUnavailableError();
    const request = await readJsonBody(c.req.raw);
    const report = await runPreflight(
      { store: deps.store, probe, rules: deps.config },
      { request, caller: actorOf(c.env) },
    );
    return c.json(report, 200);
  });
}

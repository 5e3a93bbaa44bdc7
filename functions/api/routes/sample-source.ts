import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { Env } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { classifyError } from '../../core/classify.js';
import type { FieldError } from '../../core/errors.js';
import { ANY_HOST, hostAllowed, mongoHostsOf } from '../../core/hosts.js';
import { isOwner } from '../../core/principals.js';
import { redactText } from '../../core/redact.js';
import { SampleTimeoutError } from '../../core/sample-errors.js';
import { collectPaths } from '../../core/sample-paths.js';
import { sampleReport } from '../../core/sample-suggest.js';
import { SecretNotOwnedError } from '../../engines/register-pipe.js';
import type { ActorOf, ApiDeps } from '../deps.js';
import { ApiError, BadRequestError } from '../errors.js';
import { readJsonBody } from '../read-request.js';
import { errorBodySchema } from '../schemas/error-body.js';
import { errorResponses } from '../schemas/error-responses.js';
import { parseWith } from '../schemas/requests.js';
import { serveRoute } from '../serve-route.js';
import { type SampleRequestBody, sampleAnswerSchema, sampleRequestSchema } from './sample-schemas.js';

/** A sample could not be taken; the status says whose side the problem is on. */
export class SampleFailedError extends ApiError {
  constructor(
    readonly status: ContentfulStatusCode,
    name: string,
    message: string,
  ) {
    super(message);
    this.name = name;
  }
}

const EXAMPLE = {
  source: { uri: 'mongodb://127.0.0.1:27017/?replicaSet=rs0' },
  database: 'shop',
  collection: 'orders',
  sampleSize: 1000,
};

const errorAnswer = (description: string) => ({
  description,
  content: { 'application/json': { schema: errorBodySchema } },
});

export const sampleSourceRoute = createRoute({
  method: 'post',
  path: '/sources/sample',
  operationId: 'sampleCollection',
  summary: 'See what a collection holds, with typed columns to suggest',
  description:
    'Reads a random sample ($sample) of the collection and answers, per path, the BSON types seen and their ' +
    "share, how often it is present, and a suggested typed column; suggestedColumns pastes into a table mapping's " +
    'columns (docs/table-schema.md). Nothing is stored.',
  request: {
    body: {
      required: true,
      content: { 'application/json': { schema: sampleRequestSchema, example: EXAMPLE } },
    },
  },
  responses: {
    200: {
      description: 'The sample, described.',
      content: { 'application/json': { schema: sampleAnswerSchema } },
    },
    ...errorResponses(400, 403, 413, 415),
    404: errorAnswer('The database has no collection (or view) of that name: CollectionNotFoundError.'),
    422: errorAnswer(
      'The source refused the sample (authentication, permissions, a malformed secret): SourceRefusedError.',
    ),
    502: errorAnswer('The source could not be reached: SourceUnreachableError.'),
    504: errorAnswer('The sample took longer than its bound: SampleTimeoutError; ask for fewer documents.'),
    501: errorAnswer('This deployment cannot reach sources from its API: SamplingUnavailableError.'),
  },
});

/** The create request's rules for a source: a secret in the cloud, the allowed hosts, an owned secret. */
async function checkSource(deps: ApiDeps, body: SampleRequestBody, caller: string): Promise<void> {
  const rules = deps.config;
  const errors: FieldError[] = [];
  if ('uri' in body.source) {
    if (!rules.allowPlainSecrets) {
      errors.push({
        path: 'source.uri',
        message:
          'this deployment does not accept connection strings: store it in Secrets Manager and send source.secretArn',
      });
    }
    for (const host of new Set(mongoHostsOf(body.source.uri))) {
      if (!hostAllowed(host, (rules.allowedHosts ?? ANY_HOST).source)) {
        errors.push({
          path: 'source.uri',
          message: `host ${host} is not among this deployment's allowed source hosts`,
        });
      }
    }
  }
  if (errors.length > 0) throw new BadRequestError(errors);
  if (!('secretArn' in body.source) || rules.secretOwners === undefined) return;
  const arn = body.source.secretArn;
  const tag = await rules.secretOwners.ownersOf(arn);
  const problem =
    'problem' in tag
      ? `secret ${arn} ${tag.problem}`
      : isOwner(caller, tag.owners)
        ? null
        : `secret ${arn} does not list ${caller} among its owners`;
  if (problem !== null) throw new SecretNotOwnedError([{ path: 'source.secretArn', message: problem }]);
}

/** The sampler's failures as answers: the source's side (422, 502) or the bound (504). */
function sampleFailure(error: unknown): Error {
  if (error instanceof SampleTimeoutError)
    return new SampleFailedError(504, 'SampleTimeoutError', error.message);
  const classified = classifyError(error);
  const message = redactText(classified.message);
  return classified.disposition === 'retry'
    ? new SampleFailedError(502, 'SourceUnreachableError', `the source could not be reached: ${message}`)
    : new SampleFailedError(422, 'SourceRefusedError', `the source refused the sample: ${message}`);
}

async function sampleCollection(deps: ApiDeps, request: Request, caller: string) {
  const body = parseWith(sampleRequestSchema, await readJsonBody(request));
  await checkSource(deps, body, caller);
  if (deps.sampler === undefined) {
    throw new SampleFailedError(501, 'SamplingUnavailableError', 'this deployment does not sample sources');
  }
  const { source, database, collection, sampleSize } = body;
  const sampled = await deps.sampler
    .sample({ source, database, collection, size: sampleSize })
    .catch((error: unknown) => {
      throw sampleFailure(error);
    });
  if (sampled === null) {
    throw new SampleFailedError(
      404,
      'CollectionNotFoundError',
      `database ${database} has no collection ${collection}: check both names (they are case-sensitive)`,
    );
  }
  const report = sampleReport(collectPaths(sampled.documents), body.maxPaths);
  const { bytes, stoppedAtByteLimit } = sampled;
  return { database, collection, sampleSize, bytes, stoppedAtByteLimit, ...report };
}

/** POST /sources/sample: nothing is stored; the caller's identity only decides which secrets it may name. */
export function serveSampleSource<E extends Env>(
  app: OpenAPIHono<E>,
  deps: ApiDeps,
  actorOf: ActorOf<E>,
): void {
  serveRoute(app, sampleSourceRoute, async (c) =>
    c.json(await sampleCollection(deps, c.req.raw, actorOf(c.env)), 200),
  );
}

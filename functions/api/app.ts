import { OpenAPIHono } from '@hono/zod-openapi';
import type { Context, Env } from 'hono';
import { getPath } from 'hono/utils/url';
import type { ActorOf, ApiDeps } from './deps.js';
import { errorResponse } from './error-response.js';
import { RouteNotFoundError } from './errors.js';
import { serveCdcHistory } from './routes/cdc-history.js';
import { serveCommands } from './routes/commands.js';
import { serveCreatePipe } from './routes/create-pipe.js';
import { servePipePatch } from './routes/patch-pipe.js';
import { servePreflight } from './routes/preflight.js';
import { serveReads } from './routes/read-pipes.js';
import { serveSampleSource } from './routes/sample-source.js';
import { refuseHead, refuseOtherMethods } from './serve-route.js';

/** `/pipes/` and `/pipes//` route as `/pipes` (hono's `strict: false` drops only one slash). */
const withoutTrailingSlashes = (request: Request): string => getPath(request).replace(/(.)\/+$/, '$1');

/**
 * The HTTP API: one hono app that API Gateway's Lambda (hono/aws-lambda) and the local server
 * (@hono/node-server) both serve, and whose routes generate the OpenAPI document (document.ts).
 * `actorOf` reads who sent a request from what the front passes along as `c.env`.
 */
export function apiApp<E extends Env = Env>(deps: ApiDeps, actorOf: ActorOf<E>): OpenAPIHono<E> {
  const app = new OpenAPIHono<E>({ getPath: withoutTrailingSlashes });
  refuseHead(app);
  // Added in this order, a path's methods are listed in Allow as they always were (POST, GET; GET, PATCH, DELETE).
  serveCreatePipe(app, deps, actorOf);
  serveReads(app, deps);
  serveCdcHistory(app, deps);
  servePipePatch(app, deps, actorOf);
  serveCommands(app, deps, actorOf);
  servePreflight(app, deps, actorOf);
  serveSampleSource(app, deps, actorOf);
  refuseOtherMethods(app);
  app.notFound((c) => answerError(c, new RouteNotFoundError(new URL(c.req.url).pathname), deps));
  app.onError((error, c) => answerError(c, error, deps));
  return app;
}

/** Every error ends here (thrown by a route, or a path no route serves): its status and JSON body. */
function answerError<E extends Env>(c: Context<E>, error: unknown, deps: ApiDeps): Response {
  const { status, body, headers } = errorResponse(error, deps.log);
  return c.json(body, status, headers);
}

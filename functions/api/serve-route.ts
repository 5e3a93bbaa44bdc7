import type { OpenAPIHono, RouteConfig, RouteConfigToTypedResponse } from '@hono/zod-openapi';
import type { Context, Env } from 'hono';
import { routePath } from 'hono/route';
import { MethodNotAllowedError } from './errors.js';

/** A route as createRoute makes it: its OpenAPI description and the path hono routes it by. */
type DocumentedRoute = RouteConfig & { getRoutingPath(): string };

/**
 * Serves `route` with `handle` and adds it to the app's OpenAPI document in the same step, so no
 * route is served undocumented. zod-openapi's request validators (what `app.openapi` adds) are
 * left out on purpose: they answer with bodies, messages and an order of checks of their own (a
 * media-type gate before the body is read, the first of repeated query values, headers before the
 * pipe is read). The handlers parse with the API's parsers, which run the schemas the route documents.
 */
export function serveRoute<E extends Env, R extends DocumentedRoute>(
  app: OpenAPIHono<E>,
  route: R,
  handle: (c: Context<E, ReturnType<R['getRoutingPath']>>) => Promise<RouteConfigToTypedResponse<R>>,
): void {
  app.openAPIRegistry.registerPath(route);
  app.on(route.method.toUpperCase(), route.getRoutingPath(), async (c) => {
    try {
      return await handle(c);
    } catch (thrown) {
      // hono passes only Error instances to onError: anything else thrown is wrapped, so it is answered too.
      throw thrown instanceof Error ? thrown : new Error(String(thrown), { cause: thrown });
    }
  });
}

/** The methods served at a route path, in the order they were added (the order Allow lists them in). */
function methodsServedAt<E extends Env>(app: OpenAPIHono<E>, path: string): string[] {
  return app.routes
    .filter((route) => route.path === path && route.method !== 'ALL')
    .map(({ method }) => method);
}

/** Once every route is served: a served path asked with another method is a 405 naming the methods it serves. */
export function refuseOtherMethods<E extends Env>(app: OpenAPIHono<E>): void {
  const paths = new Set(app.routes.filter((route) => route.method !== 'ALL').map((route) => route.path));
  for (const path of paths) {
    const allowed = methodsServedAt(app, path);
    app.all(path, (c) => {
      throw new MethodNotAllowedError(c.req.method.toUpperCase(), allowed);
    });
  }
}

/**
 * Hono answers HEAD with the GET route; this API serves no HEAD, so it is a 405 like any method a
 * path does not serve. Added before the routes, it sees the path matched last (`routePath(c, -1)`).
 */
export function refuseHead<E extends Env>(app: OpenAPIHono<E>): void {
  app.use(async (c, next) => {
    const allowed = c.req.method === 'HEAD' ? methodsServedAt(app, routePath(c, -1)) : [];
    if (allowed.length > 0) throw new MethodNotAllowedError('HEAD', allowed);
    await next();
  });
}

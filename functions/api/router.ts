import { PipeNotFoundError } from '../core/errors.js';
import type { ApiDeps, RequestContext } from './deps.js';
import { errorResponse } from './error-response.js';
import { MethodNotAllowedError, RouteNotFoundError } from './errors.js';
import type { ApiRequest, ApiResponse } from './http.js';
import { deletePipeRoute, stateCommandRoute } from './routes/commands.js';
import { createPipeRoute } from './routes/create-pipe.js';
import { patchPipeRoute } from './routes/patch-pipe.js';
import { getPipeRoute, historyRoute, listPipesRoute } from './routes/read-pipes.js';

type Handler = (
  deps: ApiDeps,
  context: RequestContext,
  request: ApiRequest,
  params: { id: string },
) => Promise<ApiResponse>;

export interface Route {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** OpenAPI path template, e.g. `/pipes/{id}/state`. */
  path: string;
  handle: Handler;
}

/** Every route the API serves; the OpenAPI test checks this list against the document. */
export const ROUTES: readonly Route[] = [
  { method: 'POST', path: '/pipes', handle: (deps, ctx, req) => createPipeRoute(deps, ctx, req) },
  { method: 'GET', path: '/pipes', handle: (deps, _ctx, req) => listPipesRoute(deps, req) },
  { method: 'GET', path: '/pipes/{id}', handle: (deps, _ctx, _req, { id }) => getPipeRoute(deps, id) },
  {
    method: 'PATCH',
    path: '/pipes/{id}',
    handle: (deps, ctx, req, { id }) => patchPipeRoute(deps, ctx, id, req),
  },
  {
    method: 'DELETE',
    path: '/pipes/{id}',
    handle: (deps, ctx, req, { id }) => deletePipeRoute(deps, ctx, id, req),
  },
  {
    method: 'PATCH',
    path: '/pipes/{id}/state',
    handle: (deps, ctx, req, { id }) => stateCommandRoute(deps, ctx, id, req),
  },
  {
    method: 'GET',
    path: '/pipes/{id}/history',
    handle: (deps, _ctx, req, { id }) => historyRoute(deps, id, req),
  },
];

/** Pipe ids the store can hold; anything else cannot name a pipe, so it is a 404, not a 400. */
const PIPE_ID = /^[A-Za-z0-9_-]{1,64}$/;

function matchPath(template: string, path: string): { id: string } | null {
  const want = template.split('/');
  const got = path.replace(/\/+$/, '').split('/');
  if (want.length !== got.length) return null;
  let id = '';
  for (let index = 0; index < want.length; index++) {
    const segment = want[index];
    const actual = got[index] ?? '';
    if (segment === '{id}') {
      try {
        id = decodeURIComponent(actual);
      } catch {
        return null;
      }
    } else if (segment !== actual) return null;
  }
  return { id };
}

async function dispatch(deps: ApiDeps, context: RequestContext, request: ApiRequest): Promise<ApiResponse> {
  const method = request.method.toUpperCase();
  const matches = ROUTES.flatMap((route) => {
    const params = matchPath(route.path, request.path);
    return params ? [{ route, params }] : [];
  });
  if (matches.length === 0) throw new RouteNotFoundError(request.path);
  const match = matches.find(({ route }) => route.method === method);
  if (!match) throw new MethodNotAllowedError(method, [...new Set(matches.map(({ route }) => route.method))]);
  if (match.route.path.includes('{id}') && !PIPE_ID.test(match.params.id)) {
    throw new PipeNotFoundError(match.params.id.slice(0, 80));
  }
  return match.route.handle(deps, context, request, match.params);
}

/** The one entry point both API Gateway and the local server call; it never throws. */
export async function handleApiRequest(
  deps: ApiDeps,
  context: RequestContext,
  request: ApiRequest,
): Promise<ApiResponse> {
  try {
    return await dispatch(deps, context, request);
  } catch (error) {
    return errorResponse(error, deps.logger);
  }
}

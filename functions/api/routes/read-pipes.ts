import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { Env } from 'hono';
import { InvalidStoreInputError } from '../../core/store-errors.js';
import type { ApiDeps } from '../deps.js';
import { BadRequestError } from '../errors.js';
import { queryOf, requirePipeId } from '../read-request.js';
import { errorResponses } from '../schemas/error-responses.js';
import { historyPageSchema, pipeListSchema } from '../schemas/pages.js';
import { pipeSchema } from '../schemas/pipe-view.js';
import { historyQuerySchema, listPipesQuerySchema, parseWith, pipeIdParams } from '../schemas/requests.js';
import { serveRoute } from '../serve-route.js';
import { historyView, pipeSummary } from '../view.js';
import { loadPipeView } from './pipe-views.js';

export const listPipesRoute = createRoute({
  method: 'get',
  path: '/pipes',
  operationId: 'listPipes',
  summary: 'List pipes, oldest first',
  request: { query: listPipesQuerySchema },
  responses: {
    200: { description: 'A page of pipes.', content: { 'application/json': { schema: pipeListSchema } } },
    ...errorResponses(400),
  },
});

export const getPipeRoute = createRoute({
  method: 'get',
  path: '/pipes/{id}',
  operationId: 'getPipe',
  summary: "A pipe's state, settings, tables with progress, CDC position and last error",
  request: { params: pipeIdParams },
  responses: {
    200: {
      description: 'The pipe; credentials are never returned.',
      content: { 'application/json': { schema: pipeSchema } },
    },
    ...errorResponses(404),
  },
});

export const historyRoute = createRoute({
  method: 'get',
  path: '/pipes/{id}/history',
  operationId: 'getPipeHistory',
  summary: 'State changes, newest first',
  request: { params: pipeIdParams, query: historyQuerySchema },
  responses: {
    200: {
      description: 'A page of history entries.',
      content: { 'application/json': { schema: historyPageSchema } },
    },
    ...errorResponses(400, 404),
  },
});

/** A page token the store did not issue is the caller's mistake: name the query field they sent. */
async function withPageToken<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof InvalidStoreInputError && error.field === 'cursor') {
      throw new BadRequestError([{ path: 'query.nextToken', message: 'is not a token this API returned' }]);
    }
    throw error;
  }
}

/** GET /pipes: oldest first, or only the pipes in one state; `nextToken` pages on. */
async function listPipes(deps: ApiDeps, request: Request) {
  const query = parseWith(listPipesQuerySchema, queryOf(request), ['query']);
  const options = { limit: query.limit, cursor: query.nextToken ?? null };
  const page = await withPageToken(() =>
    query.state ? deps.store.listPipesByState(query.state, options) : deps.store.listPipes(options),
  );
  return { pipes: page.items.map(pipeSummary), nextToken: page.nextCursor };
}

/** GET /pipes/{id}/history: newest first. */
async function listHistory(deps: ApiDeps, pipeId: string, request: Request) {
  const query = parseWith(historyQuerySchema, queryOf(request), ['query']);
  await deps.store.getPipe(pipeId);
  const options = { limit: query.limit, cursor: query.nextToken ?? null };
  const page = await withPageToken(() => deps.store.listHistory(pipeId, options));
  return { history: page.items.map(historyView), nextToken: page.nextCursor };
}

export function serveReads<E extends Env>(app: OpenAPIHono<E>, deps: ApiDeps): void {
  serveRoute(app, listPipesRoute, async (c) => c.json(await listPipes(deps, c.req.raw), 200));
  serveRoute(app, getPipeRoute, async (c) => {
    const pipeId = requirePipeId(c.req.param('id'));
    return c.json(await loadPipeView(deps.store, pipeId), 200);
  });
  serveRoute(app, historyRoute, async (c) => {
    const pipeId = requirePipeId(c.req.param('id'));
    return c.json(await listHistory(deps, pipeId, c.req.raw), 200);
  });
}

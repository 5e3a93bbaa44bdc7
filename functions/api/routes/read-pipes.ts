import { InvalidStoreInputError } from '../../core/store-errors.js';
import type { ApiDeps } from '../deps.js';
import { BadRequestError } from '../errors.js';
import { type ApiRequest, type ApiResponse, json } from '../http.js';
import { historyQuerySchema, listPipesQuerySchema, parseWith } from '../schemas.js';
import { historyView, pipeSummary } from '../view.js';
import { loadPipeView } from './pipe-views.js';

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
export async function listPipesRoute(deps: ApiDeps, request: ApiRequest): Promise<ApiResponse> {
  const query = parseWith(listPipesQuerySchema, request.query, ['query']);
  const options = { limit: query.limit, cursor: query.nextToken ?? null };
  const page = await withPageToken(() =>
    query.state ? deps.store.listPipesByState(query.state, options) : deps.store.listPipes(options),
  );
  return json(200, { pipes: page.items.map(pipeSummary), nextToken: page.nextCursor });
}

export async function getPipeRoute(deps: ApiDeps, pipeId: string): Promise<ApiResponse> {
  return json(200, await loadPipeView(deps.store, pipeId));
}

/** GET /pipes/{id}/history: newest first. */
export async function historyRoute(deps: ApiDeps, pipeId: string, request: ApiRequest): Promise<ApiResponse> {
  const query = parseWith(historyQuerySchema, request.query, ['query']);
  await deps.store.getPipe(pipeId);
  const options = { limit: query.limit, cursor: query.nextToken ?? null };
  const page = await withPageToken(() => deps.store.listHistory(pipeId, options));
  return json(200, { history: page.items.map(historyView), nextToken: page.nextCursor });
}

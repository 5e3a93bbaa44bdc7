import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorResponse } from '../../functions/api/error-response.js';
import { TableBelongsToNoPipeError, TableOwnedByAnotherPipeError } from '../../functions/core/errors.js';
import { type ApiFixture, call, createRequest, recordingLog, startApi } from './fixtures.js';

/** Issue 14, findings 2 and 3, as the API answers them. */
describe('table ownership and reserved names at the API', () => {
  let api: ApiFixture;

  beforeAll(async () => {
    api = await startApi();
  });
  afterAll(async () => {
    await api?.stop();
  });

  it('answers a table owned by another pipe, or one that belongs to no pipe, with 409 and the error name', () => {
    const logged: Parameters<typeof recordingLog>[0] = [];
    const logger = recordingLog(logged);
    const owned = errorResponse(new TableOwnedByAnotherPipeError('sm', 'orders', 'p-owner', null), logger);
    expect(owned.status).toBe(409);
    expect(owned.body).toEqual({
      error: {
        name: 'TableOwnedByAnotherPipeError',
        message: expect.stringContaining('table sm.orders belongs to pipe p-owner'),
      },
    });
    const unowned = errorResponse(new TableBelongsToNoPipeError('sm', 'orders'), logger);
    expect(unowned.status).toBe(409);
    expect((unowned.body as { error: unknown }).error).toEqual({
      name: 'TableBelongsToNoPipeError',
      message: 'table sm.orders exists and belongs to no pipe: drop it or pick another name',
    });
    expect(logged).toEqual([]);
  });

  it('refuses x_swapped_out beside x as a mapping: 400 with the field', async () => {
    const body = createRequest('reserved-suffix');
    body.settings.tableMappings = [
      { sourceDatabaseName: 'shop', sourceCollection: 'orders', targetTable: 'x' },
      { sourceDatabaseName: 'shop', sourceCollection: 'archive', targetTable: 'x_swapped_out' },
    ];
    const answer = await call(api.url, 'POST', '/pipes', { body });
    expect(answer.status).toBe(400);
    expect(answer.body.error.fieldErrors).toEqual([
      {
        path: 'settings.tableMappings[1].targetTable',
        message: 'table name must not end with _swapped_out: that suffix is reserved for resync swaps',
      },
    ]);
    expect(api.starter.started).toEqual([]);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CdcSample } from '../../functions/ports/pipe-store.js';
import { type ApiFixture, call, newTwoTablePipe, startApi } from './fixtures.js';

let api: ApiFixture;
beforeAll(async () => {
  api = await startApi();
});
afterAll(async () => {
  await api?.stop();
});

const RUN_START = Date.UTC(2026, 11, 6, 9, 0, 0);
const sample = (minute: number, events: number, lagMs: number | null): CdcSample => ({
  at: RUN_START + minute * 60_000,
  runStartedAt: RUN_START,
  lagMs,
  events,
  eventsPerSecond: minute === 0 ? 0 : events / (minute * 60),
});

describe('GET /pipes/{id}/cdc-history', () => {
  it('answers the samples oldest first, times as ISO 8601', async () => {
    const id = await newTwoTablePipe(api, 'charted');
    for (const [minute, events, lagMs] of [
      [2, 600, 0],
      [1, 120, 2_500],
    ] as const) {
      await api.store.recordCdcSample(id, sample(minute, events, lagMs));
    }
    const answer = await call(api.url, 'GET', `/pipes/${id}/cdc-history`);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      samples: [
        {
          at: '2026-12-06T09:01:00.000Z',
          runStartedAt: '2026-12-06T09:00:00.000Z',
          lagMs: 2_500,
          events: 120,
          eventsPerSecond: 2,
        },
        {
          at: '2026-12-06T09:02:00.000Z',
          runStartedAt: '2026-12-06T09:00:00.000Z',
          lagMs: 0,
          events: 600,
          eventsPerSecond: 5,
        },
      ],
    });
  });

  it('answers an empty history for a pipe that has not run CDC yet', async () => {
    const id = await newTwoTablePipe(api, 'quiet');
    const answer = await call(api.url, 'GET', `/pipes/${id}/cdc-history`);
    expect(answer).toMatchObject({ status: 200, body: { samples: [] } });
  });

  it('is a 404 for a pipe that does not exist, and a 405 for any method but GET', async () => {
    const missing = await call(api.url, 'GET', '/pipes/nope/cdc-history');
    expect(missing.status).toBe(404);
    expect(missing.body.error.name).toBe('PipeNotFoundError');
    const posted = await call(api.url, 'POST', '/pipes/nope/cdc-history', { body: {} });
    expect(posted.status).toBe(405);
    expect(posted.headers.get('allow')).toBe('GET');
  });
});

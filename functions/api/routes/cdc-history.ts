import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { Env } from 'hono';
import { CDC_HISTORY_LENGTH, type CdcSample } from '../../ports/pipe-store.js';
import type { ApiDeps } from '../deps.js';
import { requirePipeId } from '../read-request.js';
import { errorResponses } from '../schemas/error-responses.js';
import { pipeIdParams } from '../schemas/requests.js';
import { dateTime } from '../schemas/shared.js';
import { serveRoute } from '../serve-route.js';

const cdcSampleSchema = z
  .strictObject({
    at: dateTime.describe(
      'When the CDC run wrote this sample (about every minute of a run, and at its end).',
    ),
    runStartedAt: dateTime.describe('When the run that wrote it started: `events` counts from there.'),
    lagMs: z
      .number()
      .int()
      .min(0)
      .nullable()
      .describe("CDC lag at the run's last committed batch; null before the run committed one."),
    events: z.number().int().min(0).describe('Change events the run applied so far.'),
    eventsPerSecond: z.number().min(0).describe('Events applied per second of the run so far.'),
  })
  .openapi('CdcSample');

const cdcHistorySchema = z
  .strictObject({
    samples: z
      .array(cdcSampleSchema)
      .max(CDC_HISTORY_LENGTH)
      .describe(
        `Oldest first: at most one per minute (the newest of that minute) and at most ${CDC_HISTORY_LENGTH}, ` +
          'so about the last two hours of a running pipe. Empty before its first CDC run.',
      ),
  })
  .openapi('CdcHistory');

export const cdcHistoryRoute = createRoute({
  method: 'get',
  path: '/pipes/{id}/cdc-history',
  operationId: 'getPipeCdcHistory',
  summary: 'Recent CDC lag and throughput, one sample per minute of running, oldest first',
  request: { params: pipeIdParams },
  responses: {
    200: {
      description: "The pipe's recent CDC samples: what the status page charts.",
      content: { 'application/json': { schema: cdcHistorySchema } },
    },
    ...errorResponses(404),
  },
});

const iso = (epochMs: number): string => new Date(epochMs).toISOString();

const sampleView = (sample: CdcSample) => ({
  ...sample,
  at: iso(sample.at),
  runStartedAt: iso(sample.runStartedAt),
});

/** GET /pipes/{id}/cdc-history: a missing pipe is a 404, not an empty history. */
export function serveCdcHistory<E extends Env>(app: OpenAPIHono<E>, deps: ApiDeps): void {
  serveRoute(app, cdcHistoryRoute, async (c) => {
    const pipeId = requirePipeId(c.req.param('id'));
    const [, samples] = await Promise.all([deps.store.getPipe(pipeId), deps.store.listCdcSamples(pipeId)]);
    return c.json({ samples: samples.map(sampleView) }, 200);
  });
}

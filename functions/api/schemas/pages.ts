import { z } from '@hono/zod-openapi';
import { PIPE_EVENTS } from '../../core/lifecycle.js';
import { pipeStateSchema, pipeSummarySchema } from './pipe-view.js';
import { dateTime, orNull } from './shared.js';

/** Paged answers carry the token of the next page, null on the last one. */
const nextToken = z.string().nullable().openapi({ description: 'Send as ?nextToken= for the next page.' });

export const pipeListSchema = z
  .strictObject({ pipes: z.array(pipeSummarySchema), nextToken })
  .openapi('PipeList');

export const historyEntrySchema = z
  .strictObject({
    version: z.number().int().min(1),
    from: orNull(pipeStateSchema),
    to: pipeStateSchema,
    event: z.enum(PIPE_EVENTS),
    reason: z.string(),
    actor: z.string(),
    at: dateTime,
  })
  .openapi('HistoryEntry');

export const historyPageSchema = z
  .strictObject({ history: z.array(historyEntrySchema), nextToken })
  .openapi('HistoryPage');

export type HistoryEntryView = z.output<typeof historyEntrySchema>;

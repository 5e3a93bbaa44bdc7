import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { z } from 'zod';
import { CorruptStoreItemError } from '../../core/store-errors.js';
import { CDC_RUN_ENDINGS, type CdcRunRecord } from '../../ports/pipe-store.js';
import { getItem, isConditionalCheckFailed, type StoreContext, toAttributes } from './context.js';
import { cdcRunKey } from './keys.js';
import { requireCount, requirePipeId, requireText } from './validate.js';

/**
 * One item per pipe: its last CDC run, rewritten while a long run goes on and when it ends. The
 * source reading is kept as JSON text (its shape belongs to the source port, not to the store).
 */

const count = z.number().int().nonnegative();
const runItem = z.object({
  holder: z.string(),
  mode: z.enum(['scheduled', 'continuous']),
  startedAt: count,
  endedAt: count.nullable(),
  batches: count,
  events: count,
  eventsPerSecond: z.number().nonnegative(),
  endedBecause: z.enum(CDC_RUN_ENDINGS).nullable(),
  handedOver: z.boolean(),
  sourceJson: z.string().nullable(),
});

export async function recordCdcRun(ctx: StoreContext, pipeIdInput: string, run: CdcRunRecord): Promise<void> {
  const pipeId = requirePipeId(pipeIdInput);
  const startedAt = requireCount(run.startedAt, 'startedAt');
  const item = runItem.parse({
    holder: requireText(run.holder, 'holder'),
    mode: run.mode,
    startedAt,
    endedAt: run.endedAt === null ? null : requireCount(run.endedAt, 'endedAt'),
    batches: requireCount(run.batches, 'batches'),
    events: requireCount(run.events, 'events'),
    eventsPerSecond: run.eventsPerSecond,
    endedBecause: run.endedBecause,
    handedOver: run.handedOver,
    sourceJson: run.source === null ? null : JSON.stringify(run.source),
  });
  try {
    await ctx.client.send(
      new PutItemCommand({
        TableName: ctx.tableName,
        Item: toAttributes({ ...cdcRunKey(pipeId), ...item }),
        ConditionExpression: 'attribute_not_exists(startedAt) OR startedAt <= :startedAt',
        ExpressionAttributeValues: toAttributes({ ':startedAt': startedAt }),
      }),
    );
  } catch (error) {
    // A newer run already wrote its record: this older run's news is stale, not an error.
    if (!isConditionalCheckFailed(error)) throw error;
  }
}

export async function getCdcRun(ctx: StoreContext, pipeIdInput: string): Promise<CdcRunRecord | null> {
  const stored = await getItem(ctx, cdcRunKey(requirePipeId(pipeIdInput)));
  if (!stored) return null;
  const parsed = runItem.safeParse(stored);
  if (!parsed.success)
    throw new CorruptStoreItemError(
      `${String(stored.PK)}/${String(stored.SK)}`,
      z.prettifyError(parsed.error),
    );
  const { sourceJson, ...run } = parsed.data;
  return { ...run, source: sourceJson === null ? null : JSON.parse(sourceJson) };
}

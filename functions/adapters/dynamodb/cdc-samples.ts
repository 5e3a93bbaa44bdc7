import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { z } from 'zod';
import { CorruptStoreItemError } from '../../core/store-errors.js';
import { CDC_HISTORY_LENGTH, type CdcSample } from '../../ports/pipe-store.js';
import { isConditionalCheckFailed, queryPartition, type StoreContext, toAttributes } from './context.js';
import { CDC_SAMPLE_PREFIX, cdcSampleKey, pipePartition } from './keys.js';
import { requireCount, requirePipeId } from './validate.js';

/**
 * A pipe's recent CDC history as a ring of CDC_HISTORY_LENGTH small items, one slot per minute
 * of the clock (`minute mod length`): a sample overwrites its slot, so the history stays bounded
 * without deletes or TTL, and each write is a single one-unit PutItem. One item holding the whole
 * list would cost a write unit per kilobyte of the list on every append.
 */

const MINUTE_MS = 60_000;

const sampleItem = z.object({
  at: z.number().int().nonnegative(),
  runStartedAt: z.number().int().nonnegative(),
  lagMs: z.number().int().nonnegative().nullable(),
  events: z.number().int().nonnegative(),
  eventsPerSecond: z.number().nonnegative(),
});

export const slotOf = (at: number): number => Math.floor(at / MINUTE_MS) % CDC_HISTORY_LENGTH;

export async function recordCdcSample(
  ctx: StoreContext,
  pipeIdInput: string,
  sample: CdcSample,
): Promise<void> {
  const pipeId = requirePipeId(pipeIdInput);
  const at = requireCount(sample.at, 'at');
  const item = sampleItem.parse({
    at,
    runStartedAt: requireCount(sample.runStartedAt, 'runStartedAt'),
    lagMs: sample.lagMs === null ? null : requireCount(Math.round(sample.lagMs), 'lagMs'),
    events: requireCount(sample.events, 'events'),
    eventsPerSecond: sample.eventsPerSecond,
  });
  try {
    await ctx.client.send(
      new PutItemCommand({
        TableName: ctx.tableName,
        Item: toAttributes({ ...cdcSampleKey(pipeId, slotOf(at)), ...item }),
        ConditionExpression: 'attribute_not_exists(#at) OR #at <= :at',
        ExpressionAttributeNames: { '#at': 'at' },
        ExpressionAttributeValues: toAttributes({ ':at': at }),
      }),
    );
  } catch (error) {
    // The slot already holds a newer sample (a later write of this minute won): nothing to keep.
    if (!isConditionalCheckFailed(error)) throw error;
  }
}

export async function listCdcSamples(ctx: StoreContext, pipeIdInput: string): Promise<CdcSample[]> {
  const items = await queryPartition(ctx, pipePartition(requirePipeId(pipeIdInput)), CDC_SAMPLE_PREFIX);
  const samples = items.map((stored) => {
    const parsed = sampleItem.safeParse(stored);
    if (!parsed.success)
      throw new CorruptStoreItemError(
        `${String(stored.PK)}/${String(stored.SK)}`,
        z.prettifyError(parsed.error),
      );
    return parsed.data;
  });
  return samples.sort((a, b) => a.at - b.at);
}

import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { PipeNotFoundError, StateConflictError } from '../../core/errors.js';
import type { PipeRecord, SettingsUpdateExpectation } from '../../ports/pipe-store.js';
import { isConditionalCheckFailed, type StoreContext, toAttributes } from './context.js';
import { pipeKey } from './keys.js';
import { getPipe } from './pipes.js';
import { requirePipeId, toJsonText } from './validate.js';

/**
 * Replaces a pipe's settings with one conditional write: the state and version must still be
 * what the caller read, so a command racing the update makes one of them fail instead of mixing
 * them. The version is not bumped: it counts state changes, which history entries are keyed by.
 */
export async function updateSettings(
  ctx: StoreContext,
  pipeIdInput: string,
  settings: unknown,
  expected: SettingsUpdateExpectation,
): Promise<PipeRecord> {
  const pipeId = requirePipeId(pipeIdInput);
  try {
    await ctx.client.send(
      new UpdateItemCommand({
        TableName: ctx.tableName,
        Key: toAttributes({ ...pipeKey(pipeId) }),
        UpdateExpression: 'SET settingsJson = :settings, updatedAt = :now',
        ConditionExpression: 'attribute_exists(PK) AND #state = :state AND version = :version',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: toAttributes({
          ':settings': toJsonText(settings, 'settings'),
          ':now': ctx.now(),
          ':state': expected.state,
          ':version': expected.version,
        }),
      }),
    );
  } catch (error) {
    if (!isConditionalCheckFailed(error)) throw error;
    const current = await getPipe(ctx, pipeId).catch((cause: unknown) => {
      if (cause instanceof PipeNotFoundError) throw cause;
      throw error;
    });
    throw new StateConflictError(pipeId, expected.state, current.state);
  }
  return getPipe(ctx, pipeId);
}

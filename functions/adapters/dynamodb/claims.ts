import { DeleteItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { StoreUnavailableError } from '../../core/store-errors.js';
import { type ClaimItem, parseClaim } from './codecs.js';
import { getItem, isConditionalCheckFailed, type StoreContext, toAttributes } from './context.js';
import { type ItemKey, pipeKey } from './keys.js';

/**
 * Claims make pipe names (and idempotency keys) unique without transactions: a claim item is
 * put on "not exists" before the pipe is written and names the pipe it belongs to. Delete marks
 * its claims `deleting` first and removes them last, so a claim whose pipe is gone but which is
 * not marked is an unfinished create (only the same request may finish it), never free.
 */

export type ClaimOutcome = { won: true } | { won: false; claim: ClaimItem };

const CLAIM_ATTEMPTS = 3;

export async function claim(
  ctx: StoreContext,
  key: ItemKey,
  pipeId: string,
  requestHash: string,
): Promise<ClaimOutcome> {
  for (let attempt = 0; attempt < CLAIM_ATTEMPTS; attempt++) {
    try {
      await ctx.client.send(
        new PutItemCommand({
          TableName: ctx.tableName,
          Item: toAttributes({ ...key, pipeId, requestHash, deleting: false }),
          ConditionExpression: 'attribute_not_exists(PK)',
        }),
      );
      return { won: true };
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
    const stored = await getItem(ctx, key);
    if (!stored) continue;
    const existing = parseClaim(stored);
    if (existing.pipeId === pipeId && existing.requestHash === requestHash) return { won: true };
    if (existing.deleting && !(await getItem(ctx, pipeKey(existing.pipeId)))) {
      if (await takeOverAbandoned(ctx, key, existing.pipeId, pipeId, requestHash)) return { won: true };
      continue;
    }
    return { won: false, claim: existing };
  }
  throw new StoreUnavailableError(`claim ${key.PK} kept changing under concurrent writers; retry`);
}

async function takeOverAbandoned(
  ctx: StoreContext,
  key: ItemKey,
  previousPipeId: string,
  pipeId: string,
  requestHash: string,
): Promise<boolean> {
  try {
    await ctx.client.send(
      new PutItemCommand({
        TableName: ctx.tableName,
        Item: toAttributes({ ...key, pipeId, requestHash, deleting: false }),
        ConditionExpression: 'pipeId = :previous AND deleting = :true',
        ExpressionAttributeValues: toAttributes({ ':previous': previousPipeId, ':true': true }),
      }),
    );
    return true;
  } catch (error) {
    if (isConditionalCheckFailed(error)) return false;
    throw error;
  }
}

/** Marks a claim as going away with its pipe; a claim owned by another pipe is left alone. */
export async function markClaimDeleting(ctx: StoreContext, key: ItemKey, pipeId: string): Promise<void> {
  try {
    await ctx.client.send(
      new UpdateItemCommand({
        TableName: ctx.tableName,
        Key: toAttributes({ ...key }),
        UpdateExpression: 'SET deleting = :true',
        ConditionExpression: 'pipeId = :pipeId',
        ExpressionAttributeValues: toAttributes({ ':true': true, ':pipeId': pipeId }),
      }),
    );
  } catch (error) {
    if (!isConditionalCheckFailed(error)) throw error;
  }
}

export async function releaseClaim(ctx: StoreContext, key: ItemKey, pipeId: string): Promise<void> {
  try {
    await ctx.client.send(
      new DeleteItemCommand({
        TableName: ctx.tableName,
        Key: toAttributes({ ...key }),
        ConditionExpression: 'pipeId = :pipeId',
        ExpressionAttributeValues: toAttributes({ ':pipeId': pipeId }),
      }),
    );
  } catch (error) {
    if (!isConditionalCheckFailed(error)) throw error;
  }
}

import { PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { LeaseHeldError, StaleFenceError } from '../../core/errors.js';
import { CDC_LEASE, type LeaseRecord } from '../../ports/pipe-store.js';
import { toLease } from './codecs.js';
import { getItem, isConditionalCheckFailed, type StoreContext, toAttributes } from './context.js';
import { leaseKey } from './keys.js';
import { getPipe } from './pipes.js';
import { fenceResumePoint } from './resume-points.js';
import { requirePipeId, requirePositive, requireText } from './validate.js';

/**
 * One holder per (pipe, name) at a time. The fence only grows: a takeover increments it and a
 * release only expires the lease, so a number once handed out is never handed out again.
 */

const MAX_TTL_MS = 24 * 60 * 60 * 1000;

export async function acquireLease(
  ctx: StoreContext,
  pipeIdInput: string,
  nameInput: string,
  holderInput: string,
  ttlMsInput: number,
): Promise<LeaseRecord> {
  const pipeId = requirePipeId(pipeIdInput);
  const name = requireText(nameInput, 'lease name', 64);
  const holder = requireText(holderInput, 'holder');
  const ttlMs = requirePositive(ttlMsInput, 'ttlMs', MAX_TTL_MS);
  await getPipe(ctx, pipeId);

  const key = leaseKey(pipeId, name);
  const stored = await getItem(ctx, key);
  const current = stored ? toLease(stored) : null;
  const now = ctx.now();
  const expiresAt = now + ttlMs;
  if (current && current.holder !== holder && current.expiresAt > now) {
    throw new LeaseHeldError(name, current.holder, current.expiresAt);
  }
  const fence = current === null ? 1 : current.holder === holder ? current.fence : current.fence + 1;
  const lease: LeaseRecord = { name, holder, fence, expiresAt };
  try {
    await replaceLease(ctx, key, lease, current);
  } catch (error) {
    if (!isConditionalCheckFailed(error)) throw error;
    const winner = await getItem(ctx, key);
    const won = winner ? toLease(winner) : null;
    throw new LeaseHeldError(name, won?.holder ?? '(another acquirer)', won?.expiresAt ?? expiresAt);
  }
  if (name === CDC_LEASE) await fenceResumePoint(ctx, pipeId, fence);
  return lease;
}

/** Writes `lease` only if the item is still what was read (`current`, or no item). */
async function replaceLease(
  ctx: StoreContext,
  key: ReturnType<typeof leaseKey>,
  lease: LeaseRecord,
  current: LeaseRecord | null,
): Promise<void> {
  await ctx.client.send(
    new PutItemCommand({
      TableName: ctx.tableName,
      Item: toAttributes({ ...key, ...lease }),
      ConditionExpression: current
        ? 'holder = :seenHolder AND fence = :seenFence'
        : 'attribute_not_exists(PK)',
      ExpressionAttributeValues: current
        ? toAttributes({ ':seenHolder': current.holder, ':seenFence': current.fence })
        : undefined,
    }),
  );
}

export async function renewLease(
  ctx: StoreContext,
  pipeIdInput: string,
  nameInput: string,
  holderInput: string,
  fenceInput: number,
  ttlMsInput: number,
): Promise<LeaseRecord> {
  const ttlMs = requirePositive(ttlMsInput, 'ttlMs', MAX_TTL_MS);
  return updateHeld(ctx, pipeIdInput, nameInput, holderInput, fenceInput, ctx.now() + ttlMs);
}

/** Expires the lease now; the item and its fence stay so the next holder gets a higher fence. */
export async function releaseLease(
  ctx: StoreContext,
  pipeIdInput: string,
  nameInput: string,
  holderInput: string,
  fenceInput: number,
): Promise<void> {
  await updateHeld(ctx, pipeIdInput, nameInput, holderInput, fenceInput, 0);
}

async function updateHeld(
  ctx: StoreContext,
  pipeIdInput: string,
  nameInput: string,
  holderInput: string,
  fenceInput: number,
  expiresAt: number,
): Promise<LeaseRecord> {
  const pipeId = requirePipeId(pipeIdInput);
  const name = requireText(nameInput, 'lease name', 64);
  const holder = requireText(holderInput, 'holder');
  const fence = requirePositive(fenceInput, 'fence');
  try {
    const result = await ctx.client.send(
      new UpdateItemCommand({
        TableName: ctx.tableName,
        Key: toAttributes({ ...leaseKey(pipeId, name) }),
        UpdateExpression: 'SET expiresAt = :expiresAt',
        ConditionExpression: 'holder = :holder AND fence = :fence',
        ExpressionAttributeValues: toAttributes({
          ':expiresAt': expiresAt,
          ':holder': holder,
          ':fence': fence,
        }),
        ReturnValues: 'ALL_NEW',
      }),
    );
    return toLease(unmarshall(result.Attributes ?? {}));
  } catch (error) {
    if (isConditionalCheckFailed(error)) throw new StaleFenceError(name, fence);
    throw error;
  }
}

/** Attempts at a revoke that races other writers of the lease item before it gives up. */
const REVOKE_ATTEMPTS = 5;

export async function revokeLease(
  ctx: StoreContext,
  pipeIdInput: string,
  nameInput: string,
  reasonInput: string,
): Promise<LeaseRecord> {
  const pipeId = requirePipeId(pipeIdInput);
  const name = requireText(nameInput, 'lease name', 64);
  const reason = requireText(reasonInput, 'reason', 200);
  const key = leaseKey(pipeId, name);
  for (let attempt = 1; ; attempt += 1) {
    const stored = await getItem(ctx, key);
    const current = stored ? toLease(stored) : null;
    const lease: LeaseRecord = {
      name,
      holder: `revoked: ${reason}`,
      fence: (current?.fence ?? 0) + 1,
      expiresAt: ctx.now(),
    };
    try {
      await replaceLease(ctx, key, lease, current);
    } catch (error) {
      if (!isConditionalCheckFailed(error) || attempt >= REVOKE_ATTEMPTS) throw error;
      continue;
    }
    if (name === CDC_LEASE) await fenceResumePoint(ctx, pipeId, lease.fence);
    return lease;
  }
}

export async function getLease(
  ctx: StoreContext,
  pipeIdInput: string,
  nameInput: string,
): Promise<LeaseRecord | null> {
  const item = await getItem(
    ctx,
    leaseKey(requirePipeId(pipeIdInput), requireText(nameInput, 'lease name', 64)),
  );
  return item ? toLease(item) : null;
}

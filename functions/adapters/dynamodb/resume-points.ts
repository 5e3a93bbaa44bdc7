import { PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { StaleFenceError } from '../../core/errors.js';
import { InvalidStoreInputError } from '../../core/store-errors.js';
import {
  CDC_LEASE,
  type ResumePointInput,
  type ResumePointRecord,
  type StartPointRecord,
} from '../../ports/pipe-store.js';
import type { ClusterTime, StartPointInput } from '../../ports/source.js';
import { toLease, toResumePoint, toStartPoint } from './codecs.js';
import { getItem, isConditionalCheckFailed, type StoreContext, toAttributes } from './context.js';
import { leaseKey, resumeKey, startPointKey } from './keys.js';
import { getPipe } from './pipes.js';
import { requireCount, requirePipeId, requirePositive, requireText } from './validate.js';

/**
 * The resume item carries the fence of its last writer and only accepts writes with a fence at
 * least as high. Every CDC lease acquisition raises it to the new fence BEFORE the new holder
 * reads the resume point. So an old holder's write either lands before that raise (and the new
 * holder reads it: nothing newer exists yet to overwrite) or is refused by the condition. The
 * lease check before the write only makes a superseded writer fail early and clearly.
 */

const MAX_TOKEN_LENGTH = 16 * 1024;

export async function fenceResumePoint(ctx: StoreContext, pipeId: string, fence: number): Promise<void> {
  try {
    await ctx.client.send(
      new UpdateItemCommand({
        TableName: ctx.tableName,
        Key: toAttributes({ ...resumeKey(pipeId) }),
        UpdateExpression: 'SET fence = :fence',
        ConditionExpression: 'attribute_not_exists(fence) OR fence < :fence',
        ExpressionAttributeValues: toAttributes({ ':fence': fence }),
      }),
    );
  } catch (error) {
    if (!isConditionalCheckFailed(error)) throw error;
  }
}

export async function commitResumePoint(
  ctx: StoreContext,
  pipeIdInput: string,
  point: ResumePointInput,
  fenceInput: number,
): Promise<ResumePointRecord> {
  const pipeId = requirePipeId(pipeIdInput);
  const fence = requirePositive(fenceInput, 'fence');
  const token = requireToken(point?.token);
  const clusterTime = requireClusterTime(point.clusterTime, 'clusterTime');
  const lagMs = point.lagMs === undefined ? null : requireCount(point.lagMs, 'lagMs');

  const lease = await getItem(ctx, leaseKey(pipeId, CDC_LEASE));
  if (!lease || toLease(lease).fence !== fence) throw new StaleFenceError(CDC_LEASE, fence);
  try {
    const result = await ctx.client.send(
      new UpdateItemCommand({
        TableName: ctx.tableName,
        Key: toAttributes({ ...resumeKey(pipeId) }),
        UpdateExpression:
          lagMs === null
            ? 'SET #token = :token, clusterTime = :clusterTime, fence = :fence, committedAt = :now REMOVE lagMs'
            : 'SET #token = :token, clusterTime = :clusterTime, fence = :fence, committedAt = :now, lagMs = :lagMs',
        ConditionExpression: 'attribute_not_exists(fence) OR fence <= :fence',
        ExpressionAttributeNames: { '#token': 'token' },
        ExpressionAttributeValues: toAttributes({
          ':token': token,
          ':clusterTime': clusterTime,
          ':fence': fence,
          ':now': ctx.now(),
          ...(lagMs === null ? {} : { ':lagMs': lagMs }),
        }),
        ReturnValues: 'ALL_NEW',
      }),
    );
    const committed = toResumePoint(unmarshall(result.Attributes ?? {}));
    if (!committed) throw new InvalidStoreInputError('resume point', 'was not stored');
    return committed;
  } catch (error) {
    if (isConditionalCheckFailed(error)) throw new StaleFenceError(CDC_LEASE, fence);
    throw error;
  }
}

export async function getResumePoint(
  ctx: StoreContext,
  pipeIdInput: string,
): Promise<ResumePointRecord | null> {
  const item = await getItem(ctx, resumeKey(requirePipeId(pipeIdInput)));
  return item ? toResumePoint(item) : null;
}

/** Replaced by every snapshot or resync: the newest start point is the one CDC falls back to. */
export async function recordStartPoint(
  ctx: StoreContext,
  pipeIdInput: string,
  point: StartPointInput,
): Promise<StartPointRecord> {
  const pipeId = requirePipeId(pipeIdInput);
  const token = requireToken(point?.token);
  const clusterTime =
    point.clusterTime === null ? null : requireClusterTime(point.clusterTime, 'clusterTime');
  if (token === null && clusterTime === null) {
    throw new InvalidStoreInputError('start point', 'needs a token or a cluster time');
  }
  await getPipe(ctx, pipeId);
  const record: StartPointRecord = { token, clusterTime, recordedAt: ctx.now() };
  await ctx.client.send(
    new PutItemCommand({
      TableName: ctx.tableName,
      Item: toAttributes({ ...startPointKey(pipeId), ...record }),
    }),
  );
  return record;
}

export async function getStartPoint(
  ctx: StoreContext,
  pipeIdInput: string,
): Promise<StartPointRecord | null> {
  const item = await getItem(ctx, startPointKey(requirePipeId(pipeIdInput)));
  return item ? toStartPoint(item) : null;
}

function requireToken(value: unknown): string | null {
  return value === null ? null : requireText(value, 'token', MAX_TOKEN_LENGTH);
}

function requireClusterTime(value: unknown, field: string): ClusterTime {
  if (value === null || typeof value !== 'object') {
    throw new InvalidStoreInputError(field, 'must be { seconds, increment }');
  }
  const { seconds, increment } = value as Record<string, unknown>;
  return {
    seconds: requireCount(seconds, `${field}.seconds`),
    increment: requireCount(increment, `${field}.increment`),
  };
}

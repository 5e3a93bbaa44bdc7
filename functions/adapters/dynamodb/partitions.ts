import {
  DeleteItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  type UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import {
  CheckpointRegressionError,
  InvalidStoreInputError,
  PartitionNotFoundError,
} from '../../core/store-errors.js';
import type {
  PartitionCheckpoint,
  PartitionPlanEntry,
  PartitionRecord,
  PendingBatch,
  PlanFence,
} from '../../ports/pipe-store.js';
import { toPartition } from './codecs.js';
import {
  batchWrite,
  deleteRequest,
  getItem,
  isConditionalCheckFailed,
  putRequest,
  queryPartition,
  type StoreContext,
  toAttributes,
} from './context.js';
import { partitionKey, partitionPrefix, pipePartition, planKey } from './keys.js';
import { getPipe } from './pipes.js';
import { newPlanId, planCondition, replannedRefusal } from './plan-fence.js';
import {
  requireCount,
  requirePipeId,
  requirePositive,
  requireTableKey,
  requireText,
  toJsonText,
} from './validate.js';

const MAX_PARTITIONS = 100_000;
const MAX_CHECKPOINT_LENGTH = 64 * 1024;

/**
 * The plan header is written after all partition items, so its presence means "plan complete".
 * Until then a retry rewrites the partitions (none has progress yet: chunks start after the
 * plan step) and drops any left from a larger earlier attempt. One planner per table at a time.
 * Every partition item and the header carry the plan id this save made (plan-fence.ts).
 */
export async function savePartitionPlan(
  ctx: StoreContext,
  pipeIdInput: string,
  tableKeyInput: string,
  plan: PartitionPlanEntry[],
): Promise<PartitionRecord[]> {
  const pipeId = requirePipeId(pipeIdInput);
  const tableKey = requireTableKey(tableKeyInput);
  const entries = requirePlan(plan);
  if (await getItem(ctx, planKey(pipeId, tableKey))) return listPartitions(ctx, pipeId, tableKey);
  await getPipe(ctx, pipeId);

  const leftovers = (await listPartitions(ctx, pipeId, tableKey)).filter((p) => p.index >= entries.length);
  await batchWrite(
    ctx,
    leftovers.map((p) => deleteRequest(partitionKey(pipeId, tableKey, p.index))),
  );
  const now = ctx.now();
  const planId = newPlanId();
  await batchWrite(
    ctx,
    entries.map((entry) =>
      putRequest({
        ...partitionKey(pipeId, tableKey, entry.index),
        pipeId,
        tableKey,
        index: entry.index,
        boundsJson: entry.boundsJson,
        checkpoint: null,
        rowsCopied: 0,
        seq: 0,
        done: false,
        planId,
        updatedAt: now,
      }),
    ),
  );
  try {
    await ctx.client.send(
      new PutItemCommand({
        TableName: ctx.tableName,
        Item: toAttributes({
          ...planKey(pipeId, tableKey),
          partitionsTotal: entries.length,
          planId,
          savedAt: now,
        }),
        ConditionExpression: 'attribute_not_exists(PK)',
      }),
    );
  } catch (error) {
    if (!isConditionalCheckFailed(error)) throw error;
  }
  return listPartitions(ctx, pipeId, tableKey);
}

function requirePlan(plan: PartitionPlanEntry[]): { index: number; boundsJson: string }[] {
  if (!Array.isArray(plan) || plan.length === 0 || plan.length > MAX_PARTITIONS) {
    throw new InvalidStoreInputError('plan', `must list 1 to ${MAX_PARTITIONS} partitions`);
  }
  const entries = plan.map((entry, position) => ({
    index: requireCount(entry?.index, `plan[${position}].index`),
    boundsJson: toJsonText(entry.bounds, `plan[${position}].bounds`),
  }));
  entries.sort((a, b) => a.index - b.index);
  if (entries.some((entry, position) => entry.index !== position)) {
    throw new InvalidStoreInputError('plan', 'indexes must be 0..n-1, each once');
  }
  return entries;
}

export async function listPartitions(
  ctx: StoreContext,
  pipeIdInput: string,
  tableKeyInput: string,
): Promise<PartitionRecord[]> {
  const pipeId = requirePipeId(pipeIdInput);
  const items = await queryPartition(
    ctx,
    pipePartition(pipeId),
    partitionPrefix(requireTableKey(tableKeyInput)),
  );
  return items.map(toPartition);
}

/** Header first: once it is gone the plan counts as unsaved, whatever partition items a crash leaves. */
export async function deletePartitionPlan(
  ctx: StoreContext,
  pipeIdInput: string,
  tableKeyInput: string,
): Promise<void> {
  const pipeId = requirePipeId(pipeIdInput);
  const tableKey = requireTableKey(tableKeyInput);
  await ctx.client.send(
    new DeleteItemCommand({ TableName: ctx.tableName, Key: toAttributes({ ...planKey(pipeId, tableKey) }) }),
  );
  const partitions = await listPartitions(ctx, pipeId, tableKey);
  await batchWrite(
    ctx,
    partitions.map((p) => deleteRequest(partitionKey(pipeId, tableKey, p.index))),
  );
}

/**
 * Conditional on a strictly higher seq, an open partition and the writer's plan,
 * so a late, replayed or stale writer cannot move it. The pending batch goes in the same write:
 * the checkpoint is where it ended.
 */
export async function checkpointPartition(
  ctx: StoreContext,
  pipeIdInput: string,
  tableKeyInput: string,
  indexInput: number,
  checkpoint: PartitionCheckpoint,
  fence: PlanFence,
): Promise<PartitionRecord> {
  const pipeId = requirePipeId(pipeIdInput);
  const tableKey = requireTableKey(tableKeyInput);
  const index = requireCount(indexInput, 'index');
  const seq = requirePositive(checkpoint?.seq, 'seq');
  const lastId = requireText(checkpoint.checkpoint, 'checkpoint', MAX_CHECKPOINT_LENGTH);
  const rowsCopied = requireCount(checkpoint.rowsCopied, 'rowsCopied');
  if (checkpoint.done !== undefined && typeof checkpoint.done !== 'boolean') {
    throw new InvalidStoreInputError('done', 'must be a boolean');
  }
  const plan = planCondition(fence);
  return updatePartition(
    ctx,
    { pipeId, tableKey, index },
    {
      UpdateExpression:
        'SET #checkpoint = :checkpoint, rowsCopied = :rows, seq = :seq, done = :done, updatedAt = :now' +
        (checkpoint.typeMismatches === undefined ? '' : ', typeMismatchesJson = :mismatches') +
        ' REMOVE pendingBatch',
      ConditionExpression: `attribute_exists(PK) AND seq < :seq AND done = :open${plan.expression}`,
      ExpressionAttributeNames: { '#checkpoint': 'checkpoint' },
      ExpressionAttributeValues: toAttributes({
        ...plan.values,
        ':checkpoint': lastId,
        ':rows': rowsCopied,
        ':seq': seq,
        ':done': checkpoint.done ?? false,
        ':now': ctx.now(),
        ':open': false,
        ...(checkpoint.typeMismatches === undefined
          ? {}
          : { ':mismatches': JSON.stringify(mismatchCounts(checkpoint.typeMismatches)) }),
      }),
    },
    seq,
    (current) => replannedRefusal(current, fence, `checkpoint seq ${seq} refused`),
  );
}

/** Conditional on the writer's plan, so a stale chunk cannot close a new plan's partition. */
export async function markPartitionDone(
  ctx: StoreContext,
  pipeIdInput: string,
  tableKeyInput: string,
  indexInput: number,
  fence: PlanFence,
): Promise<PartitionRecord> {
  const pipeId = requirePipeId(pipeIdInput);
  const tableKey = requireTableKey(tableKeyInput);
  const index = requireCount(indexInput, 'index');
  const plan = planCondition(fence);
  return updatePartition(
    ctx,
    { pipeId, tableKey, index },
    {
      UpdateExpression: 'SET done = :done, updatedAt = :now REMOVE pendingBatch',
      ConditionExpression: `attribute_exists(PK)${plan.expression}`,
      ExpressionAttributeValues: toAttributes({ ...plan.values, ':done': true, ':now': ctx.now() }),
    },
    null,
    (current) => replannedRefusal(current, fence, 'marking it done refused'),
  );
}

/**
 * One conditional write, so of two chunks racing on a partition only the one whose view of it is
 * current records its batch: open, at the seq before the batch's, at the batch's start, with
 * no batch pending (a pending batch is replayed, never replaced) and of its plan. A fresh partition stores its
 * checkpoint as NULL (savePartitionPlan), so a batch from the partition's start asks for that type.
 */
export async function recordPendingBatch(
  ctx: StoreContext,
  pipeIdInput: string,
  tableKeyInput: string,
  indexInput: number,
  pending: PendingBatch,
  fence: PlanFence,
): Promise<PartitionRecord> {
  const pipeId = requirePipeId(pipeIdInput);
  const tableKey = requireTableKey(tableKeyInput);
  const index = requireCount(indexInput, 'index');
  const batch = requirePendingBatch(pending);
  const startsFresh = batch.start === null;
  const plan = planCondition(fence);
  return updatePartition(
    ctx,
    { pipeId, tableKey, index },
    {
      UpdateExpression: 'SET pendingBatch = :pending, updatedAt = :now',
      ConditionExpression:
        'attribute_exists(PK) AND done = :open AND seq = :storedSeq AND attribute_not_exists(pendingBatch) AND ' +
        (startsFresh ? 'attribute_type(#checkpoint, :nullType)' : '#checkpoint = :start') +
        plan.expression,
      ExpressionAttributeNames: { '#checkpoint': 'checkpoint' },
      ExpressionAttributeValues: toAttributes({
        ...plan.values,
        ':pending': batch,
        ':now': ctx.now(),
        ':open': false,
        ':storedSeq': batch.seq - 1,
        ...(startsFresh ? { ':nullType': 'NULL' } : { ':start': batch.start }),
      }),
    },
    batch.seq,
    (current) =>
      replannedRefusal(current, fence, `pending batch seq ${batch.seq} refused`) ??
      pendingBatchRefusal(current, batch),
  );
}

/**
 * One conditional UpdateItem of a partition: the partition as written, or, when its condition
 * fails, PartitionNotFoundError or a CheckpointRegressionError with the stored seq, `givenSeq`
 * (null: the write named none, the stored one is reported) and `refusal(stored)`'s words.
 */
async function updatePartition(
  ctx: StoreContext,
  ids: { pipeId: string; tableKey: string; index: number },
  update: Pick<
    UpdateItemCommandInput,
    'UpdateExpression' | 'ConditionExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'
  >,
  givenSeq: number | null,
  refusal: (current: PartitionRecord) => string | undefined,
): Promise<PartitionRecord> {
  const { pipeId, tableKey, index } = ids;
  const key = partitionKey(pipeId, tableKey, index);
  try {
    const result = await ctx.client.send(
      new UpdateItemCommand({
        TableName: ctx.tableName,
        Key: toAttributes({ ...key }),
        ReturnValues: 'ALL_NEW',
        ...update,
      }),
    );
    return toPartition(unmarshall(result.Attributes ?? {}));
  } catch (error) {
    if (!isConditionalCheckFailed(error)) throw error;
    const stored = await getItem(ctx, key);
    if (!stored) throw new PartitionNotFoundError(pipeId, tableKey, index);
    const current = toPartition(stored);
    throw new CheckpointRegressionError(
      pipeId,
      tableKey,
      index,
      current.seq,
      givenSeq ?? current.seq,
      current.done,
      refusal(current),
    );
  }
}

function requirePendingBatch(pending: PendingBatch): PendingBatch {
  const seq = requirePositive(pending?.seq, 'pending.seq');
  const end = requireText(pending.end, 'pending.end', MAX_CHECKPOINT_LENGTH);
  const start =
    pending.start === null ? null : requireText(pending.start, 'pending.start', MAX_CHECKPOINT_LENGTH);
  return { seq, start, end };
}

/** Why the stored partition refused the batch; the `_id`s stay out of the message (they are user data). */
function pendingBatchRefusal(current: PartitionRecord, batch: PendingBatch): string {
  const refused = `pending batch seq ${batch.seq} refused`;
  if (current.done) return `is already done; ${refused}`;
  if (current.pending !== undefined)
    return `already holds pending batch seq ${current.pending.seq}, which must be replayed first; ${refused}`;
  if (current.seq !== batch.seq - 1)
    return `is at seq ${current.seq}, so its next batch is seq ${current.seq + 1}; ${refused}`;
  if (current.checkpoint !== batch.start)
    return `has a checkpoint other than the batch's start (another writer moved it); ${refused}`;
  return `changed while the batch was being recorded; ${refused}`;
}

/** Counts per column name: whole, non-negative numbers only. */
export function mismatchCounts(counts: Record<string, number>): Record<string, number> {
  const checked: Record<string, number> = {};
  for (const [column, count] of Object.entries(counts))
    checked[column] = requireCount(count, `typeMismatches.${column}`);
  return checked;
}

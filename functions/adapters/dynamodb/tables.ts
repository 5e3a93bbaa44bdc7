import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { InvalidStoreInputError, TableMappingNotFoundError } from '../../core/store-errors.js';
import { tableKeyOf } from '../../core/table-key.js';
import {
  type PartitionRecord,
  TABLE_STATES,
  TABLE_STOP_REASONS,
  type TableMappingInput,
  type TableMappingRecord,
  type TableState,
  type TableStateChange,
} from '../../ports/pipe-store.js';
import { CDC_MISMATCH_PREFIX, toTableMapping } from './codecs.js';
import {
  getItem,
  isConditionalCheckFailed,
  queryPartition,
  type StoreContext,
  toAttributes,
} from './context.js';
import { pipePartition, TABLE_PREFIX, tableMappingKey } from './keys.js';
import { listPartitions, mismatchCounts } from './partitions.js';
import { getPipe } from './pipes.js';
import { requireCount, requireOneOf, requirePipeId, requireTableKey, requireText } from './validate.js';

/** `<database>.<collection>`: database names cannot contain a dot, so the first dot splits it back. */
/** Creates the mapping or updates its names and state; progress already made is kept. */
export async function putTableMapping(
  ctx: StoreContext,
  pipeIdInput: string,
  mapping: TableMappingInput,
  stateInput: TableState = 'Pending',
): Promise<TableMappingRecord> {
  const pipeId = requirePipeId(pipeIdInput);
  const sourceDatabaseName = requireText(mapping?.sourceDatabaseName, 'sourceDatabaseName', 64);
  if (sourceDatabaseName.includes('.')) {
    throw new InvalidStoreInputError('sourceDatabaseName', 'cannot contain "."');
  }
  const sourceCollection = requireText(mapping.sourceCollection, 'sourceCollection', 255);
  const targetTable = requireText(mapping.targetTable, 'targetTable', 255);
  const state = requireOneOf(stateInput, TABLE_STATES, 'state');
  await getPipe(ctx, pipeId);
  const tableKey = tableKeyOf({ sourceDatabaseName, sourceCollection });
  return updateTable(
    ctx,
    pipeId,
    tableKey,
    `SET pipeId = :pipeId, tableKey = :tableKey, sourceDatabaseName = :db, sourceCollection = :collection,
       targetTable = :target, #state = :state, stopReason = :none, stopMessage = :none, updatedAt = :now,
       documentsCopied = if_not_exists(documentsCopied, :zero),
       documentsEstimated = if_not_exists(documentsEstimated, :zero),
       partitionsDone = if_not_exists(partitionsDone, :zero),
       partitionsTotal = if_not_exists(partitionsTotal, :zero)`,
    {
      ':pipeId': pipeId,
      ':tableKey': tableKey,
      ':db': sourceDatabaseName,
      ':collection': sourceCollection,
      ':target': targetTable,
      ':state': state,
      ':none': null,
      ':zero': 0,
    },
    false,
  );
}

export async function getTableMapping(
  ctx: StoreContext,
  pipeIdInput: string,
  tableKeyInput: string,
): Promise<TableMappingRecord | null> {
  const item = await getItem(
    ctx,
    tableMappingKey(requirePipeId(pipeIdInput), requireTableKey(tableKeyInput)),
  );
  return item ? toTableMapping(item) : null;
}

export async function listTableMappings(
  ctx: StoreContext,
  pipeIdInput: string,
): Promise<TableMappingRecord[]> {
  const items = await queryPartition(ctx, pipePartition(requirePipeId(pipeIdInput)), TABLE_PREFIX);
  return items.map(toTableMapping);
}

/** A table is Stopped only for a named reason (drop, rename, ...); no other state carries one. */
export async function setTableState(
  ctx: StoreContext,
  pipeIdInput: string,
  tableKeyInput: string,
  change: TableStateChange,
): Promise<TableMappingRecord> {
  const state = requireOneOf(change?.state, TABLE_STATES, 'state');
  const stopped = state === 'Stopped';
  if (stopped !== (change.stopReason !== undefined)) {
    throw new InvalidStoreInputError('stopReason', 'is required for Stopped and allowed for no other state');
  }
  const stopReason = stopped ? requireOneOf(change.stopReason, TABLE_STOP_REASONS, 'stopReason') : null;
  const stopMessage =
    stopped && change.stopMessage !== undefined ? requireText(change.stopMessage, 'stopMessage', 2000) : null;
  return updateTable(
    ctx,
    requirePipeId(pipeIdInput),
    requireTableKey(tableKeyInput),
    'SET #state = :state, stopReason = :reason, stopMessage = :message, updatedAt = :now',
    { ':state': state, ':reason': stopReason, ':message': stopMessage },
    true,
  );
}

export async function setTableEstimate(
  ctx: StoreContext,
  pipeIdInput: string,
  tableKeyInput: string,
  documentsEstimated: number,
): Promise<TableMappingRecord> {
  return updateTable(
    ctx,
    requirePipeId(pipeIdInput),
    requireTableKey(tableKeyInput),
    'SET documentsEstimated = :estimate, updatedAt = :now',
    { ':estimate': requireCount(documentsEstimated, 'documentsEstimated') },
    true,
  );
}

/** Partition items are the truth (each checkpoint is conditional there); this copies their totals. */
export async function refreshTableProgress(
  ctx: StoreContext,
  pipeIdInput: string,
  tableKeyInput: string,
): Promise<TableMappingRecord> {
  const pipeId = requirePipeId(pipeIdInput);
  const tableKey = requireTableKey(tableKeyInput);
  const partitions = await listPartitions(ctx, pipeId, tableKey);
  return updateTable(
    ctx,
    pipeId,
    tableKey,
    'SET documentsCopied = :copied, partitionsDone = :done, partitionsTotal = :total, ' +
      'snapshotMismatchesJson = :mismatches, updatedAt = :now',
    {
      ':copied': partitions.reduce((sum, partition) => sum + partition.rowsCopied, 0),
      ':done': partitions.filter((partition) => partition.done).length,
      ':total': partitions.length,
      ':mismatches': JSON.stringify(summedMismatches(partitions)),
    },
    true,
  );
}

function summedMismatches(partitions: readonly PartitionRecord[]): Record<string, number> {
  const sums: Record<string, number> = {};
  for (const partition of partitions) {
    for (const [column, count] of Object.entries(partition.typeMismatches ?? {}))
      sums[column] = (sums[column] ?? 0) + count;
  }
  return sums;
}

/** ADDs to one attribute per column, so concurrent batches never lose each other's counts. */
export async function addTypeMismatches(
  ctx: StoreContext,
  pipeIdInput: string,
  tableKeyInput: string,
  counts: Record<string, number>,
): Promise<void> {
  const pipeId = requirePipeId(pipeIdInput);
  const tableKey = requireTableKey(tableKeyInput);
  const entries = Object.entries(mismatchCounts(counts)).filter(([, count]) => count > 0);
  if (entries.length === 0) return;
  const names: Record<string, string> = {};
  const values: Record<string, number> = {};
  const adds = entries.map(([column, count], index) => {
    names[`#c${index}`] = `${CDC_MISMATCH_PREFIX}${column}`;
    values[`:c${index}`] = count;
    return `#c${index} :c${index}`;
  });
  try {
    await ctx.client.send(
      new UpdateItemCommand({
        TableName: ctx.tableName,
        Key: toAttributes({ ...tableMappingKey(pipeId, tableKey) }),
        UpdateExpression: `ADD ${adds.join(', ')}`,
        ConditionExpression: 'attribute_exists(PK)',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: toAttributes(values),
      }),
    );
  } catch (error) {
    if (isConditionalCheckFailed(error)) throw new TableMappingNotFoundError(pipeId, tableKey);
    throw error;
  }
}

async function updateTable(
  ctx: StoreContext,
  pipeId: string,
  tableKey: string,
  updateExpression: string,
  values: Record<string, unknown>,
  mustExist: boolean,
): Promise<TableMappingRecord> {
  const usesState = updateExpression.includes('#state');
  try {
    const result = await ctx.client.send(
      new UpdateItemCommand({
        TableName: ctx.tableName,
        Key: toAttributes({ ...tableMappingKey(pipeId, tableKey) }),
        UpdateExpression: updateExpression,
        ConditionExpression: mustExist ? 'attribute_exists(PK)' : undefined,
        ExpressionAttributeNames: usesState ? { '#state': 'state' } : undefined,
        ExpressionAttributeValues: toAttributes({ ...values, ':now': ctx.now() }),
        ReturnValues: 'ALL_NEW',
      }),
    );
    return toTableMapping(unmarshall(result.Attributes ?? {}));
  } catch (error) {
    if (isConditionalCheckFailed(error)) throw new TableMappingNotFoundError(pipeId, tableKey);
    throw error;
  }
}

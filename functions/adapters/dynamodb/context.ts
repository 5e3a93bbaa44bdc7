import {
  type AttributeValue,
  BatchWriteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  QueryCommand,
  type QueryCommandInput,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { StoreUnavailableError } from '../../core/store-errors.js';
import type { ItemKey } from './keys.js';

/** What every part of the store needs: the client, the table and the clock. */
export interface StoreContext {
  client: DynamoDBClient;
  tableName: string;
  now: () => number;
}

export type Item = Record<string, unknown>;

export const toAttributes = (value: Item): Record<string, AttributeValue> =>
  marshall(value, { removeUndefinedValues: true });

export function isConditionalCheckFailed(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

/** Strongly consistent: every read-then-conditional-write in the store depends on it. */
export async function getItem(ctx: StoreContext, key: ItemKey): Promise<Item | null> {
  const result = await ctx.client.send(
    new GetItemCommand({ TableName: ctx.tableName, Key: toAttributes({ ...key }), ConsistentRead: true }),
  );
  return result.Item ? unmarshall(result.Item) : null;
}

/** Runs a query to the end, bounded by `maxPages` so a runaway partition cannot loop forever. */
export async function queryAll(
  ctx: StoreContext,
  input: Omit<QueryCommandInput, 'TableName' | 'ExclusiveStartKey'>,
  maxPages = 1000,
): Promise<Item[]> {
  const items: Item[] = [];
  let startKey: Record<string, AttributeValue> | undefined;
  for (let page = 0; page < maxPages; page++) {
    const result = await ctx.client.send(
      new QueryCommand({ ...input, TableName: ctx.tableName, ExclusiveStartKey: startKey }),
    );
    for (const item of result.Items ?? []) items.push(unmarshall(item));
    startKey = result.LastEvaluatedKey;
    if (!startKey) return items;
  }
  throw new StoreUnavailableError(`query on ${ctx.tableName} did not finish within ${maxPages} pages`);
}

/** Every item of one pipe's partition (the pipe, its history, tables, partitions, leases...). */
export function queryPartition(ctx: StoreContext, partition: string, sortPrefix?: string): Promise<Item[]> {
  const values: Item = { ':pk': partition };
  let condition = 'PK = :pk';
  if (sortPrefix !== undefined) {
    condition += ' AND begins_with(SK, :prefix)';
    values[':prefix'] = sortPrefix;
  }
  return queryAll(ctx, {
    KeyConditionExpression: condition,
    ExpressionAttributeValues: toAttributes(values),
    ConsistentRead: true,
  });
}

const BATCH_LIMIT = 25;
const BATCH_ATTEMPTS = 8;

/** BatchWriteItem in chunks of 25, retrying what DynamoDB left unprocessed a bounded number of times. */
export async function batchWrite(ctx: StoreContext, requests: WriteRequest[]): Promise<void> {
  for (let start = 0; start < requests.length; start += BATCH_LIMIT) {
    let pending = requests.slice(start, start + BATCH_LIMIT);
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt === BATCH_ATTEMPTS) {
        throw new StoreUnavailableError(
          `${pending.length} writes stayed unprocessed after ${attempt} attempts`,
        );
      }
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 20 * 2 ** attempt));
      const result = await ctx.client.send(
        new BatchWriteItemCommand({ RequestItems: { [ctx.tableName]: pending } }),
      );
      pending = result.UnprocessedItems?.[ctx.tableName] ?? [];
    }
  }
}

export const deleteRequest = (key: ItemKey): WriteRequest => ({
  DeleteRequest: { Key: toAttributes({ ...key }) },
});

export const putRequest = (item: Item): WriteRequest => ({ PutRequest: { Item: toAttributes(item) } });

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
import { classifyAwsError } from '../../core/classify.js';
import { PipeError } from '../../core/errors.js';
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

const NAMING_MIDDLEWARE = 'pipeStoreNamedErrors';
const ATTEMPTS_MIDDLEWARE = 'pipeStoreUnansweredAttempts';
/** Set on a call's context when one of its attempts got no definite answer (it may have landed). */
const UNANSWERED = Symbol('an attempt of this call may have landed');

type CallContext = { commandName?: string; [UNANSWERED]?: boolean };

/** The table a request names (BatchWriteItem names it as the key of its requests). */
function tableOf(input: unknown): string | undefined {
  const request = (input ?? {}) as { TableName?: unknown; RequestItems?: Record<string, unknown> };
  if (typeof request.TableName === 'string') return request.TableName;
  const [table] = Object.keys(request.RequestItems ?? {});
  return table;
}

/**
 * Only a 4xx answer says the request was not applied (throttled, refused, invalid). A 5xx, a
 * timeout or a broken connection leaves it open: the write may have landed before the failure.
 */
function mayHaveLanded(error: unknown): boolean {
  const status = (error as { $metadata?: { httpStatusCode?: unknown } } | null)?.$metadata?.httpStatusCode;
  return !(typeof status === 'number' && status >= 400 && status < 500);
}

/**
 * Makes every error the store's DynamoDB client throws a named one, in this one place: the
 * store's modules call `ctx.client.send` and see StoreUnavailableError for throttling, 5xx,
 * timeouts and broken connections (the machines retry it), and FatalError saying what to fix
 * for a denied, missing or invalid request (classifyAwsError). ConditionalCheckFailedException
 * reaches the store's own checks unchanged, except when an earlier attempt of the same call (the
 * SDK retries a 5xx or a reset by itself) got no answer: then the refusal may be of that
 * attempt's own write, so it is StoreUnavailableError too and the step's retry reads what is
 * stored, instead of reading it as a conflict (a lost lease, a checkpoint moving backwards).
 * Added once per client; returns the client.
 */
export function withNamedStoreErrors(client: DynamoDBClient): DynamoDBClient {
  const stack = client.middlewareStack;
  if (stack.identify().some((entry) => entry.startsWith(`${NAMING_MIDDLEWARE} `))) return client;
  stack.add(
    (next, context: CallContext) => async (args) => {
      try {
        return await next(args);
      } catch (error) {
        if (mayHaveLanded(error)) context[UNANSWERED] = true;
        throw error;
      }
    },
    // Inside the SDK's retries (finalizeRequest): sees every attempt.
    { step: 'deserialize', priority: 'high', name: ATTEMPTS_MIDDLEWARE },
  );
  stack.add(
    (next, context: CallContext) => async (args) => {
      try {
        return await next(args);
      } catch (error) {
        if (error instanceof PipeError) throw error;
        const call = {
          operation: context.commandName,
          resource: `table ${tableOf(args.input) ?? '(unknown)'}`,
        };
        if (!isConditionalCheckFailed(error)) throw classifyAwsError(error, 'dynamodb', call);
        if (!context[UNANSWERED]) throw error;
        throw new StoreUnavailableError(
          `DynamoDB ${call.operation?.replace(/Command$/, '')} on ${call.resource}: the condition failed on a ` +
            'retry of a request whose earlier attempt got no answer, so that attempt may have landed; ' +
            'retrying the step reads what is stored',
          { cause: error },
        );
      }
    },
    // Outside everything, the SDK's retries included: sees what the caller would.
    { step: 'initialize', priority: 'high', name: NAMING_MIDDLEWARE },
  );
  return client;
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

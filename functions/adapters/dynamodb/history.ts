import {
  type AttributeValue,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { PipeNotFoundError, StateConflictError } from '../../core/errors.js';
import { PIPE_EVENTS, PIPE_STATES, type PipeEvent, transition } from '../../core/lifecycle.js';
import type {
  ApplyEventOptions,
  HistoryEntry,
  ListOptions,
  Page,
  PipeRecord,
} from '../../ports/pipe-store.js';
import { parseHistoryEntry, parsePipeItem, pipeRecordOf } from './codecs.js';
import { getItem, isConditionalCheckFailed, type StoreContext, toAttributes } from './context.js';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './cursor.js';
import { HISTORY_PREFIX, historyKey, pipeKey, pipePartition, statePartition } from './keys.js';
import { requireOneOf, requirePipeId, requirePositive, requireText } from './validate.js';

/**
 * State changes without transactions. The pipe item carries its newest change (`lastChange`)
 * and the history items are copies of it. Order of writes in applyEvent:
 *   1. copy the current `lastChange` into history (idempotent: its content is fixed by version),
 *   2. conditional state write (state AND version as read) that also replaces `lastChange`,
 *   3. copy the new `lastChange` into history.
 * A crash after 2 loses nothing: the entry is on the pipe item, readers merge it in, and step 1
 * of the next change copies it. A crash before 2 changed nothing. So every version up to the
 * pipe's exists in history or on the pipe, and no entry ever exists for a version that did not win.
 */

export async function copyToHistory(ctx: StoreContext, pipeId: string, entry: HistoryEntry): Promise<void> {
  await ctx.client.send(
    new PutItemCommand({
      TableName: ctx.tableName,
      Item: toAttributes({ ...historyKey(pipeId, entry.version), ...entry }),
    }),
  );
}

export async function applyEvent(
  ctx: StoreContext,
  pipeIdInput: string,
  eventInput: PipeEvent,
  options: ApplyEventOptions,
): Promise<PipeRecord> {
  const pipeId = requirePipeId(pipeIdInput);
  const event = requireOneOf(eventInput, PIPE_EVENTS, 'event');
  const expectedState =
    options.expectedState === undefined
      ? undefined
      : requireOneOf(options.expectedState, PIPE_STATES, 'expectedState');
  const reason = requireText(options.reason, 'reason', 1024);
  const actor = requireText(options.actor, 'actor');
  const requestId = options.requestId === undefined ? undefined : requireText(options.requestId, 'requestId');

  const stored = await getItem(ctx, pipeKey(pipeId));
  if (!stored) throw new PipeNotFoundError(pipeId);
  const pipe = parsePipeItem(stored);
  if (expectedState !== undefined && pipe.state !== expectedState) {
    throw new StateConflictError(pipeId, expectedState, pipe.state);
  }
  const next = transition(pipe.state, event);

  await copyToHistory(ctx, pipeId, pipe.lastChange);
  const now = ctx.now();
  const change: HistoryEntry = {
    version: pipe.version + 1,
    from: pipe.state,
    to: next,
    event,
    reason,
    actor,
    at: now,
    ...(requestId === undefined ? {} : { requestId }),
  };
  let written: Record<string, AttributeValue> | undefined;
  try {
    const result = await ctx.client.send(
      new UpdateItemCommand({
        TableName: ctx.tableName,
        Key: toAttributes({ ...pipeKey(pipeId) }),
        UpdateExpression:
          'SET #state = :next, version = :nextVersion, updatedAt = :now, lastChange = :change, GSI2PK = :statePk',
        ConditionExpression: '#state = :from AND version = :version',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: toAttributes({
          ':next': next,
          ':nextVersion': change.version,
          ':now': now,
          ':change': change,
          ':statePk': statePartition(next),
          ':from': pipe.state,
          ':version': pipe.version,
        }),
        ReturnValues: 'ALL_NEW',
      }),
    );
    written = result.Attributes;
  } catch (error) {
    if (!isConditionalCheckFailed(error)) throw error;
    const current = await getItem(ctx, pipeKey(pipeId));
    if (!current) throw new PipeNotFoundError(pipeId);
    throw new StateConflictError(pipeId, expectedState ?? pipe.state, parsePipeItem(current).state);
  }
  await copyNewestBestEffort(ctx, pipeId, change);
  return pipeRecordOf(parsePipeItem(unmarshall(written ?? {})));
}

/**
 * The state write already won, so failing the call here would tell the caller its change did not
 * happen. The entry stays readable from the pipe item and the next change copies it (step 1).
 */
export async function copyNewestBestEffort(
  ctx: StoreContext,
  pipeId: string,
  change: HistoryEntry,
): Promise<void> {
  try {
    await copyToHistory(ctx, pipeId, change);
  } catch {
    return;
  }
}

/** Newest first. The cursor is the last version returned; the next page starts below it. */
export async function listHistory(
  ctx: StoreContext,
  pipeIdInput: string,
  options: ListOptions = {},
): Promise<Page<HistoryEntry>> {
  const pipeId = requirePipeId(pipeIdInput);
  const limit =
    options.limit === undefined ? DEFAULT_PAGE_SIZE : requirePositive(options.limit, 'limit', MAX_PAGE_SIZE);
  const stored = await getItem(ctx, pipeKey(pipeId));
  if (!stored) throw new PipeNotFoundError(pipeId);
  const pipe = parsePipeItem(stored);
  const below =
    options.cursor === undefined || options.cursor === null
      ? pipe.version + 1
      : requirePositive(Number(options.cursor), 'cursor');

  const result = await ctx.client.send(
    new QueryCommand({
      TableName: ctx.tableName,
      KeyConditionExpression: 'PK = :pk AND SK BETWEEN :lowest AND :highest',
      ExpressionAttributeValues: toAttributes({
        ':pk': pipePartition(pipeId),
        ':lowest': HISTORY_PREFIX,
        ':highest': historyKey(pipeId, below - 1).SK,
      }),
      ScanIndexForward: false,
      ConsistentRead: true,
      Limit: limit,
    }),
  );
  const entries = (result.Items ?? []).map((item) => parseHistoryEntry(unmarshall(item)));
  let more = result.LastEvaluatedKey !== undefined;
  const newestNotCopied = below > pipe.version && entries[0]?.version !== pipe.version;
  if (newestNotCopied) {
    entries.unshift(pipe.lastChange);
    if (entries.length > limit) {
      entries.pop();
      more = true;
    }
  }
  const last = entries.at(-1);
  return { items: entries, nextCursor: more && last && last.version > 1 ? String(last.version) : null };
}

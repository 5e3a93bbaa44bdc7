import { DeleteItemCommand, PutItemCommand, QueryCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { PipeNotFoundError } from '../../core/errors.js';
import { PIPE_STATES, type PipeState, transition } from '../../core/lifecycle.js';
import {
  IdempotencyConflictError,
  PipeAlreadyExistsError,
  PipeNameTakenError,
} from '../../core/store-errors.js';
import type {
  CreatePipeInput,
  CreatePipeResult,
  HistoryEntry,
  ListOptions,
  Page,
  PipeRecord,
} from '../../ports/pipe-store.js';
import { claim, markClaimDeleting, releaseClaim } from './claims.js';
import { parsePipeItem, pipeRecordOf, toPipeRecord } from './codecs.js';
import {
  batchWrite,
  deleteRequest,
  getItem,
  isConditionalCheckFailed,
  queryPartition,
  type StoreContext,
  toAttributes,
} from './context.js';
import { DEFAULT_PAGE_SIZE, decodeCursor, encodeCursor, MAX_PAGE_SIZE } from './cursor.js';
import { copyNewestBestEffort } from './history.js';
import {
  ALL_PIPES_PARTITION,
  creationSortKey,
  type ItemKey,
  idempotencyClaimKey,
  nameClaimKey,
  pipeKey,
  pipePartition,
  statePartition,
} from './keys.js';
import { requestHash } from './request-hash.js';
import { PIPES_BY_CREATION_INDEX, PIPES_BY_STATE_INDEX } from './table-definition.js';
import { requireOneOf, requirePipeId, requirePositive, requireText, toJsonText } from './validate.js';

/** The store's context as a create needs it: also where new pipe ids come from. */
export interface StoreContextWithIds extends StoreContext {
  newPipeId: () => string;
}

/**
 * Create order: idempotency-key claim, name claim, pipe item (with its first history entry on
 * it), history copy. Each step is conditional or idempotent, so the same request sent again after
 * a crash at any point finishes the create and returns the one pipe.
 */
export async function createPipe(
  ctx: StoreContextWithIds,
  input: CreatePipeInput,
): Promise<CreatePipeResult> {
  const name = requireText(input.name, 'name', 200);
  const idempotencyKey =
    input.idempotencyKey === undefined ? null : requireText(input.idempotencyKey, 'idempotencyKey');
  const actor = requireText(input.actor, 'actor');
  const reason = input.reason === undefined ? 'pipe created' : requireText(input.reason, 'reason', 1024);
  const settingsJson = toJsonText(input.settings, 'settings');
  const sourceJson = toJsonText(input.source, 'source');
  const destinationJson = toJsonText(input.destination, 'destination');
  const hash = requestHash({
    name,
    settings: input.settings,
    source: input.source,
    destination: input.destination,
  });
  let pipeId =
    input.id === undefined ? requirePipeId(ctx.newPipeId(), 'generated id') : requirePipeId(input.id, 'id');

  if (idempotencyKey !== null) {
    const outcome = await claim(ctx, idempotencyClaimKey(idempotencyKey), pipeId, hash);
    if (!outcome.won) {
      if (outcome.claim.requestHash !== hash)
        throw new IdempotencyConflictError(idempotencyKey, outcome.claim.pipeId);
      pipeId = outcome.claim.pipeId;
    }
  }
  const nameOutcome = await claim(ctx, nameClaimKey(name), pipeId, hash);
  if (!nameOutcome.won) {
    const sameRequestByName = idempotencyKey === null && nameOutcome.claim.requestHash === hash;
    if (!sameRequestByName) {
      if (idempotencyKey !== null) await releaseClaim(ctx, idempotencyClaimKey(idempotencyKey), pipeId);
      throw new PipeNameTakenError(name, nameOutcome.claim.pipeId);
    }
    pipeId = nameOutcome.claim.pipeId;
  }

  const now = ctx.now();
  const state = transition(null, 'create');
  const change: HistoryEntry = { version: 1, from: null, to: state, event: 'create', reason, actor, at: now };
  const item = {
    ...pipeKey(pipeId),
    id: pipeId,
    name,
    state,
    settingsJson,
    sourceJson,
    destinationJson,
    createdAt: now,
    updatedAt: now,
    lastError: null,
    version: 1,
    idempotencyKey,
    requestHash: hash,
    lastChange: change,
    GSI1PK: ALL_PIPES_PARTITION,
    GSI1SK: creationSortKey(now, pipeId),
    GSI2PK: statePartition(state),
    GSI2SK: creationSortKey(now, pipeId),
  };
  try {
    await ctx.client.send(
      new PutItemCommand({
        TableName: ctx.tableName,
        Item: toAttributes(item),
        ConditionExpression: 'attribute_not_exists(PK)',
      }),
    );
  } catch (error) {
    if (!isConditionalCheckFailed(error)) throw error;
    const existing = await getItem(ctx, pipeKey(pipeId));
    if (!existing) throw new PipeNotFoundError(pipeId);
    const parsed = parsePipeItem(existing);
    if (parsed.requestHash !== hash) throw new PipeAlreadyExistsError(pipeId);
    return { pipe: pipeRecordOf(parsed), created: false };
  }
  await copyNewestBestEffort(ctx, pipeId, change);
  return { pipe: pipeRecordOf(parsePipeItem(item)), created: true };
}

export async function getPipe(ctx: StoreContext, pipeIdInput: string): Promise<PipeRecord> {
  const pipeId = requirePipeId(pipeIdInput);
  const item = await getItem(ctx, pipeKey(pipeId));
  if (!item) throw new PipeNotFoundError(pipeId);
  return toPipeRecord(item);
}

export function listPipes(ctx: StoreContext, options: ListOptions = {}): Promise<Page<PipeRecord>> {
  return queryPipeIndex(ctx, PIPES_BY_CREATION_INDEX, ALL_PIPES_PARTITION, options);
}

export async function listPipesByState(
  ctx: StoreContext,
  stateInput: PipeState,
  options: ListOptions = {},
): Promise<Page<PipeRecord>> {
  const state = requireOneOf(stateInput, PIPE_STATES, 'state');
  return queryPipeIndex(ctx, PIPES_BY_STATE_INDEX, statePartition(state), options);
}

async function queryPipeIndex(
  ctx: StoreContext,
  index: { name: string; partitionKey: string },
  partition: string,
  options: ListOptions,
): Promise<Page<PipeRecord>> {
  const limit =
    options.limit === undefined ? DEFAULT_PAGE_SIZE : requirePositive(options.limit, 'limit', MAX_PAGE_SIZE);
  const result = await ctx.client.send(
    new QueryCommand({
      TableName: ctx.tableName,
      IndexName: index.name,
      KeyConditionExpression: '#partition = :partition',
      ExpressionAttributeNames: { '#partition': index.partitionKey },
      ExpressionAttributeValues: toAttributes({ ':partition': partition }),
      Limit: limit,
      ExclusiveStartKey: decodeCursor(options.cursor),
    }),
  );
  return {
    items: (result.Items ?? []).map((item) => toPipeRecord(unmarshall(item))),
    nextCursor: encodeCursor(result.LastEvaluatedKey),
  };
}

/**
 * Claims are marked first and released last, and the pipe item goes after its children: a crash
 * anywhere leaves a pipe that still shows (delete again to finish) or an abandoned claim that a
 * later create may take. Work on the pipe must be stopped first: a writer racing the delete can
 * leave items behind.
 */
export async function deletePipe(ctx: StoreContext, pipeIdInput: string): Promise<void> {
  const pipeId = requirePipeId(pipeIdInput);
  const stored = await getItem(ctx, pipeKey(pipeId));
  const pipe = stored ? parsePipeItem(stored) : null;
  const claims: ItemKey[] = [];
  if (pipe) {
    claims.push(nameClaimKey(pipe.name));
    if (pipe.idempotencyKey) claims.push(idempotencyClaimKey(pipe.idempotencyKey));
  }
  for (const key of claims) await markClaimDeleting(ctx, key, pipeId);

  const items = await queryPartition(ctx, pipePartition(pipeId));
  const children = items.filter((item) => item.SK !== pipeKey(pipeId).SK);
  await batchWrite(
    ctx,
    children.map((item) => deleteRequest({ PK: String(item.PK), SK: String(item.SK) })),
  );
  if (pipe) {
    await ctx.client.send(
      new DeleteItemCommand({ TableName: ctx.tableName, Key: toAttributes({ ...pipeKey(pipeId) }) }),
    );
  }
  for (const key of claims) await releaseClaim(ctx, key, pipeId);
}

/** Long driver messages are cut rather than refused: recording an error must not fail on its size. */
const MAX_ERROR_MESSAGE = 4000;

export async function recordError(
  ctx: StoreContext,
  pipeIdInput: string,
  error: { name: string; message: string },
): Promise<void> {
  const pipeId = requirePipeId(pipeIdInput);
  const name = requireText(error?.name, 'error.name');
  const message = typeof error.message === 'string' ? error.message.slice(0, MAX_ERROR_MESSAGE) : '';
  const now = ctx.now();
  await updatePipeExisting(ctx, pipeId, 'SET lastError = :error, updatedAt = :now', {
    ':error': { name, message, at: now },
    ':now': now,
  });
}

export async function clearError(ctx: StoreContext, pipeIdInput: string): Promise<void> {
  const pipeId = requirePipeId(pipeIdInput);
  await updatePipeExisting(ctx, pipeId, 'SET lastError = :none, updatedAt = :now', {
    ':none': null,
    ':now': ctx.now(),
  });
}

async function updatePipeExisting(
  ctx: StoreContext,
  pipeId: string,
  updateExpression: string,
  values: Record<string, unknown>,
): Promise<void> {
  try {
    await ctx.client.send(
      new UpdateItemCommand({
        TableName: ctx.tableName,
        Key: toAttributes({ ...pipeKey(pipeId) }),
        UpdateExpression: updateExpression,
        ConditionExpression: 'attribute_exists(PK)',
        ExpressionAttributeValues: toAttributes(values),
      }),
    );
  } catch (error) {
    if (isConditionalCheckFailed(error)) throw new PipeNotFoundError(pipeId);
    throw error;
  }
}

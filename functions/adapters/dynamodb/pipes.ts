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

/** A create request's fields, validated, in the form the pipe item stores them. */
interface CreateFields {
  name: string;
  idempotencyKey: string | null;
  actor: string;
  reason: string;
  settingsJson: string;
  sourceJson: string;
  destinationJson: string;
  /** Tells a retry of this very request from a different request under the same key or name. */
  hash: string;
}

function createFields(input: CreatePipeInput): CreateFields {
  const name = requireText(input.name, 'name', 200);
  return {
    name,
    idempotencyKey:
      input.idempotencyKey === undefined ? null : requireText(input.idempotencyKey, 'idempotencyKey'),
    actor: requireText(input.actor, 'actor'),
    reason: input.reason === undefined ? 'pipe created' : requireText(input.reason, 'reason', 1024),
    settingsJson: toJsonText(input.settings, 'settings'),
    sourceJson: toJsonText(input.source, 'source'),
    destinationJson: toJsonText(input.destination, 'destination'),
    hash: requestHash({
      name,
      settings: input.settings,
      source: input.source,
      destination: input.destination,
    }),
  };
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
  const fields = createFields(input);
  const proposedId =
    input.id === undefined ? requirePipeId(ctx.newPipeId(), 'generated id') : requirePipeId(input.id, 'id');
  const pipeId = await claimKeyAndName(ctx, fields, proposedId);
  const now = ctx.now();
  const state = transition(null, 'create');
  const { reason, actor } = fields;
  const change: HistoryEntry = { version: 1, from: null, to: state, event: 'create', reason, actor, at: now };
  const item = newPipeItem(pipeId, fields, change);
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
    if (parsed.requestHash !== fields.hash) throw new PipeAlreadyExistsError(pipeId);
    return { pipe: pipeRecordOf(parsed), created: false };
  }
  await copyNewestBestEffort(ctx, pipeId, change);
  return { pipe: pipeRecordOf(parsePipeItem(item)), created: true };
}

/**
 * Steps 1 and 2 of a create: the idempotency key's claim (when there is a key), then the name's.
 * Returns the id of the pipe this request creates: the proposed one, or the one an earlier send
 * of the same request claimed. A name taken by another request releases the key's claim again.
 */
async function claimKeyAndName(ctx: StoreContext, fields: CreateFields, proposedId: string): Promise<string> {
  const { idempotencyKey, name, hash } = fields;
  let pipeId = proposedId;
  if (idempotencyKey !== null) {
    const outcome = await claim(ctx, idempotencyClaimKey(idempotencyKey), pipeId, hash);
    if (!outcome.won) {
      if (outcome.claim.requestHash !== hash)
        throw new IdempotencyConflictError(idempotencyKey, outcome.claim.pipeId);
      pipeId = outcome.claim.pipeId;
    }
  }
  const nameOutcome = await claim(ctx, nameClaimKey(name), pipeId, hash);
  if (nameOutcome.won) return pipeId;
  const sameRequestByName = idempotencyKey === null && nameOutcome.claim.requestHash === hash;
  if (!sameRequestByName) {
    if (idempotencyKey !== null) await releaseClaim(ctx, idempotencyClaimKey(idempotencyKey), pipeId);
    throw new PipeNameTakenError(name, nameOutcome.claim.pipeId);
  }
  return nameOutcome.claim.pipeId;
}

/** The pipe item of a new pipe: version 1, its create as the newest change, listed by creation and state. */
function newPipeItem(pipeId: string, fields: CreateFields, change: HistoryEntry) {
  const now = change.at;
  return {
    ...pipeKey(pipeId),
    id: pipeId,
    name: fields.name,
    state: change.to,
    settingsJson: fields.settingsJson,
    sourceJson: fields.sourceJson,
    destinationJson: fields.destinationJson,
    createdAt: now,
    updatedAt: now,
    lastError: null,
    version: 1,
    idempotencyKey: fields.idempotencyKey,
    requestHash: fields.hash,
    lastChange: change,
    GSI1PK: ALL_PIPES_PARTITION,
    GSI1SK: creationSortKey(now, pipeId),
    GSI2PK: statePartition(change.to),
    GSI2SK: creationSortKey(now, pipeId),
  };
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

import { DeleteItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { z } from 'zod';
import {
  CorruptStoreItemError,
  InvalidStoreInputError,
  StoreUnavailableError,
} from '../../core/store-errors.js';
import { qualifiedTableName } from '../../core/table-key.js';
import type { TableRef } from '../../ports/destination.js';
import type { TableClaimRecord } from '../../ports/pipe-store.js';
import {
  getItem,
  type Item,
  isConditionalCheckFailed,
  queryPartition,
  type StoreContext,
  toAttributes,
} from './context.js';
import { OWNED_TABLE_PREFIX, ownedTableKey, pipeKey, pipePartition, tableClaimKey } from './keys.js';
import { requirePipeId } from './validate.js';

/**
 * Table claims: a destination table belongs to exactly one pipe (docs/pipe-store.md). The claim
 * is one item per `<database>.<table>`, put with a condition, so of any number of pipes racing
 * for a table exactly one wins, without transactions. After winning, the pipe notes the claim in
 * its own partition (`OWNS#…`) so its delete can find and release every claim it holds.
 *
 * Order and crashes: the claim is written first, the note second; a crash between leaves a claim
 * without a note, which the same pipe's retry notes (it finds the claim its own), and which, if
 * the pipe is deleted first, is a claim whose pipe is gone: `claimTable` takes those over and
 * `getTableClaim` reports them as no claim. Releasing deletes the claim (conditionally on its
 * owner) before the note, so a crash leaves at most a note whose claim is gone, released again
 * harmlessly.
 */

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MAX_IDENTIFIER = 255;
const CLAIM_ATTEMPTS = 3;

function requireTableRef(value: unknown): TableRef {
  const ref = (value ?? {}) as Partial<Record<keyof TableRef, unknown>>;
  const parts: Partial<TableRef> = {};
  for (const field of ['database', 'table'] as const) {
    const part = ref[field];
    if (typeof part !== 'string' || !IDENTIFIER.test(part) || part.length > MAX_IDENTIFIER) {
      throw new InvalidStoreInputError(
        `table.${field}`,
        'must be a ClickHouse identifier: letters, digits and "_", not starting with a digit',
      );
    }
    parts[field] = part;
  }
  return parts as TableRef;
}

const claimItem = z.object({
  pipeId: z.string(),
  database: z.string(),
  table: z.string(),
  claimedAt: z.number().int().nonnegative(),
});

function parseClaimItem(item: Item): TableClaimRecord {
  const result = claimItem.safeParse(item);
  if (!result.success) {
    throw new CorruptStoreItemError(`${String(item.PK)}/${String(item.SK)}`, z.prettifyError(result.error));
  }
  const { pipeId, database, table, claimedAt } = result.data;
  return { pipeId, database, table, claimedAt };
}

async function putClaim(
  ctx: StoreContext,
  claim: TableClaimRecord,
  condition: string,
  values?: Record<string, unknown>,
): Promise<boolean> {
  try {
    await ctx.client.send(
      new PutItemCommand({
        TableName: ctx.tableName,
        Item: toAttributes({ ...tableClaimKey(claim.database, claim.table), ...claim }),
        ConditionExpression: condition,
        ...(values ? { ExpressionAttributeValues: toAttributes(values) } : {}),
      }),
    );
    return true;
  } catch (error) {
    if (isConditionalCheckFailed(error)) return false;
    throw error;
  }
}

/** The pipe's note of a claim it won (idempotent: a retry writes the same item). */
async function noteOwned(ctx: StoreContext, claim: TableClaimRecord): Promise<TableClaimRecord> {
  await ctx.client.send(
    new PutItemCommand({
      TableName: ctx.tableName,
      Item: toAttributes({ ...ownedTableKey(claim.pipeId, claim.database, claim.table), ...claim }),
    }),
  );
  return claim;
}

async function pipeExists(ctx: StoreContext, pipeId: string): Promise<boolean> {
  return (await getItem(ctx, pipeKey(pipeId))) !== null;
}

export async function claimTable(
  ctx: StoreContext,
  pipeIdInput: string,
  tableInput: TableRef,
): Promise<TableClaimRecord> {
  const pipeId = requirePipeId(pipeIdInput);
  const ref = requireTableRef(tableInput);
  const key = tableClaimKey(ref.database, ref.table);
  for (let attempt = 0; attempt < CLAIM_ATTEMPTS; attempt++) {
    const claim: TableClaimRecord = { pipeId, ...ref, claimedAt: ctx.now() };
    if (await putClaim(ctx, claim, 'attribute_not_exists(PK)')) return noteOwned(ctx, claim);
    const stored = await getItem(ctx, key);
    if (!stored) continue;
    const existing = parseClaimItem(stored);
    if (existing.pipeId === pipeId) return noteOwned(ctx, existing);
    if (await pipeExists(ctx, existing.pipeId)) return existing;
    // Its pipe is gone without releasing it: take it over, if it is still that abandoned claim.
    if (await putClaim(ctx, claim, 'pipeId = :previous', { ':previous': existing.pipeId }))
      return noteOwned(ctx, claim);
  }
  throw new StoreUnavailableError(
    `the claim on table ${qualifiedTableName(ref)} kept changing under concurrent writers; retry`,
  );
}

export async function getTableClaim(
  ctx: StoreContext,
  tableInput: TableRef,
): Promise<TableClaimRecord | null> {
  const ref = requireTableRef(tableInput);
  const stored = await getItem(ctx, tableClaimKey(ref.database, ref.table));
  if (!stored) return null;
  const claim = parseClaimItem(stored);
  return (await pipeExists(ctx, claim.pipeId)) ? claim : null;
}

export async function releaseTableClaim(
  ctx: StoreContext,
  pipeIdInput: string,
  tableInput: TableRef,
): Promise<void> {
  const pipeId = requirePipeId(pipeIdInput);
  const ref = requireTableRef(tableInput);
  try {
    await ctx.client.send(
      new DeleteItemCommand({
        TableName: ctx.tableName,
        Key: toAttributes({ ...tableClaimKey(ref.database, ref.table) }),
        ConditionExpression: 'pipeId = :pipeId',
        ExpressionAttributeValues: toAttributes({ ':pipeId': pipeId }),
      }),
    );
  } catch (error) {
    if (!isConditionalCheckFailed(error)) throw error;
  }
  await ctx.client.send(
    new DeleteItemCommand({
      TableName: ctx.tableName,
      Key: toAttributes({ ...ownedTableKey(pipeId, ref.database, ref.table) }),
    }),
  );
}

export async function listTableClaims(ctx: StoreContext, pipeIdInput: string): Promise<TableClaimRecord[]> {
  const pipeId = requirePipeId(pipeIdInput);
  const items = await queryPartition(ctx, pipePartition(pipeId), OWNED_TABLE_PREFIX);
  return items.map(parseClaimItem);
}

/** Every claim of the pipe, released: the first step of deleting it, while the pipe still shows. */
export async function releaseAllTableClaims(ctx: StoreContext, pipeIdInput: string): Promise<void> {
  const pipeId = requirePipeId(pipeIdInput);
  for (const claim of await listTableClaims(ctx, pipeId)) await releaseTableClaim(ctx, pipeId, claim);
}

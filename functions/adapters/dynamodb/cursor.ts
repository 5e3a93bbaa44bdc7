import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { InvalidStoreInputError } from '../../core/store-errors.js';

/** Page cursors are the DynamoDB LastEvaluatedKey as base64url JSON; decoding checks it is only key strings. */

const KEY_ATTRIBUTES = new Set(['PK', 'SK', 'GSI1PK', 'GSI1SK', 'GSI2PK', 'GSI2SK']);

export function encodeCursor(lastKey: Record<string, AttributeValue> | undefined): string | null {
  if (!lastKey) return null;
  return Buffer.from(JSON.stringify(unmarshall(lastKey)), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string | null | undefined): Record<string, AttributeValue> | undefined {
  if (cursor === null || cursor === undefined) return undefined;
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidStoreInputError('cursor', 'is not a cursor this store returned');
  }
  const valid =
    decoded !== null &&
    typeof decoded === 'object' &&
    !Array.isArray(decoded) &&
    Object.entries(decoded).every(([key, value]) => KEY_ATTRIBUTES.has(key) && typeof value === 'string');
  if (!valid) throw new InvalidStoreInputError('cursor', 'is not a cursor this store returned');
  return marshall(decoded);
}

export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;

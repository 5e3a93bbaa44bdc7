import { InvalidStoreInputError } from '../../core/store-errors.js';

/** Input checks at the store's edge: anything that reaches a key or a condition is checked here. */

const PIPE_ID = /^[A-Za-z0-9_-]{1,64}$/;

export function requirePipeId(value: unknown, field = 'pipeId'): string {
  if (typeof value !== 'string' || !PIPE_ID.test(value)) {
    throw new InvalidStoreInputError(field, 'must be 1-64 letters, digits, "-" or "_"');
  }
  return value;
}

export function requireText(value: unknown, field: string, maxLength = 256): string {
  if (typeof value !== 'string' || value.trim().length === 0) {
    throw new InvalidStoreInputError(field, 'must be a non-empty string');
  }
  if (value.length > maxLength)
    throw new InvalidStoreInputError(field, `must be at most ${maxLength} characters`);
  return value;
}

export function requireCount(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new InvalidStoreInputError(field, 'must be a non-negative integer');
  }
  return value;
}

export function requirePositive(value: unknown, field: string, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0 || value > max) {
    throw new InvalidStoreInputError(field, `must be an integer between 1 and ${max}`);
  }
  return value;
}

export function requireOneOf<T extends string>(value: unknown, allowed: readonly T[], field: string): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new InvalidStoreInputError(field, `must be one of ${allowed.join(', ')}`);
  }
  return value as T;
}

/** Opaque values are stored as JSON text; refuse what JSON cannot carry instead of losing it. */
export function toJsonText(value: unknown, field: string): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw new InvalidStoreInputError(field, `cannot be serialized: ${(error as Error).message}`);
  }
  if (text === undefined) throw new InvalidStoreInputError(field, 'must be a JSON value');
  return text;
}

/** `<database>.<collection>`, as built by tableKeyOf. */
export function requireTableKey(value: unknown): string {
  const tableKey = requireText(value, 'tableKey', 400);
  if (!tableKey.includes('.') || tableKey.startsWith('.')) {
    throw new InvalidStoreInputError('tableKey', 'must be <database>.<collection>');
  }
  return tableKey;
}

/** Turns driver result objects into the plain documents the spec's expectations describe. */
import type { BulkWriteResult, DeleteResult, InsertManyResult, InsertOneResult, UpdateResult } from 'mongodb';

export interface OperationResult {
  value: unknown;
  /** The value is a list of root-level documents (find, aggregate, list*), each allowed extra keys. */
  iterable?: boolean;
}

export const noResult: OperationResult = { value: undefined };

export function insertOneResult(result: InsertOneResult): OperationResult {
  return { value: { insertedId: result.insertedId } };
}

export function insertManyResult(result: InsertManyResult): OperationResult {
  return { value: { insertedIds: { ...result.insertedIds } } };
}

export function updateResult(result: UpdateResult): OperationResult {
  const value: Record<string, unknown> = {
    matchedCount: result.matchedCount,
    modifiedCount: result.modifiedCount,
    upsertedCount: result.upsertedCount,
  };
  if (result.upsertedId != null) value.upsertedId = result.upsertedId;
  return { value };
}

export function deleteResult(result: DeleteResult): OperationResult {
  return { value: { deletedCount: result.deletedCount } };
}

export function bulkWriteDocument(result: BulkWriteResult): Record<string, unknown> {
  return {
    deletedCount: result.deletedCount,
    insertedCount: result.insertedCount,
    matchedCount: result.matchedCount,
    modifiedCount: result.modifiedCount,
    upsertedCount: result.upsertedCount,
    insertedIds: { ...result.insertedIds },
    upsertedIds: { ...result.upsertedIds },
  };
}

import { type LocalDynamo, startLocalDynamo } from '../../local/dynamodb.js';

export type { LocalDynamo } from '../../local/dynamodb.js';

/**
 * An in-memory dynalite on 127.0.0.1 (a free port) with the pipe store table created from the
 * adapter's own definition, so the tests query exactly the table CDK would create.
 */
export function startDynalite(tableName = 'PipeStoreTest'): Promise<LocalDynamo> {
  return startLocalDynamo({ tableName });
}

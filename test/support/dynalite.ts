import { afterAll, beforeAll } from 'vitest';
import { type LocalDynamo, startLocalDynamo } from '../../local/dynamodb.js';

export type { LocalDynamo } from '../../local/dynamodb.js';

/**
 * An in-memory dynalite on 127.0.0.1 (a free port) with the pipe store table created from the
 * adapter's own definition, so the tests query exactly the table CDK would create.
 */
export function startDynalite(tableName = 'PipeStoreTest'): Promise<LocalDynamo> {
  return startLocalDynamo({ tableName });
}

/**
 * A dynalite for the tests of one file or `describe` block: started before them (handed to
 * `onStart`, e.g. to build the store over it) and stopped after them.
 */
export function useDynalite(onStart: (dynamo: LocalDynamo) => void): void {
  let dynamo: LocalDynamo | undefined;
  beforeAll(async () => {
    dynamo = await startDynalite();
    onStart(dynamo);
  });
  afterAll(async () => {
    await dynamo?.stop();
  });
}

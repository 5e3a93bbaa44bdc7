import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';

/**
 * The one definition of the pipe store table. CDK and the tests both build the table from
 * here, so the keys and indexes the adapter queries always exist with the same names.
 */
export const PIPE_STORE_KEYS = {
  partitionKey: 'PK',
  sortKey: 'SK',
} as const;

/** Every pipe, oldest first. Sparse: only pipe items carry these attributes. */
export const PIPES_BY_CREATION_INDEX = {
  name: 'PipesByCreation',
  partitionKey: 'GSI1PK',
  sortKey: 'GSI1SK',
} as const;

/** Pipes in one state, oldest first. Sparse: only pipe items carry these attributes. */
export const PIPES_BY_STATE_INDEX = {
  name: 'PipesByState',
  partitionKey: 'GSI2PK',
  sortKey: 'GSI2SK',
} as const;

export const DEFAULT_PIPE_STORE_TABLE_NAME = 'PipeStore';

export function pipeStoreTableInput(
  tableName: string = DEFAULT_PIPE_STORE_TABLE_NAME,
): CreateTableCommandInput {
  const stringKeys = [
    PIPE_STORE_KEYS.partitionKey,
    PIPE_STORE_KEYS.sortKey,
    PIPES_BY_CREATION_INDEX.partitionKey,
    PIPES_BY_CREATION_INDEX.sortKey,
    PIPES_BY_STATE_INDEX.partitionKey,
    PIPES_BY_STATE_INDEX.sortKey,
  ];
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: stringKeys.map((name) => ({ AttributeName: name, AttributeType: 'S' })),
    KeySchema: [
      { AttributeName: PIPE_STORE_KEYS.partitionKey, KeyType: 'HASH' },
      { AttributeName: PIPE_STORE_KEYS.sortKey, KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: [PIPES_BY_CREATION_INDEX, PIPES_BY_STATE_INDEX].map((index) => ({
      IndexName: index.name,
      KeySchema: [
        { AttributeName: index.partitionKey, KeyType: 'HASH' },
        { AttributeName: index.sortKey, KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'ALL' },
    })),
  };
}

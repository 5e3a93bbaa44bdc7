import { type DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { isConditionalCheckFailed, toAttributes } from '../adapters/dynamodb/context.js';
import { pipeKey } from '../adapters/dynamodb/keys.js';
import { DEFAULT_PIPE_STORE_TABLE_NAME } from '../adapters/dynamodb/table-definition.js';
import { StateConflictError } from '../core/errors.js';
import type { PipeState } from '../core/lifecycle.js';
import type { PipeSettings } from '../core/settings.js';
import type { PipeRecord, PipeStore } from '../ports/pipe-store.js';
import type { PipeSettingsWriter } from './deps.js';

/**
 * The settings update on the pipe store's table. It belongs in DynamoPipeStore (as
 * `updateSettings`) and lives here only until the store port grows that method. One conditional
 * UpdateItem on the pipe item: state and version must still be what the caller read, so a
 * resume (which bumps the version) and a settings change can never interleave. The version is
 * not bumped: it counts state changes only (docs/pipe-store.md).
 */
export class DynamoSettingsWriter implements PipeSettingsWriter {
  constructor(
    private readonly options: {
      client: DynamoDBClient;
      store: PipeStore;
      tableName?: string;
      now?: () => number;
    },
  ) {}

  async updateSettings(
    pipeId: string,
    settings: PipeSettings,
    expected: { state: PipeState; version: number },
  ): Promise<PipeRecord> {
    const { client, store } = this.options;
    try {
      await client.send(
        new UpdateItemCommand({
          TableName: this.options.tableName ?? DEFAULT_PIPE_STORE_TABLE_NAME,
          Key: toAttributes({ ...pipeKey(pipeId) }),
          UpdateExpression: 'SET settingsJson = :settings, updatedAt = :now',
          ConditionExpression: '#state = :state AND version = :version',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: toAttributes({
            ':settings': JSON.stringify(settings),
            ':now': (this.options.now ?? Date.now)(),
            ':state': expected.state,
            ':version': expected.version,
          }),
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      const now = await store.getPipe(pipeId);
      throw new StateConflictError(pipeId, expected.state, now.state);
    }
    return store.getPipe(pipeId);
  }
}

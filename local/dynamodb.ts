import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DynamoDBClient, ResourceInUseException } from '@aws-sdk/client-dynamodb';
import { pipeStoreTableInput } from '../functions/adapters/dynamodb/table-definition.js';

/** dynalite ships no types; these are the options the local runtime and the tests use. */
type DynaliteFactory = (options: {
  path?: string;
  createTableMs: number;
  deleteTableMs: number;
  updateTableMs: number;
}) => Server;
const dynalite = createRequire(import.meta.url)('dynalite') as DynaliteFactory;

// The SDK warns once per process that Node 20 support ends in 2027; nothing here can act on it.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

export interface LocalDynamoOptions {
  tableName: string;
  /** A folder to keep the data in (LevelDB); in memory when absent. */
  path?: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
}

export interface LocalDynamo {
  endpoint: string;
  tableName: string;
  /** A new client pointed at this server; each is destroyed by stop(). */
  newClient(): DynamoDBClient;
  stop(): Promise<void>;
}

/**
 * The DynamoDB stand-in: dynalite on loopback with the pipe store table created from the
 * adapter's own definition (the same one CDK deploys). An existing table on disk is kept.
 */
export async function startLocalDynamo(options: LocalDynamoOptions): Promise<LocalDynamo> {
  const server = dynalite({ path: options.path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://${options.host ?? '127.0.0.1'}:${port}`;
  const clients: DynamoDBClient[] = [];
  const newClient = (): DynamoDBClient => {
    const client = new DynamoDBClient({
      endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 1,
    });
    clients.push(client);
    return client;
  };
  const stop = async (): Promise<void> => {
    for (const client of clients) client.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve, reject) =>
      server.close((error) => (error ? reject(error) : resolve())),
    );
  };
  try {
    await newClient().send(new CreateTableCommand(pipeStoreTableInput(options.tableName)));
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) {
      await stop();
      throw error;
    }
  }
  return { endpoint, tableName: options.tableName, newClient, stop };
}

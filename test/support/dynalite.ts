import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { pipeStoreTableInput } from '../../functions/adapters/dynamodb/table-definition.js';

/** dynalite ships no types; this is the one call the tests make. */
type DynaliteFactory = (options: {
  createTableMs: number;
  deleteTableMs: number;
  updateTableMs: number;
}) => Server;
const dynalite = createRequire(import.meta.url)('dynalite') as DynaliteFactory;

// The SDK warns once per process that Node 20 support ends in 2027; the tests have nothing to
// do about it and the line would drown their output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

export interface LocalDynamo {
  endpoint: string;
  tableName: string;
  /** A new client pointed at this server; each is destroyed by stop(). */
  newClient(): DynamoDBClient;
  stop(): Promise<void>;
}

/**
 * Starts an in-process dynalite on 127.0.0.1 (a free port) and creates the pipe store table
 * from the adapter's own definition, so the tests query exactly the table CDK would create.
 */
export async function startDynalite(tableName = 'PipeStoreTest'): Promise<LocalDynamo> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
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
    await newClient().send(new CreateTableCommand(pipeStoreTableInput(tableName)));
  } catch (error) {
    await stop();
    throw error;
  }
  return { endpoint, tableName, newClient, stop };
}

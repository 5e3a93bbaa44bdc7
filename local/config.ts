import { parseArgs } from 'node:util';

/** What `npm start` runs with: flags win over environment variables, which win over defaults. */
export interface LocalConfig {
  dataDir: string;
  /** Address every local server listens on (loopback unless told otherwise). */
  host: string;
  /** The user asked for a non-loopback host knowing the API and ClickHouse take no credentials. */
  allowRemote: boolean;
  apiPort: number;
  clickhousePort: number;
  dynamodbPort: number;
  /** A real MongoDB replica set to replicate; without it the demo replica set starts. */
  mongodbUri: string | null;
  /** `db.collection` names to replicate from `mongodbUri`. */
  collections: string[];
  /** syncIntervalSeconds of the pipe npm start creates (the demo's, or the --collections one). */
  syncIntervalSeconds: number;
  /** With the demo: how often the live write load writes (0 turns it off). */
  demoWriteIntervalMs: number;
  /** The demo source: a replica set, or a sharded cluster (2 shards × 3 members behind 2 mongos). */
  demoTopology: DemoTopology;
  /** Each embedded ClickHouse query's memory bound in bytes (max_memory_usage); 0 for none. */
  clickhouseMaxMemoryBytes: number;
}

export type DemoTopology = 'replicaSet' | 'sharded';

export const USAGE = `usage: npm start -- [options]
  --data-dir <dir>            where local data lives (env DATA_DIR, default ./.data)
  --host <address>            address the local servers listen on (env HOST, default 127.0.0.1)
  --allow-remote              needed with a --host other than loopback: the local API and ClickHouse
                              have no authentication, anyone who reaches them controls the pipes
  --api-port <port>           pipe HTTP API port (env API_PORT, default 3000)
  --clickhouse-port <port>    embedded ClickHouse HTTP port (env CLICKHOUSE_PORT, default 8123)
  --clickhouse-max-memory <size>
                              memory bound of each embedded ClickHouse query (max_memory_usage; a
                              request may lower it, not raise it), e.g. 4GiB or 500M, 0 = none
                              (env CLICKHOUSE_MAX_MEMORY, default 2GiB)
  --dynamodb-port <port>      local DynamoDB port (env DYNAMODB_PORT, default 0 = any free port)
  --mongodb-uri <uri>         replicate this replica set instead of the demo (env MONGODB_URI)
  --collections <db.c,...>    collections to replicate from --mongodb-uri (env COLLECTIONS)
  --sync-interval <seconds>   syncIntervalSeconds of the pipe npm start creates: below 60 CDC stays on
                              the stream and flushes that often, 60 and above it runs on that schedule
                              (env SYNC_INTERVAL_SECONDS, default 2)
  --demo-write-interval <ms>  pace of the demo's live writes, 0 = none (env DEMO_WRITE_INTERVAL_MS, default 500)
  --demo-topology <kind>      the demo source: replicaSet, or sharded (2 shards x 3 members behind 2 mongos)
                              (env DEMO_TOPOLOGY, default replicaSet)`;

export class LocalConfigError extends Error {
  constructor(message: string) {
    super(`${message}\n${USAGE}`);
    this.name = 'LocalConfigError';
  }
}

function port(value: string, name: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65_535)
    throw new LocalConfigError(`${name} must be a port number (0-65535), got ${JSON.stringify(value)}`);
  return parsed;
}

function positive(value: string, name: string, allowZero: boolean): number {
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < 0 || (!allowZero && parsed === 0))
    throw new LocalConfigError(`${name} must be a ${allowZero ? 'non-negative' : 'positive'} number`);
  return parsed;
}

/** 127.0.0.0/8, ::1 and localhost: addresses no other machine can reach. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

const SIZE_UNITS: Readonly<Record<string, number>> = {
  '': 1,
  k: 1e3,
  kb: 1e3,
  m: 1e6,
  mb: 1e6,
  g: 1e9,
  gb: 1e9,
  t: 1e12,
  tb: 1e12,
  ki: 2 ** 10,
  kib: 2 ** 10,
  mi: 2 ** 20,
  mib: 2 ** 20,
  gi: 2 ** 30,
  gib: 2 ** 30,
  ti: 2 ** 40,
  tib: 2 ** 40,
};

/**
 * A size in bytes, written as ClickHouse writes sizes: a number, optionally with a decimal (K, M,
 * G, T; KB… too) or binary (Ki, Mi, Gi, Ti; KiB… too) suffix, case-insensitive: `2GiB`, `500M`.
 */
export function parseByteSize(value: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value);
  const unit = match ? SIZE_UNITS[(match[2] ?? '').toLowerCase()] : undefined;
  const bytes = match && unit !== undefined ? Math.round(Number(match[1]) * unit) : Number.NaN;
  if (!Number.isSafeInteger(bytes))
    throw new LocalConfigError(`${JSON.stringify(value)} is not a size (e.g. 2GiB, 500M, 1073741824)`);
  return bytes;
}

function syncInterval(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1 || parsed > 86_400)
    throw new LocalConfigError(
      `sync interval must be a whole number of seconds from 1 to 86400, got ${JSON.stringify(value)}`,
    );
  return parsed;
}

export function parseLocalConfig(argv: string[], env: NodeJS.ProcessEnv): LocalConfig {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        'data-dir': { type: 'string' },
        host: { type: 'string' },
        'allow-remote': { type: 'boolean' },
        'api-port': { type: 'string' },
        'clickhouse-port': { type: 'string' },
        'clickhouse-max-memory': { type: 'string' },
        'dynamodb-port': { type: 'string' },
        'mongodb-uri': { type: 'string' },
        collections: { type: 'string' },
        'sync-interval': { type: 'string' },
        'demo-write-interval': { type: 'string' },
        'demo-topology': { type: 'string' },
        help: { type: 'boolean' },
      },
    }));
  } catch (error) {
    throw new LocalConfigError((error as Error).message);
  }
  if (values.help) throw new LocalConfigError('');
  const pick = (flag: string, variable: string, fallback: string): string =>
    (values[flag] as string | undefined) ?? env[variable] ?? fallback;

  const mongodbUri = pick('mongodb-uri', 'MONGODB_URI', '') || null;
  const collections = pick('collections', 'COLLECTIONS', '')
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name.length > 0);
  if (mongodbUri && collections.length === 0)
    throw new LocalConfigError('--mongodb-uri needs --collections (e.g. shop.orders,shop.customers)');
  for (const name of collections) {
    if (!/^[^.]+\.[^.].*$/.test(name))
      throw new LocalConfigError(`collection ${JSON.stringify(name)} must be written db.collection`);
  }
  const demoTopology = pick('demo-topology', 'DEMO_TOPOLOGY', 'replicaSet');
  if (demoTopology !== 'replicaSet' && demoTopology !== 'sharded')
    throw new LocalConfigError(`--demo-topology ${demoTopology}: one of replicaSet, sharded`);
  const host = pick('host', 'HOST', '127.0.0.1');
  const allowRemote = values['allow-remote'] === true;
  if (!isLoopback(host) && !allowRemote)
    throw new LocalConfigError(
      `--host ${host} would expose the local API and ClickHouse, which take no credentials, beyond this machine; ` +
        'add --allow-remote if that is what you want',
    );
  return {
    dataDir: pick('data-dir', 'DATA_DIR', './.data'),
    host,
    allowRemote,
    apiPort: port(pick('api-port', 'API_PORT', '3000'), 'api port'),
    clickhousePort: port(pick('clickhouse-port', 'CLICKHOUSE_PORT', '8123'), 'clickhouse port'),
    dynamodbPort: port(pick('dynamodb-port', 'DYNAMODB_PORT', '0'), 'dynamodb port'),
    mongodbUri,
    collections,
    syncIntervalSeconds: syncInterval(pick('sync-interval', 'SYNC_INTERVAL_SECONDS', '2')),
    clickhouseMaxMemoryBytes: parseByteSize(pick('clickhouse-max-memory', 'CLICKHOUSE_MAX_MEMORY', '2GiB')),
    demoWriteIntervalMs: positive(
      pick('demo-write-interval', 'DEMO_WRITE_INTERVAL_MS', '500'),
      'demo write interval',
      true,
    ),
    demoTopology,
  };
}

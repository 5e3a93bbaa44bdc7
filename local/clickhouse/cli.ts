/**
 * Manual use: `tsx local/clickhouse/cli.ts --port 8123 --data ./.data/clickhouse
 * [--max-memory 2GiB]`, then point
 * curl, clickhouse-client's HTTP mode or any ClickHouse HTTP tool at it. Ctrl-C stops it and
 * releases the data directory.
 */
import { parseArgs } from 'node:util';
import { parseByteSize } from '../config.js';
import { ChdbEngine } from './engine.js';
import { serveClickHouse } from './server.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '8123' },
    host: { type: 'string', default: '127.0.0.1' },
    data: { type: 'string', default: './.data/clickhouse' },
    user: { type: 'string' },
    password: { type: 'string' },
    'max-memory': { type: 'string' },
  },
});
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  throw new Error(`--port must be an integer between 0 and 65535, got ${values.port}`);
}
const maxQueryMemoryBytes =
  values['max-memory'] === undefined ? undefined : parseByteSize(values['max-memory']);
const engine = new ChdbEngine(values.data, { maxQueryMemoryBytes });
const front = await serveClickHouse(engine, {
  host: values.host,
  port,
  ...(values.user === undefined ? {} : { user: values.user, password: values.password ?? '' }),
});
console.log(`ClickHouse ${engine.version} (chDB) on ${engine.dataDir}, HTTP at ${front.url}`);

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await front.close();
  engine.close();
  process.exit(0);
}
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());

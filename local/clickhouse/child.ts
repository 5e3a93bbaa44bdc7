/**
 * Entry point of the engine process started by launcher.ts: opens the data directory, serves
 * HTTP, reports the bound port to the parent over IPC and shuts down cleanly when asked (or when
 * the parent goes away), so the data directory's lock is always released.
 */
import { ChdbEngine } from './engine.js';
import { serveClickHouse } from './server.js';

interface ChildConfig {
  dataDir: string;
  host: string;
  port: number;
  user?: string;
  password?: string;
  maxBodyBytes?: number;
  maxQueryMemoryBytes?: number;
  sendTimeoutMs?: number;
  maxConcurrentQueries?: number;
}

const config = JSON.parse(process.env.CLICKHOUSE_FRONT_CONFIG ?? 'null') as ChildConfig | null;
if (config === null || typeof process.send !== 'function') {
  throw new Error('child.ts runs only under launcher.ts (missing CLICKHOUSE_FRONT_CONFIG or IPC channel)');
}
const send = process.send.bind(process);

try {
  const engine = new ChdbEngine(config.dataDir, { maxQueryMemoryBytes: config.maxQueryMemoryBytes });
  const front = await serveClickHouse(engine, config);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await front.close();
    engine.close();
    // Stopping because the parent went away: the channel is already closed.
    if (process.connected) process.disconnect();
    process.exit(0);
  };
  process.on('message', (message) => {
    if (message === 'stop') void stop();
  });
  process.on('disconnect', () => void stop());
  // Ctrl-C in a terminal signals the whole process group; the parent decides when the engine
  // stops (after its in-flight work), and the lost IPC channel stops it if the parent dies.
  process.on('SIGINT', () => undefined);
  send({ ready: true, port: front.port, version: engine.version });
} catch (err) {
  send({ ready: false, error: err instanceof Error ? err.message : String(err) });
  process.exit(1);
}

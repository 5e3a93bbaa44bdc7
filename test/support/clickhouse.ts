import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type StartClickHouseOptions, startEmbeddedClickHouse } from '../../local/clickhouse/launcher.js';

export interface TestClickHouse {
  url: string;
  dataDir: string;
  version: string;
  /** The engine process (its RSS is the front's memory). */
  pid: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Stop the engine process; the data directory stays until remove(). */
  stop(): Promise<void>;
  /** Stop (if running) and delete the data directory when the helper created it. */
  remove(): Promise<void>;
}

/**
 * Start the embedded ClickHouse front (real chDB engine, own process) on 127.0.0.1 and a free
 * port, with a fresh temporary data directory unless one is given.
 */
export async function startTestClickHouse(
  options: Partial<Omit<StartClickHouseOptions, 'host' | 'port'>> = {},
): Promise<TestClickHouse> {
  const ownsDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'clickhouse-test-'));
  let running: Awaited<ReturnType<typeof startEmbeddedClickHouse>> | undefined;
  try {
    running = await startEmbeddedClickHouse({ ...options, dataDir, host: '127.0.0.1', port: 0 });
  } catch (err) {
    if (ownsDir) rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  const engine = running;
  const stop = () => engine.stop();
  return {
    url: engine.url,
    dataDir,
    version: engine.version,
    pid: engine.pid,
    exited: engine.exited,
    stop,
    remove: async () => {
      await stop();
      if (ownsDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

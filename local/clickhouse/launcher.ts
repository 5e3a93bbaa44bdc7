import { type ChildProcess, fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface StartClickHouseOptions {
  dataDir: string;
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  user?: string;
  password?: string;
  maxBodyBytes?: number;
  /**
   * Each query's memory bound in bytes (ClickHouse's `max_memory_usage`, enforced as a constraint:
   * a request may lower it, not raise it); 0 for none. Default 2 GiB (DEFAULT_MAX_QUERY_MEMORY_BYTES).
   */
  maxQueryMemoryBytes?: number;
  /** How long a response waits for a client that stopped reading before its query is stopped (default 300 s). */
  sendTimeoutMs?: number;
  /** Statements other than raw inserts that may run at once (default 32); see ClickHouseFrontOptions. */
  maxConcurrentQueries?: number;
  /** How long to wait for the engine to open its data directory. */
  startTimeoutMs?: number;
}

export interface EmbeddedClickHouse {
  url: string;
  port: number;
  version: string;
  pid: number;
  /** Settles when the engine process ends, whether by stop() or not (a crash, an outside kill). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(): Promise<void>;
}

type ReadyMessage = { ready: true; port: number; version: string } | { ready: false; error: string };

const CHILD_ENTRY = fileURLToPath(new URL('./child.ts', import.meta.url));
// Resolved from this file, not the working directory, so a start from any folder finds tsx.
const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const STOP_GRACE_MS = 10_000;
/**
 * libuv's thread pool in the engine process (Node's default is 4). Every engine call runs on it,
 * and a query inside a long block (an aggregation, a sort) holds its thread: with 4, four such
 * queries left no thread for anything else (measured: a `SELECT 42` beside five endless
 * aggregations had no answer after 5 s). The front admits at most maxConcurrentQueries (32)
 * queries, so threads are left for inserts. UV_THREADPOOL_SIZE in the environment wins.
 */
export const ENGINE_THREAD_POOL_SIZE = 64;

/**
 * Start the embedded ClickHouse HTTP front in its own process. A process, not a worker thread:
 * chDB binds one data directory per process, and chDB 3.4.0 crashes the whole process
 * (SIGSEGV) when a worker thread that loaded it exits, so a worker could never be stopped and
 * restarted cleanly. The process owns the directory's lock until stop() returns.
 */
export async function startEmbeddedClickHouse(options: StartClickHouseOptions): Promise<EmbeddedClickHouse> {
  const host = options.host ?? '127.0.0.1';
  const config = { ...options, host, port: options.port ?? 0 };
  const child = fork(CHILD_ENTRY, [], {
    execArgv: ['--import', TSX_LOADER],
    env: {
      ...process.env,
      UV_THREADPOOL_SIZE: process.env.UV_THREADPOOL_SIZE ?? String(ENGINE_THREAD_POOL_SIZE),
      CLICKHOUSE_FRONT_CONFIG: JSON.stringify(config),
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) => {
    child.once('exit', (code, signal) => resolveExit({ code, signal }));
  });
  const ready = await waitForReady(child, options.startTimeoutMs ?? 60_000);
  return {
    url: `http://${host}:${ready.port}`,
    port: ready.port,
    version: ready.version,
    pid: child.pid ?? -1,
    exited,
    stop: () => stopChild(child),
  };
}

function waitForReady(child: ChildProcess, timeoutMs: number): Promise<{ port: number; version: string }> {
  return new Promise((resolveReady, rejectReady) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      rejectReady(new Error(`embedded ClickHouse did not start within ${timeoutMs} ms`));
    }, timeoutMs);
    child.once('message', (message: ReadyMessage) => {
      clearTimeout(timer);
      if (message.ready) resolveReady({ port: message.port, version: message.version });
      else rejectReady(new Error(`embedded ClickHouse failed to start: ${message.error}`));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      rejectReady(
        new Error(`embedded ClickHouse exited before it was ready (code ${code}, signal ${signal})`),
      );
    });
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolveStop) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    child.once('exit', () => {
      clearTimeout(timer);
      resolveStop();
    });
    if (child.connected) child.send('stop');
    else child.kill('SIGTERM');
  });
}

import { contextOfPipe, type PipeContext } from '../engines/table-context.js';
import type { PipeRecord } from '../ports/pipe-store.js';
import type { PipeConnections, Runtime } from './runtime.js';

/**
 * A pipe as every handler works on it (the Tasks and the scheduled CDC batch): its record, read
 * once, and its context (validated settings, the destination's default database).
 */
export interface LoadedPipe extends PipeContext {
  pipe: PipeRecord;
}

export async function loadPipe(runtime: Runtime, pipeId: string): Promise<LoadedPipe> {
  const pipe = await runtime.store.getPipe(pipeId);
  return { pipe, ...contextOfPipe(pipe) };
}

/** Opens the pipe's connections for one call and always closes them. */
export async function withConnections<T>(
  runtime: Runtime,
  loaded: LoadedPipe,
  use: (connections: PipeConnections) => Promise<T>,
): Promise<T> {
  const connections = await runtime.connect(loaded.pipe, loaded.settings);
  try {
    return await use(connections);
  } finally {
    await connections.close();
  }
}

import { z } from 'zod';
import { FatalError, StateConflictError } from '../../core/errors.js';
import { PIPE_EVENTS, PIPE_STATES, type PipeEvent } from '../../core/lifecycle.js';
import { type PipeSettings, parseSettings } from '../../core/settings.js';
import type { PipeRecord } from '../../ports/pipe-store.js';
import type { PipeConnections, Runtime } from '../runtime.js';

/** Every Task input carries the execution's pipe and who asked; extra fields are ignored. */
export const pipeInput = z.object({
  pipeId: z.string().min(1),
  requestedBy: z.string().min(1).default('state-machine'),
  requestId: z.string().min(1).optional(),
});

export const pipeEvent = z.enum(PIPE_EVENTS);
export const pipeState = z.enum(PIPE_STATES);
export const tableKeys = z.array(
  z.string().regex(/^[^.]+\..+$/, { error: 'must be <database>.<collection>' }),
);

export interface LoadedPipe {
  pipe: PipeRecord;
  settings: PipeSettings;
}

export async function loadPipe(runtime: Runtime, pipeId: string): Promise<LoadedPipe> {
  const pipe = await runtime.store.getPipe(pipeId);
  return { pipe, settings: parseSettings(pipe.settings, ['settings']) };
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

export interface ApplyOptions {
  expectedState?: PipeRecord['state'];
  actor: string;
  reason: string;
  /** The operation's request id: written into the history entry so a retried Task recognises its own write. */
  requestId?: string;
}

/**
 * Applies an event with a conditional write. When the write fails because the state moved, and
 * the move was this very request's (its Lambda call timed out after the write and the Task was
 * retried), the step counts as done instead of failing the pipe or refusing the command.
 */
export async function applyEvent(
  runtime: Runtime,
  pipeId: string,
  event: PipeEvent,
  options: ApplyOptions,
): Promise<{ state: PipeRecord['state'] }> {
  const mark = options.requestId ? ` [request ${options.requestId}]` : '';
  try {
    const next = await runtime.store.applyEvent(pipeId, event, {
      reason: `${options.reason}${mark}`,
      actor: options.actor,
      ...(options.expectedState ? { expectedState: options.expectedState } : {}),
    });
    return { state: next.state };
  } catch (error) {
    if (!(error instanceof StateConflictError) || !mark) throw error;
    const [last] = (await runtime.store.listHistory(pipeId, { limit: 1 })).items;
    const ours = last?.event === event && last.from === options.expectedState && last.reason.endsWith(mark);
    if (!ours) throw error;
    return { state: last.to };
  }
}

/** Snapshot-only pipes finish in Completed; the others go on with CDC. */
export function isSnapshotOnly(settings: PipeSettings): boolean {
  return settings.replicationMode === 'snapshot';
}

/** Where a mapping's ClickHouse table lives: its targetDatabase, else the pipe's destination database. */
export function targetDatabaseOf(pipe: PipeRecord, settings: PipeSettings, tableKey: string): string {
  const mapping = settings.tableMappings.find(
    (entry) => `${entry.sourceDatabaseName}.${entry.sourceCollection}` === tableKey,
  );
  const fallback = (pipe.destination as { database?: unknown } | null)?.database;
  const database = mapping?.targetDatabase ?? (typeof fallback === 'string' ? fallback : undefined);
  if (!database) throw new MissingDatabaseError(`pipe ${pipe.id}: table ${tableKey} has no target database`);
  return database;
}

/** Neither the mapping nor the pipe's destination names a database (reported as FatalError). */
class MissingDatabaseError extends FatalError {}

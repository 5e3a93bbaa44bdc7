import { randomUUID } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { LifecycleOperation } from '../../functions/ports/lifecycle.js';

const SUFFIX = '.json';
const TEMP_SUFFIX = '.tmp';
const VERSION = 1;

/**
 * Where one top-level execution stands: enough to start it again from that state, as Step
 * Functions would continue a durable execution after the local runtime restarts.
 */
export interface JournalEntry {
  version: typeof VERSION;
  executionId: string;
  operation: LifecycleOperation;
  pipeId: string;
  /** The last top-level state entered, and the raw input it was entered with. */
  state: string;
  input: unknown;
  startedAt: string;
  updatedAt: string;
}

export interface JournalListing {
  entries: JournalEntry[];
  /** Files that could not be read as an entry (named, left in place). */
  unreadable: string[];
}

/**
 * One small JSON file per execution, `<dir>/<executionId>.json`. Every write goes to a temp file
 * that is flushed to disk and then renamed over the entry, so a reader sees the old entry or the
 * new one, never a torn one; a temp file left by a crash is ignored (and cleaned by `list`).
 * Writes for one execution are never concurrent (the runner makes them one after another).
 */
export class ExecutionJournal {
  private ready: Promise<unknown> | null = null;

  constructor(readonly dir: string) {}

  fileOf(executionId: string): string {
    return join(this.dir, `${encodeURIComponent(executionId)}${SUFFIX}`);
  }

  async write(entry: Omit<JournalEntry, 'version' | 'updatedAt'>): Promise<void> {
    this.ready ??= mkdir(this.dir, { recursive: true });
    await this.ready;
    const full: JournalEntry = { version: VERSION, ...entry, updatedAt: new Date().toISOString() };
    const target = this.fileOf(entry.executionId);
    const temp = `${target}.${randomUUID()}${TEMP_SUFFIX}`;
    const file = await open(temp, 'w');
    try {
      await file.writeFile(JSON.stringify(full));
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temp, target);
  }

  async remove(executionId: string): Promise<void> {
    await rm(this.fileOf(executionId), { force: true });
  }

  async read(executionId: string): Promise<JournalEntry | null> {
    try {
      return parseEntry(await readFile(this.fileOf(executionId), 'utf8'));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  /** Every entry, oldest start first; temp files (a write cut short) are removed. */
  async list(): Promise<JournalListing> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { entries: [], unreadable: [] };
      throw error;
    }
    const entries: JournalEntry[] = [];
    const unreadable: string[] = [];
    for (const name of names.sort()) {
      const path = join(this.dir, name);
      if (name.endsWith(TEMP_SUFFIX)) {
        await rm(path, { force: true });
        continue;
      }
      if (!name.endsWith(SUFFIX)) continue;
      try {
        entries.push(parseEntry(await readFile(path, 'utf8')));
      } catch {
        unreadable.push(path);
      }
    }
    entries.sort((a, b) => (a.startedAt < b.startedAt ? -1 : a.startedAt > b.startedAt ? 1 : 0));
    return { entries, unreadable };
  }
}

function parseEntry(text: string): JournalEntry {
  const entry = JSON.parse(text) as Partial<JournalEntry>;
  const strings = ['executionId', 'operation', 'pipeId', 'state', 'startedAt'] as const;
  if (
    entry.version !== VERSION ||
    strings.some((key) => typeof entry[key] !== 'string') ||
    !('input' in entry)
  )
    throw new Error('not a journal entry');
  return entry as JournalEntry;
}

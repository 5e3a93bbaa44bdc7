import type { PipeState } from '../functions/core/lifecycle.js';
import type { HistoryEntry, PipeStore } from '../functions/ports/pipe-store.js';
import type { LocalOutput } from './progress.js';

const LOADING_STATES: readonly PipeState[] = ['Snapshot', 'Resync'];
/** More changes than this between two polls are summarised by the newest ones. */
const HISTORY_PAGE = 20;

/**
 * Prints what the state machines do, read back from the pipe store: one line per state change
 * (every history entry, with its reason) and, while a pipe loads, each table's progress.
 */
export class PipeWatcher {
  private readonly seenVersion = new Map<string, number>();
  private readonly names = new Map<string, string>();

  constructor(
    private readonly store: PipeStore,
    private readonly output: LocalOutput,
  ) {}

  /** Remembers where every pipe is without printing it (the start of a run). */
  async prime(): Promise<void> {
    for (const pipe of (await this.store.listPipes()).items) {
      this.seenVersion.set(pipe.id, pipe.version);
      this.names.set(pipe.id, pipe.name);
    }
  }

  nameOf(pipeId: string): string {
    return this.names.get(pipeId) ?? pipeId;
  }

  async poll(): Promise<void> {
    for (const pipe of (await this.store.listPipes()).items) {
      this.names.set(pipe.id, pipe.name);
      const seen = this.seenVersion.get(pipe.id) ?? 0;
      if (pipe.version > seen) {
        this.seenVersion.set(pipe.id, pipe.version);
        const history = await this.store.listHistory(pipe.id, { limit: HISTORY_PAGE });
        const fresh = history.items.filter((entry) => entry.version > seen).reverse();
        for (const entry of fresh) this.output.line(describe(pipe.name, entry));
      }
      if (!LOADING_STATES.includes(pipe.state)) continue;
      for (const table of await this.store.listTableMappings(pipe.id)) {
        const { documentsCopied, documentsEstimated } = table.progress;
        if (documentsEstimated > 0 || documentsCopied > 0)
          this.output.progress(pipe.name, table.tableKey, documentsCopied, documentsEstimated);
      }
    }
  }
}

function describe(pipeName: string, entry: HistoryEntry): string {
  const reason = entry.reason ? ` (${entry.reason})` : '';
  return `pipe ${pipeName}: ${entry.from ?? '(new)'} → ${entry.to}${reason}`;
}

import { classifyError } from '../functions/core/classify.js';
import { PipeError } from '../functions/core/errors.js';
import type { PipeEvent, PipeState } from '../functions/core/lifecycle.js';
import { type PipeSettings, parseSettings } from '../functions/core/settings.js';
import { cdcBatch } from '../functions/engines/cdc-batch.js';
import { snapshotChunk } from '../functions/engines/snapshot-chunk.js';
import { planTableSnapshot } from '../functions/engines/snapshot-plan.js';
import type { Clock } from '../functions/ports/clock.js';
import type { Destination } from '../functions/ports/destination.js';
import type { PipeRecord, PipeStore, TableMappingRecord } from '../functions/ports/pipe-store.js';
import type { ChangeSource, SnapshotSource } from '../functions/ports/source.js';

/** The parts one pipe runs on; the same adapters the Lambda handlers build. */
export interface PipeParts {
  store: PipeStore;
  snapshotSource: SnapshotSource;
  changeSource: ChangeSource;
  destination: Destination;
  clock: Clock;
}

export interface DriverOutput {
  /** One line per pipe state change and per notable event. */
  line(text: string): void;
  /** Snapshot progress of one table (documents copied of estimated). */
  progress(pipe: string, tableKey: string, copied: number, estimated: number): void;
}

const ACTOR = 'local-runtime';
const CHUNK_BUDGET_MS = 60_000;
const CHUNK_SAFETY_MARGIN_MS = 5_000;
/** Short runs: locally a batch runs every few seconds, and Ctrl-C waits for the one in flight. */
const CDC_BUDGET_MS = 8_000;
const CDC_SAFETY_MARGIN_MS = 5_000;
/** Bounds a partition's chunk loop: a chunk that never finishes its partition is a bug, not a wait. */
const MAX_CHUNKS_PER_PARTITION = 10_000;

/**
 * Moves one pipe through its lifecycle with the engines, one step per call. This is the local
 * runtime's stand-in for the Step Functions machines (issue #5 replaces it with the same ASL
 * files run locally): each step is the work one Task does, and each ends with the same
 * lifecycle event, so a restart resumes at the step the stored state names.
 */
export class PipeDriver {
  constructor(
    private readonly parts: PipeParts,
    private readonly output: DriverOutput,
  ) {}

  /** Runs the step for the pipe's current state; returns the state after it. */
  async step(pipeId: string): Promise<PipeState> {
    const pipe = await this.parts.store.getPipe(pipeId);
    try {
      switch (pipe.state) {
        case 'Provisioning':
          return await this.move(pipe, 'provisioned', 'local resources ready');
        case 'Setup':
          return await this.setUp(pipe);
        case 'Snapshot':
          return await this.snapshot(pipe);
        case 'Running':
          await this.cdc(pipe);
          return pipe.state;
        default:
          return pipe.state;
      }
    } catch (error) {
      return this.handleFailure(pipe, error);
    }
  }

  private async move(pipe: PipeRecord, event: PipeEvent, reason: string): Promise<PipeState> {
    const next = await this.parts.store.applyEvent(pipe.id, event, {
      expectedState: pipe.state,
      reason,
      actor: ACTOR,
    });
    this.output.line(`pipe ${pipe.name}: ${pipe.state} → ${next.state} (${reason})`);
    return next.state;
  }

  private async setUp(pipe: PipeRecord): Promise<PipeState> {
    const settings = parseSettings(pipe.settings, ['settings']);
    const database = destinationDatabase(pipe);
    const { store, destination, changeSource } = this.parts;
    await destination.ensureDatabase(database);
    for (const mapping of settings.tableMappings) {
      await destination.createTable(
        { database: mapping.targetDatabase ?? database, table: mapping.targetTable },
        { useJsonNativeFormat: settings.useJsonNativeFormat, deleteOnMerge: settings.deleteOnMerge },
      );
    }
    if (!(await store.getStartPoint(pipe.id))) {
      await store.recordStartPoint(pipe.id, await changeSource.captureStartPoint());
    }
    const cdcOnly = settings.replicationMode === 'cdc_only';
    for (const mapping of await store.listTableMappings(pipe.id)) {
      await store.setTableState(pipe.id, mapping.tableKey, { state: cdcOnly ? 'Replicating' : 'Snapshot' });
    }
    return this.move(
      pipe,
      cdcOnly ? 'destinationReadyCdcOnly' : 'destinationReady',
      'destination tables created, start point recorded',
    );
  }

  private async snapshot(pipe: PipeRecord): Promise<PipeState> {
    const settings = parseSettings(pipe.settings, ['settings']);
    const { store } = this.parts;
    for (const mapping of await store.listTableMappings(pipe.id)) {
      if (mapping.state !== 'Snapshot') continue;
      await this.snapshotTable(pipe, mapping);
      await store.setTableState(pipe.id, mapping.tableKey, { state: 'Replicating' });
    }
    return this.move(
      pipe,
      finishEvent(settings),
      settings.replicationMode === 'snapshot' ? 'snapshot loaded' : 'snapshot loaded, CDC takes over',
    );
  }

  private async snapshotTable(pipe: PipeRecord, mapping: TableMappingRecord): Promise<void> {
    const { store, snapshotSource, destination, clock } = this.parts;
    const planned = await planTableSnapshot(
      { store, source: snapshotSource },
      { pipeId: pipe.id, tableKey: mapping.tableKey },
    );
    for (const partition of planned.partitions) {
      if (partition.done) continue;
      for (let chunk = 0; chunk < MAX_CHUNKS_PER_PARTITION; chunk += 1) {
        const result = await snapshotChunk(
          { store, source: snapshotSource, destination, clock },
          {
            pipeId: pipe.id,
            table: mapping.tableKey,
            partitionIndex: partition.index,
            budget: { deadline: clock.now() + CHUNK_BUDGET_MS, safetyMarginMs: CHUNK_SAFETY_MARGIN_MS },
          },
        );
        const table = await store.refreshTableProgress(pipe.id, mapping.tableKey);
        this.output.progress(
          pipe.name,
          mapping.tableKey,
          table.progress.documentsCopied,
          table.progress.documentsEstimated,
        );
        if (result.done) break;
      }
    }
  }

  private async cdc(pipe: PipeRecord): Promise<void> {
    const { store, changeSource, destination, clock } = this.parts;
    const result = await cdcBatch(
      { store, source: changeSource, destination, clock },
      {
        pipeId: pipe.id,
        holder: `${ACTOR}-${process.pid}-${clock.now()}`,
        budget: { deadline: clock.now() + CDC_BUDGET_MS, safetyMarginMs: CDC_SAFETY_MARGIN_MS },
      },
    );
    if (result.status === 'skipped') {
      this.output.line(`pipe ${pipe.name}: CDC batch skipped (${result.reason})`);
      return;
    }
    if (result.events > 0 || result.tablesStopped.length > 0) {
      const rows = Object.entries(result.rowsPerTable)
        .map(([table, count]) => `${table} ${count}`)
        .join(', ');
      const lag = result.lagMs === null ? '' : `, lag ${(result.lagMs / 1000).toFixed(1)} s`;
      this.output.line(
        `pipe ${pipe.name}: CDC ${result.events} events → rows ${rows || 'none'} in ${result.durationMs} ms${lag}`,
      );
    }
    for (const table of result.tablesStopped) this.output.line(`pipe ${pipe.name}: table ${table} stopped`);
  }

  /** Transient errors wait for the next tick; anything else fails the pipe with its reason. */
  private async handleFailure(pipe: PipeRecord, error: unknown): Promise<PipeState> {
    const classified = error instanceof PipeError ? error : classifyError(error);
    await this.parts.store.recordError(pipe.id, { name: classified.name, message: classified.message });
    if (classified.disposition === 'retry') {
      this.output.line(`pipe ${pipe.name}: ${classified.name} (will retry): ${classified.message}`);
      return pipe.state;
    }
    this.output.line(`pipe ${pipe.name}: ${classified.name}: ${classified.message}`);
    return this.move(pipe, 'fail', `${classified.name}: ${classified.message}`);
  }
}

function finishEvent(settings: PipeSettings): PipeEvent {
  return settings.replicationMode === 'snapshot' ? 'snapshotDoneSnapshotOnly' : 'snapshotDone';
}

function destinationDatabase(pipe: PipeRecord): string {
  const database = (pipe.destination as { database?: unknown } | null)?.database;
  if (typeof database !== 'string' || database.length === 0)
    throw new Error(`pipe ${pipe.name} has no destination database`);
  return database;
}

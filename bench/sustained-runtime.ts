/**
 * The product's real CDC scheduling path, as `npm start` wires it (local/start.ts): a Runtime over
 * the pipe store, a LocalCdcSchedule as scheduler and cdcTrigger, the real adapters through
 * connectWith, and the schedule invoking the real handler (cdcBatchTask) through
 * localCdcInvoker, with a Lambda's 15 minutes. The benchmark only watches: it wraps the invoker
 * to note when each invocation started and what it returned, and reads the per-batch metrics
 * the handler reports. Also: the sustained section's own simulator, whose oplog is capped.
 */
import { fileURLToPath } from 'node:url';
import { MongoClient } from 'mongodb';
import type { PipeSettingsInput } from '../functions/core/settings.js';
import type { CdcRunOutcome } from '../functions/engines/cdc-run.js';
import { connectWith, type Runtime } from '../functions/handlers/runtime.js';
import { setScheduleTask } from '../functions/handlers/tasks/set-schedule.js';
import { systemClock } from '../functions/ports/clock.js';
import { CDC_LEASE } from '../functions/ports/pipe-store.js';
import { localCdcInvoker } from '../local/cdc/invoke.js';
import { type CdcInvoker, LocalCdcSchedule } from '../local/cdc/schedule.js';
import { silentLog } from '../test/support/log.js';
import { type BenchPipe, createBenchPipe } from './pipes.js';
import { cpuSecondsOfPid, firstMessage, forkTs, stopChild } from './processes.js';
import { DESTINATION_DATABASE, type World } from './world.js';

const SIMULATOR_ENTRY = fileURLToPath(new URL('./sustained-simulator-child.ts', import.meta.url));
/** Heap of the simulator child: a capped oplog of 1 GiB of ~1 KB documents plus one collection. */
const SIMULATOR_HEAP_MB = 8_192;
export const SUSTAINED_DB = 'sustained';

/**
 * The benchmark's world with its own simulator (oplog capped at `oplogBytes`) in place of the
 * shared one; ClickHouse and dynalite stay shared. stop() ends only what this started.
 */
export async function withCappedSimulator(world: World, oplogBytes: number): Promise<World> {
  const simulator = forkTs(SIMULATOR_ENTRY, [], { ...process.env, BENCH_OPLOG_BYTES: String(oplogBytes) }, [
    `--max-old-space-size=${SIMULATOR_HEAP_MB}`,
  ]);
  try {
    const { uri } = await firstMessage<{ uri: string }>(simulator, 'the capped simulator');
    const mongo = new MongoClient(uri, { serverSelectionTimeoutMS: 10_000 });
    await mongo.connect();
    return {
      ...world,
      mongoUri: uri,
      mongo,
      simulator,
      cpu: () => ({ ...world.cpu(), simulator: cpuSecondsOfPid(simulator.pid) }),
      stop: async () => {
        await mongo.close().catch(() => undefined);
        await stopChild(simulator);
      },
    };
  } catch (error) {
    await stopChild(simulator);
    throw error;
  }
}

export interface RunRecord {
  pipeId: string;
  trigger: string;
  /** Epoch ms when the schedule (or runSoon) invoked the handler, and when the handler returned. */
  startedAt: number;
  endedAt: number | null;
  outcome: CdcRunOutcome | null;
  error: string | null;
}

export interface BatchRecord {
  pipeId: string;
  at: number;
  events: number;
  lagMs: number | null;
}

/**
 * One Runtime and one LocalCdcSchedule for the whole section (as `npm start` has), the schedule
 * invoking the real handler. Records every invocation and every batch.
 */
export class ScheduledCdc {
  readonly runtime: Runtime;
  readonly schedule: LocalCdcSchedule;
  readonly runs: RunRecord[] = [];
  readonly batches: BatchRecord[] = [];
  readonly errors: { pipeId: string; at: number; message: string }[] = [];
  /** Called when the schedule or runSoon invokes the handler, before the handler runs. */
  onInvoke: ((pipeId: string, trigger: string, at: number) => void) | null = null;
  private readonly inFlight = new Map<string, Set<Promise<unknown>>>();

  constructor(world: World, minuteMs: number) {
    this.schedule = new LocalCdcSchedule({
      minuteMs,
      onError: (pipeId, error) => this.errors.push({ pipeId, at: Date.now(), message: String(error) }),
    });
    this.runtime = {
      store: world.store,
      scheduler: this.schedule,
      cdcTrigger: this.schedule,
      clock: systemClock,
      cdcMetrics: {
        batchApplied: (pipeId, batch) =>
          this.batches.push({ pipeId, at: Date.now(), events: batch.events, lagMs: batch.lagMs }),
        pipeFailed: (pipeId) => this.errors.push({ pipeId, at: Date.now(), message: 'CDC failed the pipe' }),
      },
      // Fresh clients per invocation (the Lambda keeps them warm; here they must close at the end).
      connect: connectWith({
        mongoUri: world.mongoUri,
        clickhouse: { url: world.clickhouse.url },
        // The change source's "change stream opened with …" line, once per batch: not printed.
        log: silentLog,
      }),
    };
  }

  start(): void {
    const invoke = localCdcInvoker(this.runtime);
    const watched: CdcInvoker = (pipeId, trigger) => {
      const record: RunRecord = {
        pipeId,
        trigger,
        startedAt: Date.now(),
        endedAt: null,
        outcome: null,
        error: null,
      };
      this.runs.push(record);
      this.onInvoke?.(pipeId, trigger, record.startedAt);
      const call = invoke(pipeId, trigger).then(
        (outcome) => {
          record.outcome = outcome as CdcRunOutcome;
        },
        (error: unknown) => {
          record.error = String(error);
          throw error;
        },
      );
      const running = this.inFlight.get(pipeId) ?? new Set();
      this.inFlight.set(pipeId, running);
      const tracked = call.finally(() => {
        record.endedAt = Date.now();
        running.delete(tracked);
      });
      running.add(tracked);
      return tracked;
    };
    this.schedule.start(watched);
  }

  /** The product's SetSchedule step (what the machines end with): schedule enabled, and a run at once. */
  async enable(pipeId: string): Promise<void> {
    await setScheduleTask.invoke(this.runtime, { pipeId, action: 'enable' });
  }

  /** A run now, outside the schedule (the hand-over / restart trigger). */
  async runSoon(pipeId: string): Promise<void> {
    if (!(await this.schedule.runSoon(pipeId, 'restart'))) throw new Error('the schedule is not started');
  }

  /** SetSchedule `remove` (as on delete: schedule gone, lease revoked), then waits for the pipe's runs. */
  async remove(pipeId: string, waitMs = 120_000): Promise<boolean> {
    await setScheduleTask.invoke(this.runtime, { pipeId, action: 'remove' });
    return this.settle(pipeId, waitMs);
  }

  /** Waits (at most `waitMs`) until no invocation of the pipe is in progress. */
  async settle(pipeId: string, waitMs: number): Promise<boolean> {
    const running = [...(this.inFlight.get(pipeId) ?? [])];
    if (running.length === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), waitMs);
    });
    try {
      return await Promise.race([Promise.allSettled(running).then(() => true), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  inProgress(pipeId: string): number {
    return this.inFlight.get(pipeId)?.size ?? 0;
  }

  runsOf(pipeId: string): RunRecord[] {
    return this.runs.filter((run) => run.pipeId === pipeId);
  }

  /** Ctrl-C or the end: every run asked to end (lease revoked), then the schedule stops (bounded). */
  async stop(waitMs = 60_000): Promise<void> {
    for (const [pipeId, running] of this.inFlight) {
      if (running.size > 0)
        await this.runtime.store
          .revokeLease(pipeId, CDC_LEASE, 'the benchmark is stopping')
          .catch(() => undefined);
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.schedule.stop(),
      new Promise((resolve) => {
        timer = setTimeout(resolve, waitMs);
      }),
    ]);
    clearTimeout(timer);
  }
}

/** A cdc_only pipe on one new collection, Running, its table Replicating, its start point recorded. */
export async function runningPipe(
  world: World,
  name: string,
  settings: Partial<PipeSettingsInput>,
): Promise<BenchPipe> {
  const pipe = await createBenchPipe(
    world,
    { db: SUSTAINED_DB, coll: name, target: name, state: 'Replicating' },
    { replicationMode: 'cdc_only', ...settings },
  );
  for (const event of ['provisioned', 'destinationReadyCdcOnly'] as const)
    await world.store.applyEvent(pipe.pipeId, event, { reason: 'bench', actor: 'bench' });
  return pipe;
}

/** Drops a finished phase's collection (frees the simulator's memory) and its table. */
export async function dropPipeData(world: World, pipe: BenchPipe): Promise<void> {
  await world.mongo
    .db(pipe.db)
    .collection(pipe.coll)
    .drop()
    .catch(() => undefined);
  await world.query.command({ query: `DROP TABLE IF EXISTS ${DESTINATION_DATABASE}.\`${pipe.target}\`` });
}

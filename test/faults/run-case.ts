import { setTimeout as sleep } from 'node:timers/promises';
import { type CommandSucceededEvent, MongoClient } from 'mongodb';
import type { DynamoPipeStore } from '../../functions/adapters/dynamodb/store.js';
import { MongoSnapshotSource } from '../../functions/adapters/mongodb/snapshot-source.js';
import { classifyError } from '../../functions/core/classify.js';
import type { CdcBatchApplied } from '../../functions/engines/cdc-batch.js';
import { cdcBatch, cdcRun } from '../../functions/engines/cdc-run.js';
import { systemClock } from '../../functions/ports/clock.js';
import {
  compareTable,
  type EngineParts,
  hurried,
  type PipeUnderTest,
  partsOf,
  setUpPipe,
  snapshotAll,
  type World,
} from '../e2e/harness.js';
import { type LoadCollection, seedCollections, WriteLoad } from '../e2e/write-load.js';
import { newStore } from '../engines/support.js';
import { InjectedCrash } from './crash.js';
import type { Workload } from './workloads.js';

/** The application name of the pipe's own MongoDB client: fail points aim at it, not at the load. */
export const PIPE_APP_NAME = 'pipe-under-fault';

/** A clock that can jump forward: lets a lease held by a killed run expire without waiting. */
export class ShiftableClock {
  offsetMs = 0;
  now = (): number => Date.now() + this.offsetMs;
}

/** A one-shot action on the pipe client's N-th read command (find, getMore or aggregate) to succeed. */
export interface ReadTrigger {
  afterReads: number;
  action: (event: CommandSucceededEvent) => void | Promise<void>;
}

const READ_COMMANDS = new Set(['find', 'getMore', 'aggregate']);

/** Everything one case works with. */
export interface CaseRun {
  world: World;
  /** The world as the pipe sees it: the case's store (shiftable clock) and the pipe's own client. */
  pipeWorld: World;
  clock: ShiftableClock;
  store: DynamoPipeStore;
  pipeClient: MongoClient;
  workload: Workload;
  collections: LoadCollection[];
  pipe: PipeUnderTest;
  parts: EngineParts;
  load: WriteLoad;
  notes: string[];
  /** Arms a trigger; returns a probe telling whether it fired. */
  onRead(trigger: ReadTrigger): { fired: () => boolean };
}

/** How a step ended after every retry it needed. */
export interface Convergence<T> {
  value: T;
  crashes: number;
  retries: number;
}

/**
 * Retries of one step, all its Tasks' together (a snapshot is many chunk Tasks, each retried on
 * its own by Step Functions): the AWS faults fail the first call of every call site, up to 20.
 */
const MAX_ATTEMPTS = 30;
/** Longer than any lease a CDC run takes (budget + grace), so a killed holder's lease has expired. */
/** Each CDC run is its own invocation: never the holder of an earlier, possibly dead, run. */
let nextHolder = 1;

const LEASE_EXPIRY_JUMP_MS = 16 * 60_000;

/**
 * Runs a step the way Step Functions and the schedule would: a killed run (InjectedCrash) and a
 * transient error are followed by another run, with the healthy parts; a fatal or history-lost
 * error ends the step. The first attempt uses `firstParts` (the fault), the others `run.parts`.
 */
export async function converge<T>(
  run: CaseRun,
  label: string,
  step: (parts: EngineParts) => Promise<T>,
  firstParts: EngineParts = run.parts,
): Promise<Convergence<T>> {
  let crashes = 0;
  let retries = 0;
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt += 1) {
    try {
      const value = await step(attempt === 1 ? firstParts : run.parts);
      return { value, crashes, retries };
    } catch (error) {
      const crash = injectedCrashIn(error);
      if (crash) {
        crashes += 1;
        run.notes.push(`${label}: ${crash.message}`);
        continue;
      }
      const classified = classifyError(error);
      if (classified.disposition !== 'retry') throw classified;
      retries += 1;
      run.notes.push(`${label}: ${classified.name} retried`);
      await sleep(Math.min(100 * attempt, 500));
    }
  }
  throw new Error(`${label}: not done after ${MAX_ATTEMPTS} attempts`);
}

/** The crash itself or the error an adapter wrapped it in (adapters classify what they see). */
function injectedCrashIn(error: unknown): InjectedCrash | undefined {
  for (let current = error, depth = 0; current && depth < 5; depth += 1) {
    if (current instanceof InjectedCrash) return current;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

export interface CdcRounds {
  events: number;
  batches: number;
  /** Runs that found the lease held (by a killed or a concurrent run). */
  skipped: number;
}

/**
 * CDC batches until one finds nothing new. `concurrent` runs that many at once each round, as
 * overlapping schedule triggers would. A lease left by a killed run is waited out by moving the
 * store's clock past its expiry, as real time would.
 */
export async function cdcUntilQuiet(run: CaseRun, parts: EngineParts, concurrent = 1): Promise<CdcRounds> {
  const rounds: CdcRounds = { events: 0, batches: 0, skipped: 0 };
  for (let round = 0; round < 300; round += 1) {
    const results = await Promise.all(
      Array.from({ length: concurrent }, (_, n) =>
        cdcBatch(
          {
            store: parts.store,
            source: parts.changeSource,
            destination: parts.destination,
            clock: systemClock,
          },
          {
            pipeId: run.pipe.pipeId,
            holder: `run-${nextHolder++}-${n}`,
            budget: { deadline: Date.now() + 30_000, safetyMarginMs: 5_000 },
            maxWaitMs: 150,
          },
        ),
      ),
    );
    let quiet = true;
    const skippedThisRound = results.filter((result) => result.status === 'skipped').length;
    rounds.skipped += skippedThisRound;
    for (const result of results) {
      if (result.status !== 'applied') continue;
      rounds.batches += 1;
      rounds.events += result.events;
      if (result.events > 0 || result.heldBackEvents > 0) quiet = false;
    }
    if (skippedThisRound === results.length) {
      run.clock.offsetMs += LEASE_EXPIRY_JUMP_MS;
      run.notes.push('cdc: lease held by a dead run, waited out');
      continue;
    }
    if (quiet) return rounds;
  }
  throw new Error('CDC did not go quiet within 300 rounds');
}

export interface CdcRunsTally {
  /** Runs that took the lease, by how they ended (caught-up, lease-lost, budget…). */
  endings: Record<string, number>;
  events: number;
  /** Runs that found the lease held (by a killed run). */
  skipped: number;
  /** CDC rows written per destination table (`database.table`), `_resync` tables included. */
  rowsPerTable: Record<string, number>;
}

export function newCdcRunsTally(): CdcRunsTally {
  return { endings: {}, events: 0, skipped: 0, rowsPerTable: {} };
}

export interface CdcRunsOptions {
  /** Runs follow one another while this says so (e.g. while a snapshot goes on), then until caught up. */
  keepGoing?: () => boolean;
  /** Byte bound of a batch's read (cuts batches of large documents). */
  maxBytes?: number;
  /** Filled as the runs go, so what a killed attempt did is counted too. */
  tally?: CdcRunsTally;
}

/**
 * Whole CDC runs (`cdcRun`: batch after batch under one lease, until caught up) one after
 * another, as the schedule and the hand-over start them, while `keepGoing` says so and then
 * until one ends caught up. A lease left by a killed run is waited out as in cdcUntilQuiet.
 */
export async function cdcRuns(
  run: CaseRun,
  parts: EngineParts,
  options: CdcRunsOptions = {},
): Promise<CdcRunsTally> {
  const tally = options.tally ?? newCdcRunsTally();
  const observer = {
    batchApplied(_pipeId: string, batch: CdcBatchApplied) {
      tally.events += batch.events;
      for (const [table, rows] of Object.entries(batch.rowsPerTable))
        tally.rowsPerTable[table] = (tally.rowsPerTable[table] ?? 0) + rows;
    },
  };
  for (let afterwards = 0; afterwards < 300; ) {
    const going = options.keepGoing?.() ?? false;
    const outcome = await cdcRun(
      {
        store: parts.store,
        source: parts.changeSource,
        destination: parts.destination,
        clock: systemClock,
        observer,
      },
      {
        pipeId: run.pipe.pipeId,
        holder: `run-${nextHolder++}`,
        budget: { deadline: Date.now() + 30_000, safetyMarginMs: 5_000 },
        maxWaitMs: 150,
        ...(options.maxBytes ? { maxBytes: options.maxBytes } : {}),
      },
    );
    if (!going) afterwards += 1;
    if (outcome.status === 'skipped') {
      tally.skipped += 1;
      run.clock.offsetMs += LEASE_EXPIRY_JUMP_MS;
      run.notes.push('cdc: lease held by a dead run, waited out');
      continue;
    }
    const ending = outcome.endedBecause;
    tally.endings[ending] = (tally.endings[ending] ?? 0) + 1;
    if (ending === 'lease-lost') run.notes.push('cdc: a run lost its lease to a revoke and ended');
    if (ending === 'pipe-state')
      throw new Error('a CDC run ended on the pipe state: the case left the pipe idle');
    if (ending === 'caught-up' && !going) return tally;
    if (ending === 'caught-up') await sleep(50);
  }
  throw new Error('CDC runs did not catch up within 300 runs');
}

/** Seeds the workload, creates the pipe (start point recorded) and wires its parts. */
export async function prepareCase(
  world: World,
  workload: Workload,
  prefix: string,
  settings: Record<string, unknown>,
  seed: number,
): Promise<CaseRun> {
  const collections = workload.collections(prefix);
  const ids = await seedCollections(
    world.mongo,
    collections,
    workload.seedPerCollection,
    workload.makeDocument,
  );
  const clock = new ShiftableClock();
  const store = newStore(world.dynamo, clock);
  const pipeClient = new MongoClient(world.rs.uri, {
    appName: PIPE_APP_NAME,
    monitorCommands: true,
    serverSelectionTimeoutMS: 10_000,
  });
  await pipeClient.connect();
  const readPreference = (settings.readPreference as 'primary' | undefined) ?? 'primary';
  const pipeWorld: World = {
    ...world,
    store,
    mongo: pipeClient,
    snapshotSource: new MongoSnapshotSource(pipeClient, { readPreference }),
  };
  const pipe = await setUpPipe(pipeWorld, collections, {
    snapshotBatchMaxRows: 50,
    pullBatchSize: 120,
    ...settings,
  });
  // Where the state machine has the pipe while it snapshots: a state CDC runs in.
  for (const event of ['provisioned', 'destinationReady'] as const)
    await store.applyEvent(pipe.pipeId, event, { reason: 'fault matrix', actor: 'faults' });
  const triggers: (ReadTrigger & { seen: number; done: boolean })[] = [];
  pipeClient.on('commandSucceeded', (event) => {
    if (!READ_COMMANDS.has(event.commandName)) return;
    for (const trigger of triggers) {
      if (trigger.done) continue;
      trigger.seen += 1;
      if (trigger.seen >= trigger.afterReads) {
        trigger.done = true;
        void Promise.resolve(trigger.action(event)).catch((error: unknown) =>
          run.notes.push(`trigger failed: ${String(error)}`),
        );
      }
    }
  });
  const run: CaseRun = {
    world,
    pipeWorld,
    clock,
    store,
    pipeClient,
    workload,
    collections,
    pipe,
    parts: partsOf(pipeWorld, pipe),
    load: new WriteLoad(world.mongo, collections, ids, {
      seed,
      mix: workload.mix,
      makeDocument: workload.makeDocument,
    }),
    notes: [],
    onRead(trigger) {
      const armed = { ...trigger, seen: 0, done: false };
      triggers.push(armed);
      return { fired: () => armed.done };
    },
  };
  return run;
}

/** Snapshot every table while a write phase runs, then mark the tables Replicating. */
export async function snapshotUnderLoad(
  run: CaseRun,
  firstParts?: EngineParts,
): Promise<Convergence<unknown>> {
  const writing = run.load.burst(run.workload.operationsPerPhase);
  try {
    return await converge(run, 'snapshot', (parts) => snapshotAll(run.pipe, parts, hurried()), firstParts);
  } finally {
    await writing;
  }
}

/** CDC while a write phase runs, then CDC again until nothing is left. */
export async function cdcUnderLoad(
  run: CaseRun,
  firstParts?: EngineParts,
  concurrent = 1,
): Promise<Convergence<CdcRounds>> {
  const writing = run.load.burst(run.workload.operationsPerPhase);
  let during: Convergence<CdcRounds>;
  try {
    during = await converge(run, 'cdc', (parts) => cdcUntilQuiet(run, parts, concurrent), firstParts);
  } finally {
    await writing;
  }
  const after = await converge(run, 'cdc', (parts) => cdcUntilQuiet(run, parts, concurrent));
  return {
    value: {
      events: during.value.events + after.value.events,
      batches: during.value.batches + after.value.batches,
      skipped: during.value.skipped + after.value.skipped,
    },
    crashes: during.crashes + after.crashes,
    retries: during.retries + after.retries,
  };
}

/** Waits for every piece of work (none is left running into the next case), then throws the first failure. */
export async function allOf<T extends readonly unknown[]>(
  work: T,
): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }> {
  const results = await Promise.allSettled(work);
  for (const result of results) if (result.status === 'rejected') throw result.reason;
  return results.map((result) => (result as PromiseFulfilledResult<unknown>).value) as {
    -readonly [K in keyof T]: Awaited<T[K]>;
  };
}

export interface CaseOutcome {
  lost: number;
  duplicated: number;
  /** Live rows in ClickHouse with no document in MongoDB (a delete not applied). */
  extra: number;
  documents: number;
}

/** ClickHouse FINAL (live rows) against MongoDB, every table, by `_id` and canonical document hash. */
export async function compareAll(run: CaseRun): Promise<CaseOutcome> {
  const outcome: CaseOutcome = { lost: 0, duplicated: 0, extra: 0, documents: 0 };
  for (const collection of run.collections) {
    const comparison = await compareTable(run.pipeWorld, collection);
    outcome.lost += comparison.missing.length + comparison.different.length;
    outcome.duplicated += comparison.duplicated.length;
    outcome.extra += comparison.extra.length;
    outcome.documents += comparison.mongoCount;
  }
  return outcome;
}

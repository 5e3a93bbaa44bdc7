import { createClickHouseClient } from '../../functions/adapters/clickhouse/client.js';
import { ClickHouseDestination } from '../../functions/adapters/clickhouse/destination.js';
import { ChangeStreamHistoryLostError } from '../../functions/core/errors.js';
import { type CdcRunOutcome, type CdcRunResult, cdcBatch, cdcRun } from '../../functions/engines/cdc-run.js';
import { finishResync, prepareResyncTables, resetResumePoint } from '../../functions/engines/resync.js';
import { systemClock } from '../../functions/ports/clock.js';
import type { Destination, EncodedInsertBatch } from '../../functions/ports/destination.js';
import type { ChangeBatchRequest, ChangeSource } from '../../functions/ports/source.js';
import type { MemberState } from '../../simulator/index.js';
import { DATABASE, hurried, markReplicating, snapshotAll } from '../e2e/harness.js';
import { aws5xx, awsThrottling } from './aws.js';
import { dyingAfterExchange, dyingAt, dyingMidChunk, dyingWith, InjectedCrash } from './crash.js';
import {
  allOf,
  type CaseRun,
  cdcRuns,
  cdcUnderLoad,
  converge,
  newCdcRunsTally,
  PIPE_APP_NAME,
  ShiftableClock,
  snapshotUnderLoad,
} from './run-case.js';

/**
 * One fault of the matrix: how the case's snapshot and CDC phases meet it, and what must be
 * true afterwards. `run` drives the whole case (snapshot, CDC, any extra phase) and returns the
 * reasons the fault did not behave as it must (empty: it fired and was ridden through).
 */
export interface Fault {
  name: string;
  settings?: Record<string, unknown>;
  run(run: CaseRun): Promise<string[]>;
}

/** The plain path: snapshot under load, Replicating, CDC under load. */
async function plainPhases(run: CaseRun): Promise<void> {
  await snapshotUnderLoad(run);
  await markReplicating(run.store, run.pipe);
  await cdcUnderLoad(run);
}

function expectFired(what: string, fired: boolean): string[] {
  return fired ? [] : [`${what} never fired`];
}

/** A member fault on the pipe's reads, once in the snapshot and once in CDC. */
function onSnapshotAndCdcRead(
  name: string,
  action: (run: CaseRun, address: string) => void,
  settings?: Record<string, unknown>,
): Fault {
  return {
    name,
    ...(settings ? { settings } : {}),
    async run(run) {
      const inSnapshot = run.onRead({ afterReads: 2, action: (event) => action(run, event.address) });
      await snapshotUnderLoad(run);
      await markReplicating(run.store, run.pipe);
      const inCdc = run.onRead({ afterReads: 2, action: (event) => action(run, event.address) });
      await cdcUnderLoad(run);
      return [
        ...expectFired('fault in the snapshot', inSnapshot.fired()),
        ...expectFired('fault in CDC', inCdc.fired()),
      ];
    },
  };
}

const killedMidChunk: Fault = {
  name: 'kill-mid-chunk',
  async run(run) {
    const source = dyingMidChunk(run.parts.snapshotSource, 1);
    const snapshot = await snapshotUnderLoad(run, { ...run.parts, snapshotSource: source });
    await markReplicating(run.store, run.pipe);
    await cdcUnderLoad(run);
    return expectFired('the crash', source.died && snapshot.crashes === 1);
  },
};

const killedBeforeCheckpoint: Fault = {
  name: 'kill-before-checkpoint',
  async run(run) {
    const store = dyingAt(run.store, 'checkpointPartition');
    const snapshot = await snapshotUnderLoad(run, { ...run.parts, store });
    await markReplicating(run.store, run.pipe);
    await cdcUnderLoad(run);
    return expectFired('the crash', store.died && snapshot.crashes === 1);
  },
};

/**
 * The snapshot process dies once a batch's end is recorded as the partition's pending batch,
 * before its streamed body ended: ClickHouse never commits that insert, and the next chunk
 * replays the batch through its recorded end.
 */
const killedAfterPendingBatch: Fault = {
  name: 'kill-after-pending-batch',
  async run(run) {
    const store = dyingAt(run.store, 'recordPendingBatch', { after: true });
    const snapshot = await snapshotUnderLoad(run, { ...run.parts, store });
    await markReplicating(run.store, run.pipe);
    await cdcUnderLoad(run);
    return expectFired('the crash', store.died && snapshot.crashes === 1);
  },
};

const killedBeforeTokenCommit: Fault = {
  name: 'kill-before-token-commit',
  async run(run) {
    await snapshotUnderLoad(run);
    await markReplicating(run.store, run.pipe);
    const store = dyingAt(run.store, 'commitResumePoint');
    const cdc = await cdcUnderLoad(run, { ...run.parts, store });
    return [
      ...expectFired('the crash', store.died && cdc.crashes === 1),
      ...(cdc.value.skipped > 0 ? [] : ['the dead run left no lease to wait out']),
    ];
  },
};

const killedMidSwap: Fault = {
  name: 'kill-mid-swap',
  async run(run) {
    await plainPhases(run);
    const [first] = run.collections;
    if (!first) return ['no collection'];
    const tableKey = `${first.db}.${first.coll}`;
    const resync = { store: run.store, destination: run.parts.destination };
    const resyncInput = { pipeId: run.pipe.pipeId, tableKeys: [tableKey], startCdc: false };
    await prepareResyncTables(resync, resyncInput);
    const tablePipe = { ...run.pipe, tables: [first] };
    const writing = run.load.burst(run.workload.operationsPerPhase);
    await converge(run, 'resync snapshot', (parts) => snapshotAll(tablePipe, parts, hurried()));
    await writing;
    const client = dyingAfterExchange(createClickHouseClient({ url: run.world.clickhouseUrl }));
    const dying = new ClickHouseDestination(client);
    try {
      await converge(
        run,
        'swap',
        (parts) => finishResync({ store: parts.store, destination: parts.destination }, resyncInput),
        { ...run.parts, destination: dying },
      );
    } finally {
      await dying.close().catch(() => undefined);
    }
    await cdcUnderLoad(run);
    const leftover = await run.parts.destination.tableExists({
      database: DATABASE,
      table: `${first.target}_resync`,
    });
    return [
      ...expectFired('the crash', client.died),
      ...(leftover ? ['the _resync table was left behind'] : []),
    ];
  },
};

const stepDown = onSnapshotAndCdcRead('primary-step-down', (run) =>
  run.world.rs.stepDown({ stepDownSecs: 1 }),
);

/** Reads go to secondaries; the one serving a cursor goes into ROLLBACK, then the other into RECOVERING. */
const rollbackRecovering: Fault = {
  name: 'member-rollback-recovering',
  settings: { readPreference: 'secondaryPreferred' },
  async run(run) {
    const { rs } = run.world;
    // A member's state when a read reached it: none may be served in ROLLBACK or RECOVERING.
    const stateAtStart = new Map<number, MemberState | undefined>();
    const wrong: string[] = [];
    run.pipeClient.on('commandStarted', (event) => {
      stateAtStart.set(event.requestId, rs.members.find((m) => m.name === event.address)?.state);
    });
    run.pipeClient.on('commandSucceeded', (event) => {
      const state = stateAtStart.get(event.requestId);
      stateAtStart.delete(event.requestId);
      if (event.commandName === 'killCursors') return;
      if (state === 'ROLLBACK' || state === 'RECOVERING') wrong.push(`${event.commandName} on ${state}`);
    });
    const toState = (state: MemberState) => (address: string) => {
      const target =
        rs.members.find((m) => m.name === address && m.state === 'SECONDARY') ??
        rs.members.find((m) => m.state === 'SECONDARY');
      if (target) rs.setMemberState(target.name, state);
    };
    const rollback = run.onRead({ afterReads: 2, action: (event) => toState('ROLLBACK')(event.address) });
    const recovering = run.onRead({ afterReads: 5, action: (event) => toState('RECOVERING')(event.address) });
    await snapshotUnderLoad(run);
    await markReplicating(run.store, run.pipe);
    await cdcUnderLoad(run);
    return [
      ...expectFired('ROLLBACK', rollback.fired()),
      ...expectFired('RECOVERING', recovering.fired()),
      ...(wrong.length > 0 ? [`reads served by a ROLLBACK/RECOVERING member: ${wrong.join(', ')}`] : []),
    ];
  },
};

const networkReset = onSnapshotAndCdcRead('network-reset', (run, address) =>
  run.world.rs.closeAllConnections(address),
);

/** ShutdownInProgress (91) on the pipe's reads, twice in the snapshot and twice in CDC. */
const shutdownInProgress: Fault = {
  name: 'shutdown-in-progress',
  async run(run) {
    const failPoints = () => run.world.rs.failPoints();
    const arm = (commands: string[]) =>
      failPoints().configure(
        'failCommand',
        { times: 2 },
        {
          failCommands: commands,
          errorCode: 91,
          appName: PIPE_APP_NAME,
        },
      );
    arm(['find', 'getMore']);
    await snapshotUnderLoad(run);
    const inSnapshot = failPoints().timesEntered('failCommand');
    await markReplicating(run.store, run.pipe);
    arm(['aggregate', 'getMore']);
    await cdcUnderLoad(run);
    const inCdc = failPoints().timesEntered('failCommand');
    failPoints().configure('failCommand', 'off');
    return [...expectFired('91 in the snapshot', inSnapshot > 0), ...expectFired('91 in CDC', inCdc > 0)];
  },
};

const twoCdcRuns: Fault = {
  name: 'two-cdc-runs',
  async run(run) {
    await snapshotUnderLoad(run);
    await markReplicating(run.store, run.pipe);
    const cdc = await cdcUnderLoad(run, undefined, 2);
    return cdc.value.skipped > 0 ? [] : ['the two runs never met at the lease'];
  },
};

/**
 * Paused (no CDC) while writes go on and the oplog is truncated past the resume point: the next
 * run must fail with ChangeStreamHistoryLostError, and a whole-pipe resync must converge.
 */
const oplogTruncatedWhilePaused: Fault = {
  name: 'oplog-truncated-while-paused',
  async run(run) {
    await plainPhases(run);
    await run.load.burst(run.workload.operationsPerPhase);
    const latest = run.world.rs.deployment.oplog.latest();
    if (!latest) return ['empty oplog'];
    run.world.rs.truncateOplog(latest.ts);
    const failure = await cdcBatch(
      {
        store: run.store,
        source: run.parts.changeSource,
        destination: run.parts.destination,
        clock: systemClock,
      },
      {
        pipeId: run.pipe.pipeId,
        holder: 'after-pause',
        budget: { deadline: Date.now() + 30_000 },
        maxWaitMs: 150,
      },
    ).then(
      () => null,
      (error: unknown) => error,
    );
    if (!(failure instanceof ChangeStreamHistoryLostError))
      return [`expected ChangeStreamHistoryLostError, got ${String(failure)}`];
    if (!failure.message.startsWith('resync needed'))
      return ['the history-lost message does not say "resync needed"'];

    const resync = { store: run.store, destination: run.parts.destination };
    const resyncInput = {
      pipeId: run.pipe.pipeId,
      tableKeys: run.collections.map((table) => `${table.db}.${table.coll}`),
      startCdc: false,
    };
    await prepareResyncTables(resync, resyncInput);
    const start = await run.store.recordStartPoint(
      run.pipe.pipeId,
      await run.pipe.changeSource.captureStartPoint(),
    );
    await resetResumePoint(run.store, run.pipe.pipeId, start);
    await snapshotUnderLoad(run);
    await finishResync(resync, resyncInput);
    await cdcUnderLoad(run);
    return [];
  },
};

/** Batches that a phase of writes needs several of: 25 events, 4 MiB (about 3 large documents). */
const SMALL_BATCHES = { pullBatchSize: 25 };
const SMALL_BATCH_BYTES = 4 * 1024 * 1024;

/** A phase of writes no CDC reads yet: a backlog of several batches. */
async function backlog(run: CaseRun): Promise<void> {
  await snapshotUnderLoad(run);
  await markReplicating(run.store, run.pipe);
  await run.load.burst(run.workload.operationsPerPhase);
}

/** One multi-batch CDC run dies after its first batch committed, before the second's commit. */
const killedBetweenBatches: Fault = {
  name: 'kill-between-batches',
  settings: SMALL_BATCHES,
  async run(run) {
    await backlog(run);
    let commits = 0;
    const store = dyingAt(run.store, 'commitResumePoint', { when: () => ++commits === 2 });
    // Where each batch's read starts: the next run must start where the dead run's second batch did.
    const from: string[] = [];
    const { changeSource } = run.parts;
    const source: ChangeSource = Object.assign(Object.create(changeSource), {
      readBatch: (request: ChangeBatchRequest) => {
        from.push(JSON.stringify(request.resumePoint));
        return changeSource.readBatch(request);
      },
    });
    const cdc = await converge(
      run,
      'cdc',
      (parts) => cdcRuns(run, { ...parts, changeSource: source }, { maxBytes: SMALL_BATCH_BYTES }),
      { ...run.parts, store },
    );
    await cdcUnderLoad(run);
    const [first, second, next] = from;
    return [
      ...expectFired('the crash', store.died && cdc.crashes === 1),
      ...(first !== second && next === second ? [] : ['the next run did not resume from the first commit']),
    ];
  },
};

/**
 * Snapshot and CDC at once under the write load (tables in Snapshot: CDC rows go to the live
 * table beside version-0 snapshot rows); CDC dies after an insert, before its commit, and the
 * snapshot dies mid-chunk, each while the other goes on.
 */
const killedDuringSnapshotWithCdc: Fault = {
  name: 'kill-during-snapshot-with-cdc',
  async run(run) {
    // CDC dies only while the snapshot goes on: its fatal insert is one made during the snapshot.
    let snapshotting = true;
    const snapshotSource = dyingMidChunk(run.parts.snapshotSource, 1);
    const destination = dyingAt(run.parts.destination, 'insertEncoded', {
      after: true,
      when: () => snapshotting,
    });
    const cdcParts = { ...run.parts, destination, store: dyingWith(run.store, destination) };
    const tally = newCdcRunsTally();
    let cdcEventsDuringSnapshot = 0;
    const writing = run.load.burst(run.workload.operationsPerPhase);
    const snapshot = converge(run, 'snapshot', (parts) => snapshotAll(run.pipe, parts, hurried()), {
      ...run.parts,
      snapshotSource,
    }).finally(() => {
      snapshotting = false;
      cdcEventsDuringSnapshot = tally.events;
    });
    const cdc = converge(
      run,
      'cdc',
      (parts) => cdcRuns(run, parts, { keepGoing: () => snapshotting, tally }),
      cdcParts,
    );
    const [, snapshotDone, cdcDone] = await allOf([writing, snapshot, cdc] as const);
    run.notes.push(
      `cdc: ${cdcEventsDuringSnapshot} events applied by the runs after the crash while the snapshot ran`,
    );
    await markReplicating(run.store, run.pipe);
    await cdcUnderLoad(run);
    return [
      ...expectFired('the snapshot crash', snapshotSource.died && snapshotDone.crashes === 1),
      ...expectFired('the CDC crash', destination.died && cdcDone.crashes === 1),
    ];
  },
};

/** A CDC run whose clock moves 10 s per read: its 25 s budget (5 s margin) ends after two batches. */
function twoBatchRun(run: CaseRun, holder: string): Promise<CdcRunOutcome> {
  const clock = new ShiftableClock();
  const { store, changeSource, destination } = run.parts;
  const source = {
    readBatch: (request: ChangeBatchRequest) =>
      changeSource.readBatch(request).finally(() => {
        clock.offsetMs += 10_000;
      }),
  };
  return cdcRun(
    { store, source, destination, clock },
    {
      pipeId: run.pipe.pipeId,
      holder,
      budget: { deadline: clock.now() + 25_000, safetyMarginMs: 5_000 },
      maxWaitMs: 150,
      maxBytes: SMALL_BATCH_BYTES,
    },
  );
}

/**
 * A run ends on its budget with a backlog left (handOver); the hand-over run and a scheduled
 * run then start at the same moment, again and again until caught up: one takes the lease each
 * time, the other is skipped.
 */
const handOverRacesSchedule: Fault = {
  name: 'hand-over-races-schedule',
  settings: SMALL_BATCHES,
  async run(run) {
    await backlog(run);
    const writing = run.load.burst(run.workload.operationsPerPhase);
    const first = await twoBatchRun(run, 'first');
    const problems: string[] = [];
    let last = first;
    let races = 0;
    try {
      while (last.status === 'ran' && last.handOver && races < 300) {
        races += 1;
        const pair = await Promise.all([
          twoBatchRun(run, `hand-over-${races}`),
          twoBatchRun(run, `schedule-${races}`),
        ]);
        const ran = pair.filter((outcome): outcome is CdcRunResult => outcome.status === 'ran');
        const skipped = pair.filter(
          (outcome) => outcome.status === 'skipped' && /holds the lease/.test(outcome.reason),
        );
        if (ran.length !== 1 || skipped.length !== 1)
          problems.push(`race ${races}: ${pair.map((outcome) => outcome.status).join(' and ')}`);
        run.notes.push('cdc: a hand-over met a scheduled run');
        const winner = ran.find((outcome) => outcome.handOver) ?? ran[0];
        if (!winner) break;
        last = winner;
      }
    } finally {
      await writing;
    }
    await cdcUnderLoad(run);
    return [
      ...expectFired('the hand-over', first.status === 'ran' && first.handOver),
      ...(races > 0 ? [] : ['no hand-over met a scheduled run']),
      ...problems,
    ];
  },
};

/**
 * A table resync under the write load with CDC running all along (through prepare, whose revoke
 * ends the run in flight, and the load, so `_resync` gets dual writes); the swap dies right after
 * EXCHANGE TABLES (table still in Resync), CDC goes on, the swap is re-run, CDC goes on.
 */
const resyncDualWritesKilledMidSwap: Fault = {
  name: 'resync-dual-writes-killed-mid-swap',
  async run(run) {
    await plainPhases(run);
    const [first] = run.collections;
    if (!first) return ['no collection'];
    const resyncTable = `${DATABASE}.${first.target}_resync`;
    const resync = { store: run.store, destination: run.parts.destination };
    const input = { pipeId: run.pipe.pipeId, tableKeys: [`${first.db}.${first.coll}`], startCdc: false };
    // Writes go on from before the table enters Resync until its load is done; CDC runs all along.
    let loading = true;
    const tally = newCdcRunsTally();
    const cdc = converge(run, 'cdc', (parts) => cdcRuns(run, parts, { keepGoing: () => loading, tally }));
    run.load.start();
    const load = async () => {
      try {
        await prepareResyncTables(resync, input);
        await converge(run, 'resync snapshot', (parts) =>
          snapshotAll({ ...run.pipe, tables: [first] }, parts, hurried()),
        );
      } finally {
        loading = false;
        await run.load.stop();
      }
    };
    await allOf([cdc, load()] as const);
    // Every write was made while `_resync` loaded (or before); CDC has caught up with them all.
    const dualWrites = tally.rowsPerTable[resyncTable] ?? 0;
    const client = dyingAfterExchange(createClickHouseClient({ url: run.world.clickhouseUrl }));
    const dying = new ClickHouseDestination(client);
    const killed = await finishResync(
      { store: dyingWith(run.store, client), destination: dying },
      input,
    ).then(
      () => null,
      (error: unknown) => error,
    );
    await dying.close().catch(() => undefined);
    if (killed instanceof InjectedCrash) run.notes.push(`swap: ${killed.message}`);
    else if (killed) throw killed;
    run.notes.push(`cdc: ${dualWrites} rows dual-written to _resync`);
    await cdcUnderLoad(run);
    await converge(run, 'swap', (parts) =>
      finishResync({ store: parts.store, destination: parts.destination }, input),
    );
    await cdcUnderLoad(run);
    const leftover = await run.parts.destination.tableExists({
      database: DATABASE,
      table: `${first.target}_resync`,
    });
    return [
      ...expectFired('the crash', killed instanceof InjectedCrash && client.died),
      ...(dualWrites > 0 ? [] : ['CDC wrote nothing to the _resync table while it loaded']),
      ...(leftover ? ['the _resync table was left behind'] : []),
    ];
  },
};

/**
 * A CDC run in flight across the swap: it has inserted a batch into the live table when the
 * swap's EXCHANGE TABLES lands (its process dies right after, before the revoke); the run then
 * inserts the same rows into `<table>_resync` — the old rows now — and commits. The swap is
 * re-run, CDC goes on.
 */
const exchangeBetweenDualInserts: Fault = {
  name: 'exchange-between-dual-inserts',
  async run(run) {
    await plainPhases(run);
    const [first] = run.collections;
    if (!first) return ['no collection'];
    const input = { pipeId: run.pipe.pipeId, tableKeys: [`${first.db}.${first.coll}`], startCdc: false };
    await prepareResyncTables({ store: run.store, destination: run.parts.destination }, input);
    const writing = run.load.burst(run.workload.operationsPerPhase);
    await converge(run, 'resync snapshot', (parts) =>
      snapshotAll({ ...run.pipe, tables: [first] }, parts, hurried()),
    );
    await writing;
    await cdcRuns(run, run.parts);
    // A batch of changes only CDC brings to the table loaded in `_resync`.
    await run.load.burst(run.workload.operationsPerPhase);
    const client = dyingAfterExchange(createClickHouseClient({ url: run.world.clickhouseUrl }));
    const dying = new ClickHouseDestination(client);
    let swap: Promise<unknown> | null = null;
    const { destination } = run.parts;
    const straddled: Destination = Object.assign(Object.create(destination), {
      async insertEncoded(batch: EncodedInsertBatch) {
        if (batch.table === `${first.target}_resync` && swap === null) {
          swap = finishResync({ store: dyingWith(run.store, client), destination: dying }, input).catch(
            (error: unknown) => error,
          );
          const killed = await swap;
          if (killed instanceof InjectedCrash) run.notes.push(`swap: ${killed.message}`);
        }
        return destination.insertEncoded(batch);
      },
    });
    try {
      await cdcRuns(run, { ...run.parts, destination: straddled });
    } finally {
      await dying.close().catch(() => undefined);
    }
    await converge(run, 'swap', (parts) =>
      finishResync({ store: parts.store, destination: parts.destination }, input),
    );
    await cdcUnderLoad(run);
    return expectFired('the swap between the two inserts', swap !== null && client.died);
  },
};

export const FAULTS: readonly Fault[] = [
  killedMidChunk,
  killedBeforeCheckpoint,
  killedAfterPendingBatch,
  killedBeforeTokenCommit,
  killedBetweenBatches,
  killedMidSwap,
  stepDown,
  rollbackRecovering,
  networkReset,
  shutdownInProgress,
  twoCdcRuns,
  oplogTruncatedWhilePaused,
  killedDuringSnapshotWithCdc,
  handOverRacesSchedule,
  resyncDualWritesKilledMidSwap,
  exchangeBetweenDualInserts,
  awsThrottling,
  aws5xx,
];

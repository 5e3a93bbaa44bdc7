import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Runtime } from '../../functions/handlers/runtime.js';
import type { Destination } from '../../functions/ports/destination.js';
import type { OperationInput } from '../../functions/ports/lifecycle.js';
import { CDC_LEASE } from '../../functions/ports/pipe-store.js';
import { ExecutionJournal } from '../../local/stepfunctions/journal.js';
import { type ExecutionResult, LocalStateMachines } from '../../local/stepfunctions/runner.js';
import {
  compareWithSource,
  liveRows,
  type MachineWorld,
  newPipe,
  run,
  seed,
  startMachineWorld,
} from './support.js';

/** Inserts past the first `free` ones wait until released: a snapshot caught mid-way. */
class InsertHold {
  calls = 0;
  private release!: () => void;
  private readonly released = new Promise<void>((resolve) => {
    this.release = resolve;
  });
  private heldNow!: () => void;
  readonly held = new Promise<void>((resolve) => {
    this.heldNow = resolve;
  });

  constructor(private readonly free: number) {}

  wrap(runtime: Runtime): Runtime {
    return {
      ...runtime,
      connect: async (pipe, settings) => {
        const connections = await runtime.connect(pipe, settings);
        const destination = connections.destination;
        const hold = async () => {
          this.calls += 1;
          if (this.calls > this.free) {
            this.heldNow();
            await this.released;
          }
        };
        // CDC inserts encoded bodies and the snapshot streams them: each is held.
        const insertEncoded: Destination['insertEncoded'] = async (batch) => {
          await hold();
          return destination.insertEncoded(batch);
        };
        const insertStreamed: Destination['insertStreamed'] = async (batch) => {
          await hold();
          return destination.insertStreamed(batch);
        };
        const held: Record<string, unknown> = { insertEncoded, insertStreamed };
        return {
          ...connections,
          destination: new Proxy(destination, {
            get: (target, property, receiver) =>
              typeof property === 'string' && property in held
                ? held[property]
                : Reflect.get(target, property, receiver),
          }),
        };
      },
    };
  }

  letGo(): void {
    this.release();
  }
}

let requests = 0;
const input = (pipeId: string, expectedState: string | null): OperationInput => {
  requests += 1;
  return { pipeId, expectedState, requestedBy: 'test', requestId: `restart-${requests}-${process.pid}` };
};

async function until(what: string, condition: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * The local runner's journal: an execution stopped in one runner continues in a new runner on
 * the same journal directory and stores, from the state it was in, to the end state.
 */
describe('executions outlive a restart of the local runner', () => {
  let world: MachineWorld;
  let journalDir: string;

  beforeAll(async () => {
    world = await startMachineWorld();
    await seed(world, 'shop', 'orders', 3_000);
    await seed(world, 'shop', 'customers', 300);
    journalDir = mkdtempSync(join(tmpdir(), 'executions-'));
  }, 120_000);

  afterAll(async () => {
    await world?.stop();
    if (journalDir) rmSync(journalDir, { recursive: true, force: true });
  });

  const history = async (pipeId: string) =>
    (await world.store.listHistory(pipeId)).items.map((item) => item.to).reverse();

  it('create stopped mid-snapshot resumes at RunSnapshot and reaches Running with the data equal', async () => {
    const pipeId = await newPipe(
      world,
      [
        { db: 'shop', coll: 'orders' },
        { db: 'shop', coll: 'customers' },
      ],
      { snapshotNumRowsPerPartition: 1_000, snapshotBatchMaxRows: 200, initialLoadParallelism: 2 },
    );
    const hold = new InsertHold(4);
    const finished: ExecutionResult[] = [];
    const first = new LocalStateMachines({
      runtime: hold.wrap(world.runtime),
      journalDir,
      retryIntervalMs: 0,
      waitMs: 5,
      onFinished: (result) => finished.push(result),
    });
    const journal = new ExecutionJournal(journalDir);

    const { executionId } = await first.start('create', input(pipeId, null));
    // On disk before start() returns: a restart from here on continues it.
    expect(await journal.read(executionId)).toMatchObject({ operation: 'create', pipeId });

    await hold.held;
    // A chunk's insert is in progress, so the journal names the parent's state around it.
    expect(await journal.read(executionId)).toMatchObject({ state: 'RunSnapshot' });
    const stopped = first.stop();
    hold.letGo();
    await stopped;
    const callsAtStop = hold.calls;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(hold.calls).toBe(callsAtStop);
    expect(finished).toEqual([]);

    const left = await journal.read(executionId);
    expect(left).toMatchObject({ executionId, operation: 'create', pipeId, state: 'RunSnapshot' });
    expect(left?.input).toMatchObject({ pipeId, setup: expect.anything() });
    expect((await world.store.getPipe(pipeId)).state).toBe('Snapshot');
    const copied = await liveRows(world, 'shop', 'orders');
    expect(copied).toBeGreaterThan(0);
    expect(copied).toBeLessThan(3_000);

    const second = new LocalStateMachines({
      runtime: world.runtime,
      journalDir,
      retryIntervalMs: 0,
      waitMs: 5,
      onFinished: (result) => finished.push(result),
    });
    const { entries } = await second.journaled();
    expect(entries.map((entry) => [entry.executionId, entry.state])).toEqual([[executionId, 'RunSnapshot']]);
    const resumed = second.resume(entries[0] as (typeof entries)[number]);
    expect(await resumed.result).toMatchObject({ executionId, status: 'SUCCEEDED' });
    expect(finished).toEqual([expect.objectContaining({ executionId, status: 'SUCCEEDED' })]);

    expect((await world.store.getPipe(pipeId)).state).toBe('Running');
    expect(await history(pipeId)).toEqual(['Provisioning', 'Setup', 'Snapshot', 'Running']);
    expect(world.scheduler.get(pipeId)).toMatchObject({ enabled: true });
    for (const coll of ['orders', 'customers']) {
      const compared = await compareWithSource(world, 'shop', coll);
      expect(compared).toEqual({
        count: coll === 'orders' ? 3_000 : 300,
        missing: [],
        extra: [],
        different: [],
      });
    }
    expect((await second.journaled()).entries).toEqual([]);
  }, 120_000);

  it('pause stopped in its drain poll resumes there and reaches Paused once the batch lets go', async () => {
    const pipeId = await newPipe(world, [{ db: 'shop', coll: 'customers', table: 'drain_customers' }], {
      replicationMode: 'cdc_only',
    });
    expect(await run(world, 'create', pipeId)).toMatchObject({ status: 'SUCCEEDED' });
    const lease = await world.store.acquireLease(pipeId, CDC_LEASE, 'batch-in-flight', 600_000);
    const journal = new ExecutionJournal(journalDir);
    // 180 polls of 50 ms: about 9 s before a drain timeout, far more than the test needs.
    const first = new LocalStateMachines({
      runtime: world.runtime,
      journalDir,
      retryIntervalMs: 0,
      waitMs: 50,
    });
    const { executionId } = await first.start('pause', input(pipeId, 'Running'));
    await until('the drain poll', async () => {
      const entry = await journal.read(executionId);
      return (
        entry?.state === 'WaitForDrain' &&
        ((entry.input as { drain?: { polls?: number } }).drain?.polls ?? 0) >= 2
      );
    });
    // Does not wait for the execution (it would poll until the lease goes): only for a Task in progress.
    await first.stop();
    const left = await journal.read(executionId);
    expect(['CheckDrained', 'IsDrained', 'WaitForDrain']).toContain(left?.state);
    expect((await world.store.getPipe(pipeId)).state).toBe('Pausing');

    await world.store.releaseLease(pipeId, CDC_LEASE, 'batch-in-flight', lease.fence);
    const second = new LocalStateMachines({
      runtime: world.runtime,
      journalDir,
      retryIntervalMs: 0,
      waitMs: 50,
    });
    const { entries } = await second.journaled();
    expect(entries.map((entry) => entry.executionId)).toEqual([executionId]);
    const resumed = second.resume(entries[0] as (typeof entries)[number]);
    expect(await resumed.result).toMatchObject({ executionId, status: 'SUCCEEDED' });
    expect((await world.store.getPipe(pipeId)).state).toBe('Paused');
    expect(await history(pipeId)).toEqual(['Provisioning', 'Setup', 'Running', 'Pausing', 'Paused']);
    expect(world.scheduler.get(pipeId)).toMatchObject({ enabled: false });
    expect((await second.journaled()).entries).toEqual([]);
  }, 60_000);

  it('an execution stopped before its first Task resumes at its StartAt, and the same request starts no second one', async () => {
    const pipeId = await newPipe(world, [{ db: 'shop', coll: 'customers', table: 'startat_customers' }], {
      replicationMode: 'cdc_only',
    });
    const first = new LocalStateMachines({
      runtime: world.runtime,
      journalDir,
      retryIntervalMs: 0,
      waitMs: 5,
    });
    const stopped = first.stop();
    await expect(first.start('create', input(pipeId, null))).rejects.toThrow(/stopping/);
    await stopped;
    // A journal entry left right after the API accepted the command (as a crash would leave it).
    const request = input(pipeId, null);
    const journal = new ExecutionJournal(journalDir);
    const executionId = `local:create:${pipeId}:crashed`;
    await journal.write({
      executionId,
      operation: 'create',
      pipeId,
      state: 'Provision',
      input: request,
      startedAt: new Date().toISOString(),
    });
    const second = new LocalStateMachines({
      runtime: world.runtime,
      journalDir,
      retryIntervalMs: 0,
      waitMs: 5,
    });
    const [entry] = (await second.journaled()).entries;
    expect(entry).toMatchObject({ executionId, state: 'Provision' });
    const resumed = second.resume(entry as NonNullable<typeof entry>);
    await expect(second.start('create', request)).resolves.toEqual({ executionId });
    expect(await resumed.result).toMatchObject({ status: 'SUCCEEDED' });
    expect((await world.store.getPipe(pipeId)).state).toBe('Running');
    expect(await journal.read(executionId)).toBeNull();
  }, 60_000);

  it('the journal names a Task state before that Task touches anything', async () => {
    const pipeId = await newPipe(world, [{ db: 'shop', coll: 'customers', table: 'journal_customers' }], {
      replicationMode: 'cdc_only',
    });
    expect(await run(world, 'create', pipeId)).toMatchObject({ status: 'SUCCEEDED' });
    const dir = mkdtempSync(join(tmpdir(), 'executions-gate-'));
    const seen: [string, string][] = [];
    const journalState = () => {
      const [file] = readdirSync(dir).filter((name) => name.endsWith('.json'));
      return file ? (JSON.parse(readFileSync(join(dir, file), 'utf8')) as { state: string }).state : '(none)';
    };
    const watched = <T extends object>(target: T, kind: string): T =>
      new Proxy(target, {
        get: (object, property, receiver) => {
          const value = Reflect.get(object, property, receiver) as unknown;
          if (typeof value !== 'function') return value;
          return (...args: unknown[]) => {
            seen.push([`${kind}.${String(property)}`, journalState()]);
            return (value as (...inner: unknown[]) => unknown).apply(object, args);
          };
        },
      });
    const runtime: Runtime = {
      ...world.runtime,
      store: watched(world.runtime.store, 'store'),
      scheduler: watched(world.runtime.scheduler, 'scheduler'),
    };
    try {
      const machines = new LocalStateMachines({ runtime, journalDir: dir, retryIntervalMs: 0, waitMs: 5 });
      expect(await machines.run('pause', input(pipeId, 'Running'))).toMatchObject({ status: 'SUCCEEDED' });
      const states = seen.map(([, state]) => state).filter((state, index, all) => state !== all[index - 1]);
      expect(states).toEqual(['Pause', 'DisableSchedule', 'CheckDrained', 'BatchDrained']);
      expect(seen).toContainEqual(['scheduler.disable', 'DisableSchedule']);
      expect(seen).toContainEqual(['store.getLease', 'CheckDrained']);
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

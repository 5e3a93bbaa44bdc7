import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DynamoPipeStore } from '../../functions/adapters/dynamodb/store.js';
import { encodePartitionBounds } from '../../functions/core/partition-plan.js';
import { snapshotChunk } from '../../functions/engines/snapshot-chunk.js';
import type {
  SnapshotBatch,
  SnapshotReadOptions,
  SnapshotSource,
  SourceNamespace,
} from '../../functions/ports/source.js';
import { type LocalDynamo, startDynalite } from '../support/dynalite.js';
import {
  createPipeWithTables,
  instrumentStore,
  ManualClock,
  MemoryDestination,
  newStore,
} from './support.js';

/** Documents with integer `_id`s 1..count, read in batches after a numeric checkpoint. */
class ArraySnapshotSource implements Pick<SnapshotSource, 'readPartition'> {
  readonly reads: SnapshotReadOptions[] = [];
  failAfterBatches: number | null = null;
  constructor(
    private readonly count: number,
    private readonly log: string[] = [],
  ) {}

  async *readPartition(
    _namespace: SourceNamespace,
    options: SnapshotReadOptions,
  ): AsyncIterable<SnapshotBatch> {
    this.reads.push(options);
    let next = options.checkpoint === null ? 1 : Number(options.checkpoint) + 1;
    let served = 0;
    while (next <= this.count) {
      if (this.failAfterBatches !== null && served >= this.failAfterBatches) {
        this.failAfterBatches = null;
        throw new Error('injected source failure mid-chunk');
      }
      const end = Math.min(this.count, next + options.maxRows - 1);
      const documents = [];
      for (let id = next; id <= end; id += 1) documents.push({ _id: id, value: `v${id}` });
      this.log.push(`read:${documents.length}`);
      served += 1;
      yield { documents, bytes: documents.length * 30, checkpoint: String(end) };
      next = end + 1;
    }
  }
}

const TABLE = { db: 'shop', coll: 'items', target: 'items' };
const WHOLE = encodePartitionBounds({ lower: null, upper: null });

describe('snapshotChunk', () => {
  let dynamo: LocalDynamo;
  let store: DynamoPipeStore;

  beforeAll(async () => {
    dynamo = await startDynalite();
    store = newStore(dynamo);
  });
  afterAll(async () => {
    await dynamo?.stop();
  });

  async function plannedPipe(state: 'Snapshot' | 'Resync' = 'Snapshot'): Promise<string> {
    const pipeId = await createPipeWithTables(store, [{ ...TABLE, state }], { snapshotBatchMaxRows: 100 });
    await store.savePartitionPlan(pipeId, 'shop.items', [{ index: 0, bounds: WHOLE }]);
    return pipeId;
  }

  it('copies a partition over several calls, each stopping before its budget ends, inserting before checkpointing', async () => {
    const pipeId = await plannedPipe();
    const log: string[] = [];
    const destination = new MemoryDestination(log);
    const source = new ArraySnapshotSource(1_050, log);
    const clock = new ManualClock(1_000_000, 1_000);
    const deps = { store: instrumentStore(store, log), source, destination, clock };
    const results = [];
    for (let call = 0; call < 20; call += 1) {
      const deadline = clock.current + 5_000;
      const result = await snapshotChunk(deps, {
        pipeId,
        table: 'shop.items',
        partitionIndex: 0,
        budget: { deadline, safetyMarginMs: 2_000 },
      });
      expect(clock.current).toBeLessThanOrEqual(deadline);
      results.push(result);
      if (result.done) break;
    }
    expect(results.length).toBeGreaterThan(2);
    expect(results.at(-1)?.done).toBe(true);
    expect(results.reduce((sum, r) => sum + r.rowsCopied, 0)).toBe(1_050);
    expect(destination.final('items').size).toBe(1_050);
    expect(destination.inserts.reduce((sum, i) => sum + i.rows.length, 0)).toBe(1_050);
    // Every resumed call starts where the last checkpoint left off, never from zero.
    expect(source.reads.slice(1).every((read) => read.checkpoint !== null)).toBe(true);
    const calls = log.filter((entry) => entry.startsWith('insert') || entry === 'checkpointPartition');
    for (let index = 0; index < calls.length; index += 2) {
      expect(calls[index]).toMatch(/^insert:items:/);
      expect(calls[index + 1]).toBe('checkpointPartition');
    }
    const [partition] = await store.listPartitions(pipeId, 'shop.items');
    expect(partition?.done).toBe(true);
    expect(partition?.rowsCopied).toBe(1_050);
    const mapping = await store.getTableMapping(pipeId, 'shop.items');
    expect(mapping?.progress.documentsCopied).toBe(1_050);
    expect(mapping?.progress.partitionsDone).toBe(1);
  });

  it('replays the batch whose checkpoint was lost with the same token, so nothing is duplicated', async () => {
    const pipeId = await plannedPipe();
    const destination = new MemoryDestination();
    const crashing = instrumentStore(store, []);
    const deps = {
      store: crashing,
      source: new ArraySnapshotSource(250),
      destination,
      clock: new ManualClock(),
    };
    const input = {
      pipeId,
      table: 'shop.items',
      partitionIndex: 0,
      budget: { deadline: Date.UTC(2030, 0, 1) },
    };
    crashing.failNext('checkpointPartition');
    await expect(snapshotChunk(deps, input)).rejects.toThrow(/injected crash before checkpointPartition/);
    const result = await snapshotChunk(deps, input);
    expect(result.done).toBe(true);
    expect(destination.attemptedTokens[0]).toBe(destination.attemptedTokens[1]);
    expect(destination.inserts.reduce((sum, i) => sum + i.rows.length, 0)).toBe(250);
    expect(destination.final('items').size).toBe(250);
  });

  it('resumes from the checkpoint after the source fails mid-chunk', async () => {
    const pipeId = await plannedPipe();
    const destination = new MemoryDestination();
    const source = new ArraySnapshotSource(500);
    source.failAfterBatches = 2;
    const deps = { store, source, destination, clock: new ManualClock() };
    const input = {
      pipeId,
      table: 'shop.items',
      partitionIndex: 0,
      budget: { deadline: Date.UTC(2030, 0, 1) },
    };
    await expect(snapshotChunk(deps, input)).rejects.toThrow(/mid-chunk/);
    const result = await snapshotChunk(deps, input);
    expect(source.reads[1]?.checkpoint).toBe('200');
    expect(result).toMatchObject({ done: true, rowsCopied: 300, partitionRowsCopied: 500 });
    expect(destination.final('items').size).toBe(500);
  });

  it('loads into <table>_resync while the table is in Resync', async () => {
    const pipeId = await plannedPipe('Resync');
    const destination = new MemoryDestination();
    const deps = { store, source: new ArraySnapshotSource(10), destination, clock: new ManualClock() };
    const result = await snapshotChunk(deps, {
      pipeId,
      table: 'shop.items',
      partitionIndex: 0,
      budget: { deadline: Date.UTC(2030, 0, 1) },
    });
    expect(result.targetTable).toBe('items_resync');
    expect(destination.final('items_resync').size).toBe(10);
    expect(destination.final('items').size).toBe(0);
  });

  it('does nothing once the budget is already spent, and refuses an unplanned partition', async () => {
    const pipeId = await plannedPipe();
    const source = new ArraySnapshotSource(10);
    const deps = { store, source, destination: new MemoryDestination(), clock: new ManualClock(1_000_000) };
    const spent = await snapshotChunk(deps, {
      pipeId,
      table: 'shop.items',
      partitionIndex: 0,
      budget: { deadline: 1_002_000, safetyMarginMs: 5_000 },
    });
    expect(spent).toMatchObject({ done: false, rowsCopied: 0 });
    expect(source.reads).toHaveLength(0);
    await expect(
      snapshotChunk(deps, {
        pipeId,
        table: 'shop.items',
        partitionIndex: 7,
        budget: { deadline: Date.UTC(2030, 0, 1) },
      }),
    ).rejects.toThrow(/no planned partition 7/);
  });
});

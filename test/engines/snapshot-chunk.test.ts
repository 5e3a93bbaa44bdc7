import { BSON } from 'bson';
import { describe, expect, it } from 'vitest';
import type { DynamoPipeStore } from '../../functions/adapters/dynamodb/store.js';
import { DESERIALIZE_OPTIONS } from '../../functions/adapters/mongodb/snapshot-source.js';
import { classifySourceError } from '../../functions/core/classify.js';
import {
  DestinationUnavailableError,
  SourceFatalError,
  UnsupportedValueError,
} from '../../functions/core/errors.js';
import { encodePartitionBounds } from '../../functions/core/partition-plan.js';
import { CheckpointRegressionError } from '../../functions/core/store-errors.js';
import { snapshotChunk } from '../../functions/engines/snapshot-chunk.js';
import type { StreamedInsertBatch } from '../../functions/ports/destination.js';
import type {
  SnapshotBatch,
  SnapshotReadOptions,
  SnapshotSource,
  SourceNamespace,
} from '../../functions/ports/source.js';
import { useDynalite } from '../support/dynalite.js';
import {
  createPipeWithTables,
  instrumentStore,
  ManualClock,
  MemoryDestination,
  newStore,
} from './support.js';

/** Documents with integer `_id`s 1..count, as raw BSON, read in batches after a numeric checkpoint. */
class ArraySnapshotSource implements Pick<SnapshotSource, 'readPartition'> {
  readonly reads: SnapshotReadOptions[] = [];
  failAfterBatches: number | null = null;
  /** Reads whose cursor was closed (the generator's `finally` ran). */
  closed = 0;
  /** Batches handed out, and raw documents served in place of some `_id`s. */
  yielded = 0;
  readonly replaced = new Map<number, Uint8Array>();
  /** `_id`s deleted from the collection (not served). */
  readonly deleted = new Set<number>();
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
    const last = options.end == null ? this.count : Math.min(this.count, Number(options.end));
    let served = 0;
    try {
      while (next <= last) {
        this.log.push(`ask:${served + 1}`);
        if (this.failAfterBatches !== null && served >= this.failAfterBatches) {
          this.failAfterBatches = null;
          throw new Error('injected source failure mid-chunk');
        }
        const documents = [];
        let lastId = next - 1;
        let id = next;
        for (; id <= last && documents.length < options.maxRows; id += 1) {
          if (this.deleted.has(id)) continue;
          documents.push(this.replaced.get(id) ?? BSON.serialize({ _id: id, value: `v${id}` }));
          lastId = id;
        }
        this.log.push(`read:${documents.length}`);
        served += 1;
        this.yielded += 1;
        yield { documents, bytes: documents.length * 30, checkpoint: String(lastId) };
        next = id;
      }
    } finally {
      this.closed += 1;
    }
  }
}

async function* fromChunks(chunks: readonly Uint8Array[]): AsyncGenerator<Uint8Array> {
  yield* chunks;
}

const TABLE = { db: 'shop', coll: 'items', target: 'items' };
const WHOLE = encodePartitionBounds({ lower: null, upper: null });

/** A chunk call on shop.items with a budget no test reaches. */
const chunkInput = (pipeId: string, partitionIndex = 0) => ({
  pipeId,
  table: 'shop.items',
  partitionIndex,
  budget: { deadline: Date.UTC(2030, 0, 1) },
});

describe('snapshotChunk', () => {
  let store: DynamoPipeStore;

  useDynalite((started) => {
    store = newStore(started);
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
    const input = chunkInput(pipeId);
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
    const input = chunkInput(pipeId);
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
    const result = await snapshotChunk(deps, chunkInput(pipeId));
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
    await expect(snapshotChunk(deps, chunkInput(pipeId, 7))).rejects.toThrow(/no planned partition 7/);
  });

  describe('streamed batches, one insert finishing while the next is sent', () => {
    /** Reads each body to its end, then holds the insert's answer until the test lets it go. */
    class HoldingDestination extends MemoryDestination {
      private letGo: (() => void) | null = null;
      finished = 0;
      override async insertStreamed(batch: StreamedInsertBatch) {
        const chunks: Uint8Array[] = [];
        for await (const chunk of batch.body) chunks.push(chunk);
        await new Promise<void>((resolve) => {
          this.letGo = resolve;
        });
        try {
          return await super.insertStreamed({ ...batch, body: fromChunks(chunks) });
        } finally {
          this.finished += 1;
        }
      }
      /** Waits until an insert is held (the next batch has had every chance to run), then lets it go. */
      async release(whileHeld: () => void, ended: () => boolean): Promise<boolean> {
        while (this.letGo === null) {
          if (ended()) return false;
          await new Promise((resolve) => setTimeout(resolve, 1));
        }
        // Give the next batch more turns: nothing else may be asked for while the insert waits.
        for (let turn = 0; turn < 20; turn += 1) await new Promise((resolve) => setImmediate(resolve));
        whileHeld();
        const letGo = this.letGo;
        this.letGo = null;
        letGo();
        return true;
      }
    }

    it('sends the next batch while one finishes, never more than two in flight, each ending only after the one before is checkpointed', async () => {
      const pipeId = await plannedPipe();
      const log: string[] = [];
      const source = new ArraySnapshotSource(450, log);
      const destination = new HoldingDestination(log);
      const deps = { store: instrumentStore(store, log), source, destination, clock: new ManualClock() };
      const chunk = snapshotChunk(deps, chunkInput(pipeId));
      let ended = false;
      void chunk.finally(() => {
        ended = true;
      });
      const alive: number[] = [];
      const asked: number[] = [];
      const pendingWhileHeld: number[] = [];
      const noteWhileHeld = () => {
        alive.push(source.yielded - destination.finished);
        asked.push(log.filter((entry) => entry.startsWith('ask:')).length);
        pendingWhileHeld.push(log.filter((entry) => entry === 'recordPendingBatch').length);
      };
      while (await destination.release(noteWhileHeld, () => ended));
      const result = await chunk;
      expect(result).toMatchObject({ done: true, rowsCopied: 450, batches: 5 });
      // While insert k waited, batch k+1 had been read and sent (two in flight) but not ended
      // (its pending batch not recorded), and batch k+2 not asked for.
      expect(alive).toEqual([2, 2, 2, 2, 1]);
      expect(asked).toEqual([2, 3, 4, 5, 5]);
      expect(pendingWhileHeld).toEqual([1, 2, 3, 4, 5]);
      expect(source.closed).toBe(1);
      const writes = log.filter((entry) => !/^(ask|read):/.test(entry) && entry !== 'refreshTableProgress');
      const batch = (rows: number) => ['recordPendingBatch', `insert:items:${rows}`, 'checkpointPartition'];
      expect(
        writes.slice(writes.indexOf('recordPendingBatch'), writes.lastIndexOf('checkpointPartition') + 1),
      ).toEqual([...batch(100), ...batch(100), ...batch(100), ...batch(100), ...batch(50)]);
      const [partition] = await store.listPartitions(pipeId, 'shop.items');
      expect(partition).toMatchObject({ done: true, rowsCopied: 450, checkpoint: '450' });
      expect(partition?.pending).toBeUndefined();
    });

    it('an insert that fails aborts the batch sent after it, checkpoints nothing past the last insert, and its pending batch is replayed', async () => {
      const pipeId = await plannedPipe();
      const log: string[] = [];
      const source = new ArraySnapshotSource(450, log);
      const destination = new MemoryDestination(log);
      const insert = destination.insertStreamed.bind(destination);
      let inserts = 0;
      let abortedBodies = 0;
      destination.insertStreamed = async (batch) => {
        inserts += 1;
        if (inserts !== 3) {
          try {
            return await insert(batch);
          } catch (error) {
            abortedBodies += 1;
            throw error;
          }
        }
        for await (const _ of batch.body);
        // Batch 4 is being sent while this insert runs; let it come as far as it can first.
        for (let turn = 0; turn < 20; turn += 1) await new Promise((resolve) => setImmediate(resolve));
        throw new DestinationUnavailableError('injected: insert 3 failed');
      };
      const deps = { store: instrumentStore(store, log), source, destination, clock: new ManualClock() };
      const input = chunkInput(pipeId);
      await expect(snapshotChunk(deps, input)).rejects.toThrow(/insert 3 failed/);
      expect(source.yielded).toBe(4);
      expect(source.closed).toBe(1);
      expect(abortedBodies).toBe(1);
      expect(log.filter((entry) => entry === 'checkpointPartition')).toHaveLength(2);
      const [partition] = await store.listPartitions(pipeId, 'shop.items');
      expect(partition).toMatchObject({ done: false, rowsCopied: 200, checkpoint: '200' });
      expect(partition?.pending).toEqual({ seq: 3, start: '200', end: '300' });

      const result = await snapshotChunk(deps, input);
      expect(result).toMatchObject({ done: true, rowsCopied: 250, partitionRowsCopied: 450 });
      expect(source.reads[1]).toMatchObject({ checkpoint: '200', end: '300' });
      expect(source.reads[2]).toMatchObject({ checkpoint: '300' });
      expect(source.closed).toBe(3);
      expect(destination.final('items').size).toBe(450);
    });

    it('a read that fails lets the insert in flight finish and checkpoint first', async () => {
      const pipeId = await plannedPipe();
      const log: string[] = [];
      const source = new ArraySnapshotSource(450, log);
      source.failAfterBatches = 2;
      const deps = {
        store: instrumentStore(store, log),
        source,
        destination: new MemoryDestination(log),
        clock: new ManualClock(),
      };
      await expect(snapshotChunk(deps, chunkInput(pipeId))).rejects.toThrow(/mid-chunk/);
      // Batch 3 failed while batch 2 was inserted: batch 2 still made it, checkpoint and all.
      const writes = log.filter((entry) => !/^(ask|read):/.test(entry));
      expect(writes.slice(-2)).toEqual(['insert:items:100', 'checkpointPartition']);
      const [partition] = await store.listPartitions(pipeId, 'shop.items');
      expect(partition).toMatchObject({ rowsCopied: 200, checkpoint: '200' });
      expect(partition?.pending).toBeUndefined();
      expect(source.closed).toBe(1);
    });
  });

  describe('the pending batch: a batch whose end was recorded before its insert ended', () => {
    it('is replayed through its recorded end even when deletes would now carry a batch further, so nothing is lost', async () => {
      const pipeId = await plannedPipe();
      const destination = new MemoryDestination();
      const source = new ArraySnapshotSource(250);
      const crashing = instrumentStore(store, []);
      const deps = { store: crashing, source, destination, clock: new ManualClock() };
      // The first insert commits 1..100; the chunk dies before checkpointing it.
      crashing.failNext('checkpointPartition');
      await expect(snapshotChunk(deps, chunkInput(pipeId))).rejects.toThrow(
        /injected crash before checkpointPartition/,
      );
      expect(destination.final('items').size).toBe(100);
      // Then 1..50 are deleted: a batch of 100 read afresh from the start would reach 150, and
      // under the first insert's token ClickHouse would drop it whole: 101..150 would be lost.
      for (let id = 1; id <= 50; id += 1) source.deleted.add(id);
      const result = await snapshotChunk(deps, chunkInput(pipeId));
      expect(result.done).toBe(true);
      expect(source.reads[1]).toMatchObject({ checkpoint: null, end: '100' });
      expect(destination.attemptedTokens[1]).toBe(destination.attemptedTokens[0]);
      expect(destination.inserts.map((entry) => entry.rows.length)).toEqual([100, 100, 50]);
      const ids = [...destination.final('items').keys()].map(Number).sort((a, b) => a - b);
      expect(ids).toEqual(Array.from({ length: 250 }, (_, k) => k + 1));
      const [partition] = await store.listPartitions(pipeId, 'shop.items');
      expect(partition).toMatchObject({ done: true, checkpoint: '250' });
    });

    it('a chunk that stops before recording it leaves an insert that never ended: nothing inserted, nothing pending', async () => {
      const pipeId = await plannedPipe();
      const destination = new MemoryDestination();
      const crashing = instrumentStore(store, []);
      const deps = {
        store: crashing,
        source: new ArraySnapshotSource(150),
        destination,
        clock: new ManualClock(),
      };
      crashing.failNext('recordPendingBatch');
      await expect(snapshotChunk(deps, chunkInput(pipeId))).rejects.toThrow(
        /injected crash before recordPendingBatch/,
      );
      expect(destination.inserts).toHaveLength(0);
      const [partition] = await store.listPartitions(pipeId, 'shop.items');
      expect(partition).toMatchObject({ checkpoint: null, seq: 0 });
      expect(partition?.pending).toBeUndefined();
      const result = await snapshotChunk(deps, chunkInput(pipeId));
      expect(result).toMatchObject({ done: true, rowsCopied: 150 });
      expect(destination.final('items').size).toBe(150);
    });

    it('whose range is now empty is checkpointed at its end without an insert', async () => {
      const pipeId = await plannedPipe();
      const destination = new MemoryDestination();
      const source = new ArraySnapshotSource(150);
      const crashing = instrumentStore(store, []);
      const deps = { store: crashing, source, destination, clock: new ManualClock() };
      crashing.failNext('checkpointPartition');
      await expect(snapshotChunk(deps, chunkInput(pipeId))).rejects.toThrow(/injected crash/);
      for (let id = 1; id <= 100; id += 1) source.deleted.add(id);
      const result = await snapshotChunk(deps, chunkInput(pipeId));
      expect(result).toMatchObject({ done: true, rowsCopied: 50, partitionRowsCopied: 50 });
      expect(destination.attemptedTokens).toHaveLength(2);
      expect(source.reads[2]).toMatchObject({ checkpoint: '100' });
    });
  });

  describe('documents that cannot become rows fail as the decoding path failed', () => {
    async function failingChunk(
      replaced: Uint8Array,
    ): Promise<{ error: unknown; pipeId: string; destination: MemoryDestination }> {
      const pipeId = await plannedPipe();
      const source = new ArraySnapshotSource(250);
      source.replaced.set(150, replaced);
      const destination = new MemoryDestination();
      const error = await snapshotChunk(
        { store, source, destination, clock: new ManualClock() },
        chunkInput(pipeId),
      ).catch((caught: unknown) => caught);
      const [partition] = await store.listPartitions(pipeId, 'shop.items');
      // The batch before it is in and checkpointed, nothing of its own batch is.
      expect(partition).toMatchObject({ rowsCopied: 100, checkpoint: '100' });
      expect(destination.final('items').size).toBe(100);
      return { error, pipeId, destination };
    }

    it("bytes the driver could not decode: SourceFatalError with the decoder's message", async () => {
      const bad = Buffer.from(BSON.serialize({ _id: 150, value: 'ok' }));
      bad[bad.length - 3] = 0xff; // inside the string "ok": not UTF-8
      const decodeError = (() => {
        try {
          BSON.deserialize(bad, DESERIALIZE_OPTIONS);
        } catch (caught) {
          return caught;
        }
      })();
      const before = classifySourceError(decodeError);
      const { error } = await failingChunk(bad);
      expect(error).toBeInstanceOf(SourceFatalError);
      expect((error as Error).message).toBe(before.message);
      expect((error as Error).message).toMatch(/Invalid UTF-8/);
    });

    it('a document without _id: the UnsupportedValueError snapshotRow raised', async () => {
      const { error } = await failingChunk(BSON.serialize({ value: 'no id' }));
      expect(error).toBeInstanceOf(UnsupportedValueError);
      expect((error as Error).message).toBe('a document without _id cannot be replicated');
    });
  });

  describe('a table planned again while a chunk of its earlier plan still runs', () => {
    const planAgain = async (pipeId: string, state: 'Snapshot' | 'Resync') => {
      await store.deletePartitionPlan(pipeId, 'shop.items');
      await store.setTableState(pipeId, 'shop.items', { state });
      await store.savePartitionPlan(pipeId, 'shop.items', [{ index: 0, bounds: WHOLE }]);
    };

    it("the earlier plan's chunk is refused at its next write and leaves the new plan's partition untouched", async () => {
      const pipeId = await plannedPipe();
      const destination = new MemoryDestination();
      const send = destination.insertStreamed.bind(destination);
      let inserts = 0;
      // The second insert is held once its body has ended (its pending batch recorded in the
      // earlier plan) while the table is resynced and planned again, as a Lambda of a stopped
      // execution keeps running; then it answers.
      destination.insertStreamed = async (batch) => {
        inserts += 1;
        if (inserts !== 2) return send(batch);
        const chunks: Uint8Array[] = [];
        for await (const chunk of batch.body) chunks.push(chunk);
        await planAgain(pipeId, 'Resync');
        return send({ ...batch, body: fromChunks(chunks) });
      };
      const deps = { store, source: new ArraySnapshotSource(250), destination, clock: new ManualClock() };
      const error = await snapshotChunk(deps, chunkInput(pipeId)).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(CheckpointRegressionError);
      expect((error as Error).message).toContain('was planned again');
      const [partition] = await store.listPartitions(pipeId, 'shop.items');
      expect(partition).toMatchObject({ seq: 0, checkpoint: null, rowsCopied: 0, done: false });
      expect(partition).not.toHaveProperty('pending');
    });

    it("a table added back gets new tokens, so its first batches are not dropped as the earlier load's", async () => {
      const pipeId = await plannedPipe();
      const source = new ArraySnapshotSource(250);
      // 40..49 are inserted only after the first load, while the table is out of the pipe.
      for (let id = 40; id <= 49; id += 1) source.deleted.add(id);
      const destination = new MemoryDestination();
      const deps = { store, source, destination, clock: new ManualClock() };
      expect(await snapshotChunk(deps, chunkInput(pipeId))).toMatchObject({ done: true });
      const firstLoad = destination.attemptedTokens.length;
      // Removed without dropping its ClickHouse table (whose deduplication log stays), added back.
      await store.setTableState(pipeId, 'shop.items', { state: 'Removed' });
      source.deleted.clear();
      await planAgain(pipeId, 'Snapshot');
      expect(await snapshotChunk(deps, chunkInput(pipeId))).toMatchObject({ done: true });
      expect(destination.attemptedTokens[firstLoad]).not.toBe(destination.attemptedTokens[0]);
      expect(destination.final('items').size).toBe(250);
    });
  });
});

import { BSON } from 'bson';
import { describe, expect, it } from 'vitest';
import type { DynamoPipeStore } from '../../functions/adapters/dynamodb/store.js';
import { encodePartitionBounds } from '../../functions/core/partition-plan.js';
import { finishResync, prepareResyncTables } from '../../functions/engines/resync.js';
import { snapshotChunk } from '../../functions/engines/snapshot-chunk.js';
import type { CdcTrigger, CdcTriggerReason } from '../../functions/ports/lifecycle.js';
import { CDC_LEASE } from '../../functions/ports/pipe-store.js';
import type { SnapshotBatch } from '../../functions/ports/source.js';
import { useDynalite } from '../support/dynalite.js';
import {
  createPipeWithTables,
  instrumentStore,
  ManualClock,
  MemoryDestination,
  newStore,
} from './support.js';

class RecordingTrigger implements CdcTrigger {
  readonly calls: CdcTriggerReason[] = [];
  async runSoon(_pipeId: string, reason: CdcTriggerReason): Promise<boolean> {
    this.calls.push(reason);
    return true;
  }
}

describe('table resync pieces', () => {
  let store: DynamoPipeStore;

  useDynalite((started) => {
    store = newStore(started);
  });

  it('prepares <table>_resync, loads it through snapshotChunk, and swaps it in; a crashed swap re-runs', async () => {
    const pipeId = await createPipeWithTables(store, [
      { db: 'shop', coll: 'items', target: 'items', state: 'Replicating' },
    ]);
    await store.savePartitionPlan(pipeId, 'shop.items', [
      { index: 0, bounds: encodePartitionBounds({ lower: null, upper: null }) },
    ]);
    const log: string[] = [];
    const destination = new MemoryDestination(log);
    const trigger = new RecordingTrigger();
    await destination.insertRows({
      database: 'default',
      table: 'items',
      rows: [{ table: 'items', _id: 'old', doc: '{}', _peerdb_version: 0n, _peerdb_is_deleted: 0 }],
      deduplicationToken: 'x',
      useJsonNativeFormat: true,
    });
    const running = await store.acquireLease(pipeId, CDC_LEASE, 'a-running-cdc-run', 60_000);

    const input = { pipeId, tableKeys: ['shop.items'], startCdc: true };
    const prepared = await prepareResyncTables(
      { store: instrumentStore(store, log), destination, trigger },
      input,
    );
    expect(prepared.resyncTables).toEqual(['items_resync']);
    expect((await store.getTableMapping(pipeId, 'shop.items'))?.state).toBe('Resync');
    expect(await store.listPartitions(pipeId, 'shop.items')).toEqual([]);
    // The run that began before the table entered Resync can no longer commit: it was revoked after.
    const revoked = await store.getLease(pipeId, CDC_LEASE);
    expect(revoked?.fence).toBeGreaterThan(running.fence);
    expect(log.indexOf('revokeLease')).toBeGreaterThan(log.lastIndexOf('setTableState'));
    expect(trigger.calls).toEqual(['restart']);

    await store.savePartitionPlan(pipeId, 'shop.items', [
      { index: 0, bounds: encodePartitionBounds({ lower: null, upper: null }) },
    ]);
    const source = {
      async *readPartition(): AsyncIterable<SnapshotBatch> {
        const documents = [BSON.serialize({ _id: 1 }), BSON.serialize({ _id: 2 })];
        yield { documents, bytes: 40, checkpoint: '2' };
      },
    };
    const loaded = await snapshotChunk(
      { store, source, destination, clock: new ManualClock() },
      { pipeId, table: 'shop.items', partitionIndex: 0, budget: { deadline: Date.UTC(2030, 0, 1) } },
    );
    expect(loaded).toMatchObject({ done: true, targetTable: 'items_resync', rowsCopied: 2 });
    expect([...destination.final('items').keys()]).toEqual(['old']);

    log.length = 0;
    const crashing = instrumentStore(store, log);
    crashing.failNext('setTableState');
    await expect(finishResync({ store: crashing, destination, trigger }, input)).rejects.toThrow(
      /injected crash/,
    );
    expect((await store.getTableMapping(pipeId, 'shop.items'))?.state).toBe('Resync');
    await finishResync({ store: crashing, destination, trigger }, input);
    expect((await store.getTableMapping(pipeId, 'shop.items'))?.state).toBe('Replicating');
    expect([...destination.final('items').keys()].sort()).toEqual(['1', '2']);
    expect(log.filter((entry) => entry.startsWith('swap'))).toEqual(['swap:items', 'swap:items']);
    // The swap holds the CDC lease (taken from the running run) while it exchanges the tables, and
    // drops the old rows only once it let go of it: no run can commit in between.
    const steps = log.filter((entry) =>
      [
        'revokeLease',
        'acquireLease',
        'releaseLease',
        'setTableState',
        'swap:items',
        'dropSwappedOut:items',
      ].includes(entry),
    );
    expect(steps.slice(-6)).toEqual([
      'revokeLease',
      'acquireLease',
      'swap:items',
      'setTableState',
      'releaseLease',
      'dropSwappedOut:items',
    ]);
    expect(destination.tables.has('items_resync')).toBe(false);
    expect(trigger.calls).toEqual(['restart', 'restart']);
  });

  it('a resync of a table already in resync stops its dual writes before recreating <table>_resync', async () => {
    // A table of its own: the first test's pipe owns default.items.
    const pipeId = await createPipeWithTables(store, [
      { db: 'shop', coll: 'items', target: 'reloaded', state: 'Resync' },
    ]);
    const log: string[] = [];
    const destination = new MemoryDestination(log);
    await prepareResyncTables(
      { store: instrumentStore(store, log), destination },
      { pipeId, tableKeys: ['shop.items'], startCdc: false },
    );
    const steps = log.filter(
      (entry) => ['setTableState', 'revokeLease'].includes(entry) || entry.startsWith('create'),
    );
    expect(steps).toEqual([
      'setTableState',
      'revokeLease',
      'createResync:reloaded',
      'setTableState',
      'revokeLease',
    ]);
    expect((await store.getTableMapping(pipeId, 'shop.items'))?.state).toBe('Resync');
  });
});

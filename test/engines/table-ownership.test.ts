import { describe, expect, it } from 'vitest';
import type { DynamoPipeStore } from '../../functions/adapters/dynamodb/store.js';
import { finishResync, prepareResyncTables } from '../../functions/engines/resync.js';
import { useDynalite } from '../support/dynalite.js';
import { createPipeWithTables, MemoryDestination, newStore } from './support.js';

/**
 * Issue 14, finding 2: a resync creates, exchanges and drops only tables its pipe owns. Pipe B's
 * mapping onto pipe A's table (a pipe from before the claims, or a forged record) cannot make B
 * drop a leftover `<table>_resync`, exchange A's table or drop A's rows.
 */
describe('a resync touches only its own pipe tables', () => {
  let store: DynamoPipeStore;

  useDynalite((started) => {
    store = newStore(started);
  });

  async function twoPipesOnOneTable(table: string, state: 'Replicating' | 'Resync') {
    const owner = await createPipeWithTables(store, [
      { db: 'shop', coll: 'items', target: table, state: 'Replicating' },
    ]);
    expect((await store.claimTable(owner, { database: 'default', table })).pipeId).toBe(owner);
    const intruder = await createPipeWithTables(store, [
      { db: 'other', coll: 'items', target: table, state },
    ]);
    return { owner, intruder };
  }

  it('prepare refuses to (re)create <table>_resync of a table another pipe owns', async () => {
    const { owner, intruder } = await twoPipesOnOneTable('shared', 'Replicating');
    const log: string[] = [];
    const destination = new MemoryDestination(log);
    await expect(
      prepareResyncTables(
        { store, destination },
        { pipeId: intruder, tableKeys: ['other.items'], startCdc: false },
      ),
    ).rejects.toMatchObject({
      name: 'TableOwnedByAnotherPipeError',
      message: expect.stringContaining(`default.shared belongs to pipe ${owner}`),
    });
    expect(log).toEqual([]);
    expect((await store.getTableMapping(intruder, 'other.items'))?.state).toBe('Replicating');
  });

  it('swap refuses to exchange or drop a table another pipe owns, before it takes the CDC lease', async () => {
    const { owner, intruder } = await twoPipesOnOneTable('swapped', 'Resync');
    const log: string[] = [];
    const destination = new MemoryDestination(log);
    await expect(
      finishResync({ store, destination }, { pipeId: intruder, tableKeys: ['other.items'], startCdc: false }),
    ).rejects.toMatchObject({ name: 'TableOwnedByAnotherPipeError' });
    expect(log).toEqual([]);
    expect(await store.getLease(intruder, 'cdc')).toBeNull();
    expect((await store.getTableClaim({ database: 'default', table: 'swapped' }))?.pipeId).toBe(owner);
  });

  it("the owner's own resync goes through, and a pipe from before the claims adopts its unclaimed table", async () => {
    const { owner } = await twoPipesOnOneTable('own', 'Replicating');
    const legacy = await createPipeWithTables(store, [
      { db: 'shop', coll: 'legacy', target: 'legacy_table', state: 'Replicating' },
    ]);
    const destination = new MemoryDestination();
    for (const [pipeId, tableKey] of [
      [owner, 'shop.items'],
      [legacy, 'shop.legacy'],
    ] as const) {
      const input = { pipeId, tableKeys: [tableKey], startCdc: false };
      await prepareResyncTables({ store, destination }, input);
      await finishResync({ store, destination }, input);
      expect((await store.getTableMapping(pipeId, tableKey))?.state).toBe('Replicating');
    }
    expect((await store.getTableClaim({ database: 'default', table: 'legacy_table' }))?.pipeId).toBe(legacy);
  });
});

import { describe, expect, it } from 'vitest';
import type { DynamoPipeStore } from '../../../functions/adapters/dynamodb/store.js';
import { InvalidStoreInputError } from '../../../functions/core/store-errors.js';
import { type LocalDynamo, useDynalite } from '../../support/dynalite.js';
import { crashOnce, ManualClock, newStore, pipeInput, uniqueId } from './fixtures.js';

/** Table claims (issue 14, finding 2): one owner per destination table, single-item conditional writes. */
let dynamo: LocalDynamo;
let store: DynamoPipeStore;
const clock = new ManualClock();

useDynalite((started) => {
  dynamo = started;
  store = newStore(started, clock);
});

async function newPipeId(): Promise<string> {
  return (await store.createPipe(pipeInput({ id: uniqueId('claims') }))).pipe.id;
}

const table = (name: string) => ({ database: 'analytics', table: name });

describe('table claims', () => {
  it('the first pipe to claim a table owns it; its repeats keep the claim, another pipe gets the owner back', async () => {
    const [first, second] = [await newPipeId(), await newPipeId()];
    const ref = table('orders');
    expect(await store.getTableClaim(ref)).toBeNull();
    const won = await store.claimTable(first, ref);
    expect(won).toEqual({ pipeId: first, ...ref, claimedAt: clock.now() });
    clock.advance(1000);
    expect(await store.claimTable(first, ref)).toEqual(won);
    expect(await store.claimTable(second, ref)).toEqual(won);
    expect(await store.getTableClaim(ref)).toEqual(won);
    expect(await store.listTableClaims(first)).toEqual([won]);
    expect(await store.listTableClaims(second)).toEqual([]);
    // Same table name in another database is another table.
    expect((await store.claimTable(second, { database: 'other', table: 'orders' })).pipeId).toBe(second);
  });

  it('of 10 pipes racing for one table exactly one wins, and every caller learns the same owner', async () => {
    const pipes = await Promise.all(Array.from({ length: 10 }, () => newPipeId()));
    const ref = table('contested');
    const outcomes = await Promise.all(pipes.map((pipeId) => store.claimTable(pipeId, ref)));
    const owners = new Set(outcomes.map((claim) => claim.pipeId));
    expect(owners.size).toBe(1);
    const [owner] = [...owners];
    expect(pipes).toContain(owner);
    const holding = await Promise.all(pipes.map((pipeId) => store.listTableClaims(pipeId)));
    expect(holding.filter((claims) => claims.length > 0)).toHaveLength(1);
  });

  it('only the owner releases; after that another pipe may claim the table', async () => {
    const [owner, other] = [await newPipeId(), await newPipeId()];
    const ref = table('released');
    await store.claimTable(owner, ref);
    await store.releaseTableClaim(other, ref);
    expect((await store.getTableClaim(ref))?.pipeId).toBe(owner);
    await store.releaseTableClaim(owner, ref);
    await store.releaseTableClaim(owner, ref);
    expect(await store.getTableClaim(ref)).toBeNull();
    expect(await store.listTableClaims(owner)).toEqual([]);
    expect((await store.claimTable(other, ref)).pipeId).toBe(other);
  });

  it('deletePipe releases every claim of the pipe, and only its own', async () => {
    const [doomed, survivor] = [await newPipeId(), await newPipeId()];
    for (const name of ['d1', 'd2', 'd3']) await store.claimTable(doomed, table(name));
    await store.claimTable(survivor, table('kept'));
    await store.deletePipe(doomed);
    for (const name of ['d1', 'd2', 'd3']) expect(await store.getTableClaim(table(name))).toBeNull();
    expect(await store.listTableClaims(doomed)).toEqual([]);
    expect((await store.getTableClaim(table('kept')))?.pipeId).toBe(survivor);
    expect((await store.claimTable(survivor, table('d1'))).pipeId).toBe(survivor);
  });

  it('a claim whose pipe is gone counts as no claim and is taken over', async () => {
    const ref = table('abandoned');
    // A claim written for a pipe that no longer exists (deleted by a version without claims).
    await store.claimTable('gone-pipe', ref);
    expect(await store.getTableClaim(ref)).toBeNull();
    const heir = await newPipeId();
    expect((await store.claimTable(heir, ref)).pipeId).toBe(heir);
    expect(await store.listTableClaims(heir)).toEqual([expect.objectContaining(ref)]);
  });

  it('a crash between the claim and its note is finished by the same pipe claiming again', async () => {
    const client = dynamo.newClient();
    const crashing = newStore(dynamo, clock, client);
    const pipeId = await newPipeId();
    const ref = table('crash_note');
    const off = crashOnce(
      client,
      (command, input) =>
        command === 'PutItemCommand' &&
        String((input.Item as { SK?: { S?: string } })?.SK?.S).startsWith('OWNS#'),
    );
    await expect(crashing.claimTable(pipeId, ref)).rejects.toThrow(/simulated crash/);
    off();
    expect((await store.getTableClaim(ref))?.pipeId).toBe(pipeId);
    expect(await store.listTableClaims(pipeId)).toEqual([]);
    expect((await store.claimTable(pipeId, ref)).pipeId).toBe(pipeId);
    expect(await store.listTableClaims(pipeId)).toEqual([expect.objectContaining(ref)]);
  });

  it('refuses names that are not ClickHouse identifiers', async () => {
    const pipeId = await newPipeId();
    for (const bad of [
      { database: 'a.b', table: 't' },
      { database: 'db', table: '' },
      { database: 'db', table: 't#1' },
    ]) {
      await expect(store.claimTable(pipeId, bad)).rejects.toBeInstanceOf(InvalidStoreInputError);
    }
    await expect(store.claimTable('bad id!', table('t'))).rejects.toBeInstanceOf(InvalidStoreInputError);
  });
});

import type { Timestamp } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChangeStreamHistoryLostError } from '../../functions/core/errors.js';
import { cdcBatch } from '../../functions/engines/cdc-run.js';
import { systemClock } from '../../functions/ports/clock.js';
import {
  cdcUntilCaughtUp,
  markReplicating,
  partsOf,
  setUpPipe,
  snapshotAll,
  startWorld,
  type World,
} from './harness.js';

describe('history loss', () => {
  let world: World;

  beforeAll(async () => {
    world = await startWorld();
  });
  afterAll(async () => {
    await world?.stop();
  });

  it('raises ChangeStreamHistoryLostError (resync needed) once the oplog is truncated past the committed resume point', async () => {
    const table = { db: 'lost', coll: 'items', target: 'lost_items' };
    const items = world.mongo.db(table.db).collection(table.coll);
    await items.insertMany(Array.from({ length: 50 }, (_, n) => ({ _id: n as never, n })));
    const pipe = await setUpPipe(world, [table]);
    const parts = partsOf(world, pipe);
    await snapshotAll(pipe, parts);
    await markReplicating(world.store, pipe);
    await items.insertOne({ _id: 100 as never, n: 100 });
    const caughtUp = await cdcUntilCaughtUp(pipe, parts);
    expect(caughtUp.events).toBe(1);
    const committed = await world.store.getResumePoint(pipe.pipeId);
    expect(committed?.token).toBeTruthy();

    await items.insertOne({ _id: 101 as never, n: 101 });
    const latest = world.rs.deployment.oplog.latest();
    expect(latest).toBeDefined();
    expect(world.rs.truncateOplog(latest?.ts as Timestamp)).toBeGreaterThan(0);

    const failure = await cdcBatch(
      { store: world.store, source: pipe.changeSource, destination: world.destination, clock: systemClock },
      {
        pipeId: pipe.pipeId,
        holder: 'after-truncation',
        budget: { deadline: Date.now() + 30_000 },
        maxWaitMs: 200,
      },
    ).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ChangeStreamHistoryLostError);
    expect((failure as Error).name).toBe('ChangeStreamHistoryLostError');
    expect((failure as Error).message).toMatch(/^resync needed/);
    expect(await world.store.getResumePoint(pipe.pipeId)).toMatchObject({ token: committed?.token });
  }, 120_000);
});

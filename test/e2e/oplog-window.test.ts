import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cdcBatchTask } from '../../functions/handlers/cdc-batch.js';
import {
  blockPipeFinds,
  compareWithSource,
  type MachineWorld,
  newPipe,
  run,
  seed,
  startMachineWorld,
} from '../statemachines/support.js';

/**
 * The initial load no longer has to fit in the oplog window (issue 13): a source whose oplog
 * holds fewer entries than the writes made while the snapshot runs. The control runs CDC only
 * once the snapshot is done, as the product did before: the start point has fallen off the
 * oplog and the pipe needs a resync. With CDC running beside the snapshot, it reaches Running
 * with the tables equal to MongoDB.
 */

const APP_NAME = 'pipe-under-test';
/** The oplog keeps this many entries: about 7 s of the writer below. */
const OPLOG_ENTRIES = 2_000;
const DOCUMENTS = 5_000;
const WRITES_PER_SECOND = 300;

/** Each snapshot partition's `find` waits 2 s: the load outlasts the oplog. */
const slowSnapshot = (world: MachineWorld, on: boolean) => blockPipeFinds(world, APP_NAME, on ? 2_000 : null);

/** Updates the seeded documents round-robin at a steady rate until stopped; returns how many it made. */
function startWriter(world: MachineWorld, coll: string) {
  let stopped = false;
  let writes = 0;
  const loop = (async () => {
    const collection = world.mongo.db('ow').collection<{ _id: number; touched?: number }>(coll);
    for (let tick = 0; tick < 100_000 && !stopped; tick += 1) {
      const batch = Array.from({ length: WRITES_PER_SECOND / 10 }, (_, k) => {
        const _id = (writes + k) % DOCUMENTS;
        return { updateOne: { filter: { _id }, update: { $set: { touched: writes + k } } } };
      });
      await collection.bulkWrite(batch, { ordered: true });
      writes += batch.length;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  return {
    async stop(): Promise<number> {
      stopped = true;
      await loop;
      return writes;
    },
  };
}

/** Creates a pipe over `ow.<coll>` and runs the create machine while the writer wraps the oplog. */
async function createUnderWrites(world: MachineWorld, coll: string) {
  await seed(world, 'ow', coll, DOCUMENTS);
  const pipeId = await newPipe(world, [{ db: 'ow', coll }], {
    syncIntervalSeconds: 1,
    snapshotNumRowsPerPartition: 1_000,
    initialLoadParallelism: 1,
  });
  const writer = startWriter(world, coll);
  await slowSnapshot(world, true);
  try {
    const result = await run(world, 'create', pipeId);
    return { pipeId, result, writes: await writer.stop() };
  } finally {
    await writer.stop();
    await slowSnapshot(world, false);
  }
}

describe('an oplog smaller than the writes made during the initial snapshot', () => {
  describe('control: CDC only after the snapshot (the product before continuous CDC)', () => {
    let world: MachineWorld;
    beforeAll(async () => {
      world = await startMachineWorld({ replicaSet: { oplogMaxEntries: OPLOG_ENTRIES }, appName: APP_NAME });
    }, 120_000);
    afterAll(async () => {
      await world?.stop();
    });

    it('the start point fell off the oplog: the first CDC run fails the pipe, resync needed', async () => {
      // No CDC schedule runs in this world: the snapshot ends with nothing having read the stream.
      const { pipeId, result, writes } = await createUnderWrites(world, 'control');
      expect(result).toMatchObject({ status: 'SUCCEEDED' });
      expect(writes).toBeGreaterThan(OPLOG_ENTRIES);
      await expect(cdcBatchTask.invoke(world.runtime, { pipeId })).rejects.toMatchObject({
        name: 'ChangeStreamHistoryLostError',
      });
      const pipe = await world.store.getPipe(pipeId);
      expect(pipe.state).toBe('Failed');
      expect(pipe.lastError?.message).toMatch(/^resync needed/);
    }, 120_000);
  });

  describe('CDC beside the snapshot', () => {
    let world: MachineWorld;
    beforeAll(async () => {
      world = await startMachineWorld({
        replicaSet: { oplogMaxEntries: OPLOG_ENTRIES },
        appName: APP_NAME,
        cdc: { minuteMs: 5_000 },
      });
    }, 120_000);
    afterAll(async () => {
      await world?.stop();
    });

    it('reaches Running with the table equal to MongoDB, no history lost', async () => {
      const { pipeId, result, writes } = await createUnderWrites(world, 'product');
      expect(result).toMatchObject({ status: 'SUCCEEDED' });
      expect(writes).toBeGreaterThan(OPLOG_ENTRIES);
      let comparison = await compareWithSource(world, 'ow', 'product');
      for (
        let attempt = 0;
        attempt < 40 && comparison.different.length + comparison.missing.length > 0;
        attempt += 1
      ) {
        await new Promise((resolve) => setTimeout(resolve, 500));
        comparison = await compareWithSource(world, 'ow', 'product');
      }
      const pipe = await world.store.getPipe(pipeId);
      expect(pipe.state).toBe('Running');
      expect(pipe.lastError).toBeNull();
      expect(comparison).toMatchObject({ missing: [], extra: [], different: [], count: DOCUMENTS });
      console.info(`[e2e oplog-window] ${writes} writes during the snapshot, oplog holds ${OPLOG_ENTRIES}`);
    }, 120_000);
  });
});

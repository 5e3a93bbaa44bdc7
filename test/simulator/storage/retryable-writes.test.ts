import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StorageHarness, startStorageHarness } from './harness.js';

let h: StorageHarness;

beforeAll(async () => {
  h = await startStorageHarness();
});

afterAll(async () => {
  await h?.stop();
});

describe('retryable writes', () => {
  it('applies a write once when the driver retries it after a retryable write concern error', async () => {
    const coll = h.client.db('retry').collection('once');
    await coll.insertOne({ _id: 0, n: 0 } as never);
    await h.client.db('admin').command({
      configureFailPoint: 'failCommand',
      mode: { times: 1 },
      data: {
        failCommands: ['insert', 'update'],
        writeConcernError: { code: 91, errmsg: 'Replication is being shut down' },
      },
    });
    try {
      // The server applies the insert, reports the write concern error, and the driver retries.
      await coll.insertOne({ _id: 1 } as never);
      await coll.updateOne({ _id: 0 } as never, { $inc: { n: 1 } });
    } finally {
      await h.client.db('admin').command({ configureFailPoint: 'failCommand', mode: 'off' });
    }
    expect(await coll.find().sort({ _id: 1 }).toArray()).toEqual([{ _id: 0, n: 1 }, { _id: 1 }]);
    const inserts = h.rs.deployment.oplog.all().filter((e) => e.ns === 'retry.once' && e.op === 'i');
    expect(inserts).toHaveLength(2);
  });
});

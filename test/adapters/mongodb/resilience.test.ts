import { BSON } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MongoChangeSource } from '../../../functions/adapters/mongodb/change-source.js';
import { MongoSnapshotSource } from '../../../functions/adapters/mongodb/snapshot-source.js';
import { SourceUnavailableError } from '../../../functions/core/errors.js';
import type { SnapshotBatch } from '../../../functions/ports/source.js';
import { silentLog } from '../../support/log.js';
import { decodedEvent } from '../../support/raw-change-events.js';
import { firstIds, keyedDocuments, type SourceFixture, startSource } from './fixtures.js';

const DB = 'faults';
let source: SourceFixture;

beforeAll(async () => {
  source = await startSource({ noopIntervalMs: 100 });
}, 60_000);

afterAll(async () => {
  await source?.stop();
});

/** The `key` field of a raw document (snapshot batches hold BSON bytes). */
const keyOf = (raw: Uint8Array): string => BSON.deserialize(raw).key as string;

const failOnce = (failPoint: string, data: Record<string, unknown>) =>
  source.client.db('admin').command({ configureFailPoint: failPoint, mode: { times: 1 }, data });

describe('source adapter under faults', () => {
  it('surfaces a failed read mid-partition as retryable, and the checkpoint resumes with nothing lost or repeated', async () => {
    const namespace = { db: DB, coll: 'snap' };
    await source.client
      .db(DB)
      .collection(namespace.coll)
      .insertMany(keyedDocuments(firstIds(1000)));
    const reader = new MongoSnapshotSource(source.client);
    const read: string[] = [];
    let checkpoint: string | null = null;
    const failure = await (async () => {
      for await (const batch of reader.readPartition(namespace, {
        bounds: { lower: null, upper: null },
        checkpoint: null,
        maxRows: 100,
        maxBytes: 1 << 20,
      })) {
        read.push(...batch.documents.map(keyOf));
        checkpoint = batch.checkpoint;
        // Each reply is a find of its own: the one after the first batch's fails.
        if (read.length === 100) await failOnce('failCommand', { failCommands: ['find'], errorCode: 91 });
      }
    })().catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(SourceUnavailableError);
    expect(source.rs.failPoints().timesEntered('failCommand')).toBe(1);
    expect(read.length).toBeLessThan(1000);
    const rest: SnapshotBatch[] = [];
    for await (const batch of reader.readPartition(namespace, {
      bounds: { lower: null, upper: null },
      checkpoint,
      maxRows: 100,
      maxBytes: 1 << 20,
    })) {
      rest.push(batch);
    }
    const all = [...read, ...rest.flatMap((batch) => batch.documents.map(keyOf))];
    expect(all).toEqual([...Array(1000)].map((_, i) => `k${i}`));
  });

  it('rides a resumable change stream error and a step-down within one batch sequence', async () => {
    const reader = new MongoChangeSource(source.client, {
      namespaces: [{ db: DB, coll: 'cdc' }],
      log: silentLog,
    });
    const start = await reader.captureStartPoint();
    const collection = source.client.db(DB).collection('cdc');
    await collection.insertMany([1, 2, 3].map((id) => ({ _id: id as never })));
    await failOnce('failGetMoreAfterCursorCheckout', { errorCode: 11602 });
    const request = (token: string | null) => ({
      resumePoint: token ? { token, clusterTime: null } : null,
      startPoint: start,
      maxEvents: 1000,
      maxBytes: 1 << 24,
      maxWaitMs: 300,
      deadline: Date.now() + 10_000,
    });
    const primary = source.rs.primary as string;
    const first = await reader.readBatch(request(null));
    expect(source.rs.failPoints(primary).timesEntered('failGetMoreAfterCursorCheckout')).toBe(1);
    source.rs.stepDown({ stepDownSecs: 1, force: true });
    await source.rs.waitForPrimary(5000);
    await collection.insertMany([4, 5].map((id) => ({ _id: id as never })));
    const second = await reader.readBatch(request(first.resumeToken));
    const ids = [...first.events, ...second.events].map((event) =>
      Number(decodedEvent(event).documentKey?._id?.valueOf()),
    );
    expect(ids).toEqual([1, 2, 3, 4, 5]);
  });
});

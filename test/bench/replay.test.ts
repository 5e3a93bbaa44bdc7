/**
 * The product-alone CDC benchmark's replay server (bench/replay-mongo.ts) serves the product's
 * MongoChangeSource what the simulator serves it: the same events, decoded the same way, the same
 * resume tokens, batch after batch, resuming where each batch ended.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BSON, EJSON } from 'bson';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MixedWriter } from '../../bench/cdc-backlog.js';
import { ReplayMongoServer } from '../../bench/replay-mongo.js';
import { loadRecording, recordChangeStream, type StartPoint } from '../../bench/replay-recording.js';
import { MongoChangeSource } from '../../functions/adapters/mongodb/change-source.js';
import type { ChangeBatch, ChangeResumeRequest } from '../../functions/ports/source.js';
import { type ReplicaSetHandle, startReplicaSet } from '../../simulator/index.js';
import { silentLog } from '../support/log.js';

const NAMESPACE = { db: 'bench', coll: 'events' };
const EVENTS = 300;

let rs: ReplicaSetHandle;
let simulatorClient: MongoClient;
let replay: ReplayMongoServer;
let replayClient: MongoClient;
let start: StartPoint;
let dir: string;

beforeAll(async () => {
  rs = await startReplicaSet({ members: 1, noopIntervalMs: 0 });
  simulatorClient = new MongoClient(rs.uri);
  await simulatorClient.connect();
  const writer = new MixedWriter(simulatorClient.db(NAMESPACE.db).collection(NAMESPACE.coll));
  await writer.seed(50);
  const source = new MongoChangeSource(simulatorClient, { namespaces: [NAMESPACE], log: silentLog });
  const captured = await source.captureStartPoint();
  start = { token: captured.token, clusterTime: captured.clusterTime };
  await writer.write(EVENTS);
  dir = mkdtempSync(join(tmpdir(), 'replay-test-'));
  const file = join(dir, 'events.replay');
  await recordChangeStream(rs.uri, NAMESPACE, start, file);
  replay = new ReplayMongoServer(loadRecording(file));
  replayClient = new MongoClient(await replay.listen(), { serverSelectionTimeoutMS: 5_000 });
  await replayClient.connect();
});

afterAll(async () => {
  await replayClient?.close();
  await replay?.close();
  await simulatorClient?.close();
  await rs?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Reads the whole stream batch after batch, each resuming where the last one ended, as a run does. */
async function drainAll(client: MongoClient, maxEvents: number): Promise<ChangeBatch[]> {
  const source = new MongoChangeSource(client, { namespaces: [NAMESPACE], log: silentLog });
  const batches: ChangeBatch[] = [];
  let resumePoint: ChangeResumeRequest['resumePoint'] = null;
  for (;;) {
    const batch = await source.readBatch({
      resumePoint,
      startPoint: start,
      maxEvents,
      maxBytes: 32 * 1024 * 1024,
      maxWaitMs: 50,
      deadline: Date.now() + 10_000,
    });
    batches.push(batch);
    if (batch.events.length === 0) return batches;
    resumePoint = { token: batch.resumeToken, clusterTime: batch.resumeClusterTime };
  }
}

describe('the CDC replay server', () => {
  it('records every event once, as the simulator sent it', () => {
    const recording = loadRecording(join(dir, 'events.replay'));
    expect(recording.header.events).toBe(EVENTS);
    expect(
      recording.events.every((event) => BSON.calculateObjectSize(BSON.deserialize(event)) === event.length),
    ).toBe(true);
  });

  it.each([1000, 70])(
    'serves MongoChangeSource what the simulator serves it (maxEvents %i)',
    async (maxEvents) => {
      const fromSimulator = await drainAll(simulatorClient, maxEvents);
      const fromReplay = await drainAll(replayClient, maxEvents);
      const view = (batches: ChangeBatch[]) =>
        batches.map((batch) => ({
          events: EJSON.stringify(batch.events, { relaxed: false }),
          count: batch.events.length,
          resumeToken: batch.resumeToken,
          resumeClusterTime: batch.resumeClusterTime,
          bytes: batch.bytes,
          endedBy: batch.endedBy,
        }));
      expect(fromReplay.reduce((sum, batch) => sum + batch.events.length, 0)).toBe(EVENTS);
      expect(view(fromReplay)).toEqual(view(fromSimulator));
    },
  );

  it('refuses a stream the recording does not hold', async () => {
    const other = new MongoChangeSource(replayClient, {
      namespaces: [{ db: NAMESPACE.db, coll: 'elsewhere' }],
      log: silentLog,
    });
    await expect(
      other.readBatch({
        resumePoint: null,
        startPoint: start,
        maxEvents: 10,
        maxBytes: 1_000_000,
        maxWaitMs: 10,
        deadline: Date.now() + 2_000,
      }),
    ).rejects.toThrow(/pipeline differs/);
    expect(replay.stats.unknown).toEqual([]);
  });
});

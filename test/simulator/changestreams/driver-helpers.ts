/**
 * Shared setup of the driver-level change stream tests: a simulated replica set per test file, a
 * real `mongodb` client, and bounded ways to read events (no wall-clock assertions).
 */
import type { ChangeStream, ChangeStreamDocument, Document } from 'mongodb';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll } from 'vitest';
import { type ReplicaSetHandle, startReplicaSet } from '../../../simulator/index.js';

export type AnyEvent = ChangeStreamDocument<Document> & Document;

export interface DriverEnv {
  rs: ReplicaSetHandle;
  client: MongoClient;
}

/** Starts a 3-member set with a fast no-op writer before the file's tests; stops it after. */
export function useReplicaSet(): DriverEnv {
  const env = {} as DriverEnv;
  beforeAll(async () => {
    env.rs = await startReplicaSet({ members: 3, noopIntervalMs: 50 });
    env.client = new MongoClient(env.rs.uri, { serverSelectionTimeoutMS: 10_000 });
    await env.client.connect();
  });
  afterAll(async () => {
    await env.client?.close();
    await env.rs?.stop();
  });
  return env;
}

/** Reads `count` events with a bounded number of short awaits. */
export async function collect(
  stream: ChangeStream<Document>,
  count: number,
  maxPolls = 100,
): Promise<AnyEvent[]> {
  const events: AnyEvent[] = [];
  for (let poll = 0; poll < maxPolls && events.length < count; poll += 1) {
    const event = await stream.tryNext();
    if (event) events.push(event as AnyEvent);
  }
  return events;
}

/** Opens a stream and waits until its cursor exists on the server, so later writes are seen. */
export async function opened(stream: ChangeStream<Document>): Promise<ChangeStream<Document>> {
  await stream.tryNext();
  return stream;
}

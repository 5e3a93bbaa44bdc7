import { MongoClient } from 'mongodb';
import { type ReplicaSetHandle, startReplicaSet } from '../../../simulator/index.js';

export interface SourceFixture {
  rs: ReplicaSetHandle;
  client: MongoClient;
  stop(): Promise<void>;
}

/** A 3-member simulator set on loopback and a driver client; stop() closes both. */
export async function startSource(options: { noopIntervalMs?: number } = {}): Promise<SourceFixture> {
  const rs = await startReplicaSet({ noopIntervalMs: options.noopIntervalMs ?? 0 });
  const client = new MongoClient(rs.uri, { serverSelectionTimeoutMS: 5000 });
  try {
    await client.connect();
  } catch (err) {
    await rs.stop();
    throw err;
  }
  return {
    rs,
    client,
    async stop() {
      await client.close().catch(() => undefined);
      await rs.stop();
    },
  };
}

/** Collects a value's occurrences, to assert "exactly once". */
export function countBy<T>(values: Iterable<T>, key: (value: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const value of values) counts.set(key(value), (counts.get(key(value)) ?? 0) + 1);
  return counts;
}

/** Documents `{ _id, key: 'k<i>' }` for the given `_id`s, `i` their position: a read's keys show its order. */
export function keyedDocuments(ids: readonly unknown[]): never[] {
  return ids.map((_id, i) => ({ _id, key: `k${i}` })) as never[];
}

/** The `_id`s 0 to count - 1. */
export const firstIds = (count: number): number[] => Array.from({ length: count }, (_, i) => i);

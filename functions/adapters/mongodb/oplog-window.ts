/**
 * The oplog window of one replica set: the first and last entries of `local.oplog.rs` in
 * natural (insertion) order. Read on the pipe's own connection for a replica set, and on a
 * short-lived connection to each shard through a mongos (shard-oplog.ts).
 */
import type { Document, MongoClient } from 'mongodb';
import type { OplogWindow } from '../../core/shard-oplog.js';
import { unavailableReason } from './unavailable-reason.js';

/** Reads the window; throws what the server or the driver threw. */
export async function readOplogEdges(client: MongoClient): Promise<OplogWindow> {
  const oplog = client.db('local').collection('oplog.rs');
  const edge = (direction: 1 | -1) =>
    oplog.find({}, { projection: { ts: 1, wall: 1 }, sort: { $natural: direction }, limit: 1 }).next();
  const [first, last] = await Promise.all([edge(1), edge(-1)]);
  const firstTs = timestampSeconds(first);
  const lastTs = timestampSeconds(last);
  if (firstTs === null || lastTs === null)
    return { available: false, reason: 'local.oplog.rs returned no entries' };
  return {
    available: true,
    firstAt: new Date(firstTs * 1000).toISOString(),
    lastAt: new Date(lastTs * 1000).toISOString(),
    seconds: lastTs - firstTs,
  };
}

/** Reads the window, or says why it could not be read. */
export async function readOplogWindow(client: MongoClient): Promise<OplogWindow> {
  try {
    return await readOplogEdges(client);
  } catch (err) {
    return { available: false, reason: unavailableReason(err, 'reading local.oplog.rs') };
  }
}

function timestampSeconds(entry: Document | null): number | null {
  const ts = entry?.ts as { t?: unknown; high?: unknown } | undefined;
  if (typeof ts?.t === 'number') return ts.t;
  if (typeof ts?.high === 'number') return ts.high >>> 0;
  return null;
}

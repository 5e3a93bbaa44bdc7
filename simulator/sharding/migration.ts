/**
 * A chunk migration (`moveChunk`): the recipient inserts the chunk's documents and the donor
 * deletes them, both with `fromMigrate: true` oplog entries, which change streams never show;
 * then the routing table names the new owner. It runs in one step (the real migration's clone,
 * catch-up and critical section collapse into it), so no write lands in between.
 */
import type { Document } from 'bson';
import { ensureCollection } from './ddl.js';
import type { Router } from './router.js';

export interface MigrationResult {
  moved: number;
  from: number;
  to: number;
}

export async function moveChunk(
  router: Router,
  ns: string,
  chunkIndex: number,
  to: number,
): Promise<MigrationResult> {
  const dot = ns.indexOf('.');
  const db = ns.slice(0, dot);
  const name = ns.slice(dot + 1);
  const routing = router.routingOf(ns);
  const chunk = routing.chunks[chunkIndex];
  if (!chunk) throw new RangeError(`${ns} has no chunk ${chunkIndex}`);
  router.shard(to);
  if (chunk.shard === to) return { moved: 0, from: to, to };
  await ensureCollection(router, db, name);
  const donor = router.shard(chunk.shard).deployment;
  const recipient = router.shard(to).deployment;
  const source = donor.catalog.get(db, name);
  const target = recipient.catalog.get(db, name);
  const moving: Document[] = [];
  if (source && target) {
    for (const entry of source.scanNatural()) {
      if (routing.contains(chunk, routing.keyOf(entry.doc._id))) moving.push(entry.doc);
    }
    for (const doc of moving) target.insert(doc);
    recipient.oplog.append(
      moving.map((doc) => ({
        op: 'i',
        ns,
        ui: target.uuid,
        o: doc,
        o2: { _id: doc._id },
        fromMigrate: true,
      })),
    );
    for (const doc of moving) source.remove(doc._id);
    donor.oplog.append(
      moving.map((doc) => ({ op: 'd', ns, ui: source.uuid, o: { _id: doc._id }, fromMigrate: true })),
    );
  }
  routing.assign(chunkIndex, to);
  return { moved: moving.length, from: chunk.shard, to };
}

/**
 * The `config` database as a mongos serves it from the config servers, for the two collections
 * a client reads to learn how a collection is sharded, in the format of MongoDB 5.0 and later
 * (mongodb/mongo src/mongo/s/catalog/type_collection.idl; SERVER-53105, DOCS-14450):
 * - `config.collections`: `{_id: ns, lastmodEpoch, lastmod, timestamp, uuid, key, unique, noBalance}`;
 * - `config.chunks`: `{_id, uuid, min: {_id}, max: {_id}, shard, lastmod, onCurrentShardSince, history}`,
 *   joined to its collection by `uuid` (before 5.0 by `ns`, which the simulator does not serve).
 * MinKey and MaxKey bound the first and last chunk; a hashed key's bounds are NumberLong hashes.
 * Every collection of the simulator is sharded, so every one is listed.
 */
import { type Document, Long, MaxKey, MinKey, ObjectId, Timestamp } from 'bson';
import type { ClusterClock, CommandContext, CommandHandler, CursorRegistry } from '../contract.js';
import { Catalog } from '../storage/catalog.js';
import { Collection } from '../storage/collection.js';
import { storageCommands } from '../storage/commands.js';
import type { Router } from './router.js';
import type { ShardKeyRouting } from './shard-key.js';

const SERVED = new Set(['collections', 'chunks']);
const INTERNAL_DBS = new Set(['admin', 'config', 'local']);

/** When each routing table was created: its epoch and timestamp, stable while it lives. */
const incarnations = new WeakMap<ShardKeyRouting, { epoch: ObjectId; timestamp: Timestamp; at: Date }>();

function incarnationOf(routing: ShardKeyRouting, clock: ClusterClock) {
  let known = incarnations.get(routing);
  if (!known) {
    known = { epoch: new ObjectId(), timestamp: clock.current(), at: new Date() };
    incarnations.set(routing, known);
  }
  return known;
}

/** Serves `find` on `config.collections` and `config.chunks`; every other find goes to `next`. */
export function configFind(
  deps: { router: Router; cursors: CursorRegistry; clock: ClusterClock },
  next: CommandHandler,
): CommandHandler {
  return async (ctx: CommandContext) => {
    const name = String(ctx.body.find);
    if (ctx.db !== 'config' || !SERVED.has(name)) return next(ctx);
    const catalog = new Catalog();
    const collection = new Collection('config', name);
    catalog.attach(collection);
    for (const doc of configDocuments(deps.router, deps.clock, name)) collection.insert(doc);
    const storage = storageCommands({
      catalog,
      cursors: deps.cursors,
      oplog: { append: () => [] },
      clock: deps.clock,
      openChangeStream: () => {
        throw new Error('no change stream on the config database');
      },
    });
    return (storage.find as CommandHandler)(ctx);
  };
}

function configDocuments(router: Router, clock: ClusterClock, name: string): Document[] {
  const documents: Document[] = [];
  for (const ns of shardedNamespaces(router)) {
    const info = router.shards.map((shard) => shard.deployment.catalog.collectionInfo(ns)).find(Boolean);
    if (!info) continue;
    const routing = router.routingOf(ns);
    const incarnation = incarnationOf(routing, clock);
    if (name === 'collections') {
      documents.push({
        _id: ns,
        lastmodEpoch: incarnation.epoch,
        lastmod: incarnation.at,
        timestamp: incarnation.timestamp,
        uuid: info.uuid,
        key: { _id: routing.spec.kind === 'hashed' ? 'hashed' : 1 },
        unique: false,
        noBalance: false,
      });
      continue;
    }
    routing.chunks.forEach((chunk, index) => {
      const shard = router.shard(chunk.shard).name;
      documents.push({
        _id: new ObjectId(),
        uuid: info.uuid,
        min: { _id: chunk.min === undefined ? new MinKey() : keyValue(chunk.min) },
        max: { _id: chunk.max === undefined ? new MaxKey() : keyValue(chunk.max) },
        shard,
        lastmod: new Timestamp({ t: 1, i: index }),
        onCurrentShardSince: incarnation.timestamp,
        history: [{ validAfter: incarnation.timestamp, shard }],
      });
    });
  }
  return documents;
}

/** A hashed bound is a bigint here and a NumberLong on the wire. */
function keyValue(value: unknown): unknown {
  return typeof value === 'bigint' ? Long.fromBigInt(value) : value;
}

function shardedNamespaces(router: Router): string[] {
  const names = new Set<string>();
  for (const shard of router.shards) {
    const catalog = shard.deployment.catalog;
    for (const db of catalog.databaseNames()) {
      if (INTERNAL_DBS.has(db)) continue;
      for (const collection of catalog.collectionsOf(db))
        if (!collection.name.startsWith('system.')) names.add(collection.ns);
    }
  }
  return [...names].sort();
}

/**
 * DDL through a mongos. Every collection is sharded, so it exists on every shard with ONE uuid
 * (as a sharded collection does). The database's primary shard (shard 0) runs the command and
 * logs it normally; the other shards apply it with `fromMigrate: true` oplog entries, as the
 * server's sharding DDL coordinators do, so a change stream reports each DDL event once.
 */
import type { Document } from 'bson';
import type { CommandContext } from '../contract.js';
import { Collection } from '../storage/collection.js';
import { createDraft } from '../storage/write-scope.js';
import type { Router } from './router.js';
import type { ShardLink } from './shard-link.js';

const PRIMARY_SHARD = 0;

/** Creates the collection where it is missing: normally on the primary shard, quietly elsewhere. */
export async function ensureCollection(router: Router, db: string, name: string): Promise<void> {
  const primary = router.shard(PRIMARY_SHARD);
  if (!primary.deployment.catalog.get(db, name)) {
    const reply = await primary.rawCommand(db, { create: name });
    if (reply.ok !== 1 && reply.code !== 48) throw new Error(String(reply.errmsg));
  }
  copyToOtherShards(router, db, name);
}

function copyToOtherShards(router: Router, db: string, name: string): void {
  const source = router.shard(PRIMARY_SHARD).deployment.catalog.get(db, name);
  if (!source) return;
  for (const shard of router.shards) {
    if (shard.index === PRIMARY_SHARD || shard.deployment.catalog.get(db, name)) continue;
    const copy = new Collection(db, name, source.uuid, { ...source.options });
    for (const spec of source.indexes) if (spec.name !== '_id_') copy.addIndex(spec);
    shard.deployment.catalog.attach(copy);
    shard.deployment.oplog.append([{ ...createDraft(copy), fromMigrate: true }]);
  }
}

function quietDrop(shard: ShardLink, db: string, name: string): void {
  const removed = shard.deployment.catalog.remove(db, name);
  if (!removed) return;
  shard.deployment.oplog.append([
    { op: 'c', ns: `${db}.$cmd`, ui: removed.uuid, o: { drop: name }, fromMigrate: true },
  ]);
}

export async function routeCreate(router: Router, ctx: CommandContext): Promise<Document> {
  const reply = await router.send(PRIMARY_SHARD, ctx, ctx.body);
  if (ctx.body.viewOn === undefined) copyToOtherShards(router, ctx.db, String(ctx.body.create));
  return reply;
}

export async function routeDrop(router: Router, ctx: CommandContext): Promise<Document> {
  const name = String(ctx.body.drop);
  const reply = await router.send(PRIMARY_SHARD, ctx, ctx.body);
  for (const shard of router.shards) if (shard.index !== PRIMARY_SHARD) quietDrop(shard, ctx.db, name);
  router.forgetNamespace(`${ctx.db}.${name}`);
  return reply;
}

export async function routeDropDatabase(router: Router, ctx: CommandContext): Promise<Document> {
  const reply = await router.send(PRIMARY_SHARD, ctx, ctx.body);
  for (const shard of router.shards) {
    if (shard.index === PRIMARY_SHARD || !shard.deployment.catalog.hasDatabase(ctx.db)) continue;
    for (const collection of shard.deployment.catalog.collectionsOf(ctx.db)) {
      quietDrop(shard, ctx.db, collection.name);
      router.forgetNamespace(collection.ns);
    }
    shard.deployment.oplog.append([
      { op: 'c', ns: `${ctx.db}.$cmd`, o: { dropDatabase: 1 }, fromMigrate: true },
    ]);
  }
  return reply;
}

/** Index builds run on the primary shard; the other shards get the same indexes quietly. */
export async function routeCreateIndexes(router: Router, ctx: CommandContext): Promise<Document> {
  const name = String(ctx.body.createIndexes);
  const reply = await router.send(PRIMARY_SHARD, ctx, ctx.body);
  const source = router.shard(PRIMARY_SHARD).deployment.catalog.get(ctx.db, name);
  if (!source) return reply;
  copyToOtherShards(router, ctx.db, name);
  for (const shard of router.shards) {
    const target = shard.deployment.catalog.get(ctx.db, name);
    if (!target || target === source) continue;
    for (const spec of source.indexes) {
      if (!target.indexes.some((index) => index.name === spec.name)) target.addIndex(spec);
    }
  }
  return reply;
}

/** Commands every shard must apply (options such as pre-images, renames, index drops). */
export async function routeToAllShards(router: Router, ctx: CommandContext): Promise<Document> {
  const reply = await router.send(PRIMARY_SHARD, ctx, ctx.body);
  for (const shard of router.shards) {
    if (shard.index !== PRIMARY_SHARD) await router.sendRaw(shard.index, ctx, ctx.body);
  }
  if (ctx.name === 'renameCollection') router.forgetNamespace(String(ctx.body.renameCollection));
  return reply;
}

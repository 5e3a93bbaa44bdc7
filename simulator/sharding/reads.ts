/**
 * Reads through a mongos. Outside a transaction they run on the cluster catalog (every shard's
 * documents). Inside one they go to the shards as participants, each reading its own snapshot
 * with the transaction's writes, and the mongos runs the command over what they return.
 */
import type { Document } from 'bson';
import {
  type ClusterClock,
  type CommandContext,
  CommandError,
  type CommandHandler,
  type CursorRegistry,
} from '../contract.js';
import { compareBson } from '../storage/bson-order.js';
import { Catalog } from '../storage/catalog.js';
import { Collection } from '../storage/collection.js';
import { storageCommands } from '../storage/commands.js';
import type { Router } from './router.js';

async function drain(
  router: Router,
  ctx: CommandContext,
  shard: number,
  body: Document,
): Promise<Document[]> {
  const first = await router.send(shard, ctx, body);
  const cursor = first.cursor as Document;
  const documents = [...((cursor.firstBatch as Document[]) ?? [])];
  let id = cursor.id;
  const collection = String(cursor.ns).slice(ctx.db.length + 1);
  for (let round = 0; round < 100_000 && id && String(id) !== '0'; round += 1) {
    const more = await router.send(shard, ctx, {
      getMore: id,
      collection,
      lsid: ctx.body.lsid,
      txnNumber: ctx.body.txnNumber,
      autocommit: ctx.body.autocommit,
    });
    const next = more.cursor as Document;
    documents.push(...((next.nextBatch as Document[]) ?? []));
    id = next.id;
  }
  return documents;
}

export function compareBySort(a: Document, b: Document, sort: Document): number {
  for (const [field, direction] of Object.entries(sort)) {
    const order = compareBson(valueAt(a, field), valueAt(b, field));
    if (order !== 0) return Number(direction) < 0 ? -order : order;
  }
  return 0;
}

function valueAt(doc: Document, path: string): unknown {
  let value: unknown = doc;
  for (const part of path.split('.')) value = (value as Document | undefined)?.[part];
  return value;
}

/** The filter a transactional read can push to the shards (find/distinct filter, leading $match). */
function shardFilter(ctx: CommandContext): Document {
  if (ctx.name === 'find') return (ctx.body.filter as Document | undefined) ?? {};
  if (ctx.name === 'distinct') return (ctx.body.query as Document | undefined) ?? {};
  const first = (ctx.body.pipeline as Document[] | undefined)?.[0];
  return (first?.$match as Document | undefined) ?? {};
}

/**
 * The mongos half of a split read: the documents the targeted shards return for `shardBody`
 * (sent with `ctx`'s session and transaction), gathered into one collection, and the client's
 * command run over them at the mongos as `merge` (the context it runs in there).
 */
async function runOverGathered(
  deps: { router: Router; cursors: CursorRegistry; clock: ClusterClock },
  ctx: CommandContext,
  shards: readonly number[],
  shardBody: Document,
  merge: CommandContext = ctx,
): Promise<Document> {
  const name = String(ctx.body[ctx.name]);
  const gathered = new Catalog();
  const uuid = deps.router.shards
    .map((shard) => shard.deployment.catalog.get(ctx.db, name)?.uuid)
    .find(Boolean);
  const collection = new Collection(ctx.db, name, uuid);
  gathered.attach(collection);
  for (const shard of shards) {
    for (const doc of await drain(deps.router, ctx, shard, shardBody)) collection.insert(doc);
  }
  const storage = storageCommands({
    catalog: gathered,
    cursors: deps.cursors,
    fullFirstBatchKeepsCursor: true,
    oplog: { append: () => [] },
    clock: deps.clock,
    openChangeStream: () => {
      throw new CommandError(
        263,
        'OperationNotSupportedInTransaction',
        'Cannot run a change stream in a transaction',
      );
    },
  });
  return (storage[ctx.name] as CommandHandler)(merge);
}

/**
 * Inside a transaction each participant reads its own snapshot (with the transaction's
 * writes): the mongos gathers the matching documents from the shards it targets, then runs
 * the command itself over them (the merge half of a split pipeline), outside the session.
 */
function transactionalRead(router: Router, cursors: CursorRegistry, clock: ClusterClock): CommandHandler {
  return async (ctx) => {
    const name = String(ctx.body[ctx.name]);
    const filter = shardFilter(ctx);
    const shards = router.targetShards(`${ctx.db}.${name}`, filter);
    const { session: _session, ...outside } = ctx;
    return runOverGathered({ router, cursors, clock }, ctx, shards, { find: name, filter }, outside);
  };
}

/** Fields of a find a shard can apply before the merge without changing its result. */
const PUSHED_DOWN = ['filter', 'hint', 'collation', 'batchSize'];

/**
 * A `find` outside a transaction, sent only to the shards whose chunks its `_id` condition can
 * match, then merged at the mongos (sort, skip, limit, projection applied there). With a sort
 * and a limit each shard returns at most skip + limit documents in that order, as a mongos asks.
 * System and config namespaces, views and unknown collections read the cluster catalog instead.
 */
function targetedFind(
  router: Router,
  cursors: CursorRegistry,
  clock: ClusterClock,
  fallback: CommandHandler,
) {
  return async (ctx: CommandContext): Promise<Document> => {
    const name = String(ctx.body.find);
    const onShards = router.shards.some((shard) => shard.deployment.catalog.get(ctx.db, name));
    if (!onShards || ['admin', 'config', 'local'].includes(ctx.db) || name.startsWith('system.'))
      return fallback(ctx);
    const body: Document = { find: name };
    for (const field of PUSHED_DOWN) if (ctx.body[field] !== undefined) body[field] = ctx.body[field];
    const limit = Math.abs(Number(ctx.body.limit ?? 0));
    if (ctx.body.sort !== undefined && limit > 0) {
      body.sort = ctx.body.sort;
      body.limit = limit + Number(ctx.body.skip ?? 0);
    }
    const shards = router.targetShards(`${ctx.db}.${name}`, body.filter as Document | undefined);
    return runOverGathered({ router, cursors, clock }, ctx, shards, body);
  };
}

/** Wraps the cluster-catalog read so a command inside a transaction goes to the shards instead. */
export function routedRead(
  router: Router,
  cursors: CursorRegistry,
  clock: ClusterClock,
  outsideTransaction: CommandHandler,
): CommandHandler {
  const inTransaction = transactionalRead(router, cursors, clock);
  const find = targetedFind(router, cursors, clock, outsideTransaction);
  return async (ctx) => {
    if (!ctx.session?.inTransaction) {
      if (ctx.name === 'find') return find(ctx);
      const reply = await outsideTransaction(ctx);
      // A mongos merges the shards' distinct values into one ordered set.
      if (ctx.name === 'distinct' && Array.isArray(reply.values))
        return { ...reply, values: [...reply.values].sort(compareBson) };
      return reply;
    }
    return inTransaction(ctx);
  };
}

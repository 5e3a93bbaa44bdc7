/**
 * Reads through a mongos. Outside a transaction they run on the cluster catalog (every shard's
 * documents). Inside one they go to the shards as participants, each reading its own
 * snapshot with the transaction's writes; the mongos drains their cursors and merges them
 * (sorted when the query sorts, shard after shard otherwise) into a cursor of its own.
 */
import { type Document, Long } from 'bson';
import type { CommandContext, CommandHandler, CursorRegistry } from '../contract.js';
import { compareBson } from '../storage/bson-order.js';
import { cursorReply } from '../storage/command-support.js';
import { ArrayCursor } from '../storage/cursors.js';
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

function sortDocuments(documents: Document[], sort: Document | undefined): Document[] {
  if (!sort || Object.keys(sort).length === 0) return documents;
  return [...documents].sort((a, b) => compareBySort(a, b, sort));
}

function transactionalRead(router: Router, cursors: CursorRegistry): CommandHandler {
  return async (ctx) => {
    const name = String(ctx.body[ctx.name]);
    const ns = `${ctx.db}.${name}`;
    const isFind = ctx.name === 'find';
    const target = isFind ? router.targetOf(ns, ctx.body.filter) : undefined;
    const shards = target === undefined ? router.shards.map((shard) => shard.index) : [target];
    const limit = Number(ctx.body.limit ?? 0);
    const skip = Number(ctx.body.skip ?? 0);
    const body: Document = { ...ctx.body, batchSize: undefined };
    if (isFind) {
      delete body.skip;
      if (limit > 0) body.limit = limit + skip;
    } else body.cursor = {};
    let documents: Document[] = [];
    for (const shard of shards) documents.push(...(await drain(router, ctx, shard, body)));
    if (isFind) {
      documents = sortDocuments(documents, ctx.body.sort as Document | undefined).slice(skip);
      if (limit > 0) documents = documents.slice(0, limit);
    }
    const batchSize = isFind ? ctx.body.batchSize : (ctx.body.cursor as Document | undefined)?.batchSize;
    const cursor = cursors.add((id) => new ArrayCursor(id, ns, documents, ctx.session?.lsid)) as ArrayCursor;
    const batch = cursor.takeBatch(batchSize === undefined ? 101 : Number(batchSize));
    if (batch.exhausted) cursors.remove(cursor.id);
    return cursorReply(batch.exhausted ? Long.ZERO : cursor.id, ns, batch, 'firstBatch');
  };
}

/** `distinct` in a transaction: the union of the shards' values. */
function transactionalDistinct(router: Router): CommandHandler {
  return async (ctx) => {
    const values: unknown[] = [];
    for (const shard of router.shards) {
      const shardReply = await router.send(shard.index, ctx, ctx.body);
      for (const value of (shardReply.values as unknown[]) ?? []) {
        if (!values.some((known) => compareBson(known, value) === 0)) values.push(value);
      }
    }
    return { values: values.sort(compareBson), ok: 1 };
  };
}

/** Wraps the cluster-catalog read so a command inside a transaction goes to the shards instead. */
export function routedRead(
  router: Router,
  cursors: CursorRegistry,
  outsideTransaction: CommandHandler,
): CommandHandler {
  const inTransaction = transactionalRead(router, cursors);
  const distinct = transactionalDistinct(router);
  return async (ctx) => {
    if (!ctx.session?.inTransaction) {
      const reply = await outsideTransaction(ctx);
      // A mongos merges the shards' distinct values into one ordered set.
      if (ctx.name === 'distinct' && Array.isArray(reply.values))
        return { ...reply, values: [...reply.values].sort(compareBson) };
      return reply;
    }
    return ctx.name === 'distinct' ? distinct(ctx) : inTransaction(ctx);
  };
}

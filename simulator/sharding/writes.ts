/**
 * Writes through a mongos. Inserts go to the shard owning each `_id` (consecutive documents for
 * one shard in one batch; ordered batches stop at the first error). An update or delete whose
 * filter pins `_id` goes to its shard; a multi write goes to every shard; a single write
 * without `_id` tries the shards in turn until one matches (the server's "write without shard
 * key" protocol finds one document the same way). An upsert that matches nothing gets its
 * `_id` chosen here so the new document lands on the shard that owns it.
 */
import { type Document, ObjectId } from 'bson';
import type { CommandContext } from '../contract.js';
import { ensureCollection } from './ddl.js';
import { compareBySort } from './reads.js';
import type { Router } from './router.js';

interface Tally {
  n: number;
  nModified: number;
  upserted: Document[];
  writeErrors: Document[];
  writeConcernError?: Document;
}

function newTally(): Tally {
  return { n: 0, nModified: 0, upserted: [], writeErrors: [] };
}

function absorb(tally: Tally, reply: Document, indexOf: (shardIndex: number) => number): boolean {
  tally.n += Number(reply.n ?? 0);
  tally.nModified += Number(reply.nModified ?? 0);
  for (const upsert of (reply.upserted as Document[] | undefined) ?? [])
    tally.upserted.push({ ...upsert, index: indexOf(Number(upsert.index)) });
  const errors = (reply.writeErrors as Document[] | undefined) ?? [];
  for (const error of errors) tally.writeErrors.push({ ...error, index: indexOf(Number(error.index)) });
  if (reply.writeConcernError) tally.writeConcernError = reply.writeConcernError as Document;
  return errors.length > 0;
}

function reply(tally: Tally, kind: 'insert' | 'update' | 'delete'): Document {
  const out: Document = { n: tally.n };
  if (kind === 'update') {
    out.nModified = tally.nModified;
    if (tally.upserted.length > 0) out.upserted = tally.upserted;
  }
  if (tally.writeErrors.length > 0) out.writeErrors = tally.writeErrors;
  if (tally.writeConcernError) out.writeConcernError = tally.writeConcernError;
  return { ...out, ok: 1 };
}

export async function routeInsert(router: Router, ctx: CommandContext): Promise<Document> {
  const name = String(ctx.body.insert);
  const ns = `${ctx.db}.${name}`;
  // Inside a transaction the shard creates the collection with the commit, as on a replica set.
  if (!ctx.session?.inTransaction) await ensureCollection(router, ctx.db, name);
  const documents = (ctx.body.documents as Document[]).map((doc) =>
    doc._id === undefined ? { _id: new ObjectId(), ...doc } : doc,
  );
  const ordered = ctx.body.ordered !== false;
  const routing = router.routingOf(ns);
  const batches: { shard: number; indexes: number[] }[] = [];
  documents.forEach((doc, index) => {
    const shard = routing.shardOf(doc._id);
    const open = ordered ? batches.at(-1) : batches.find((batch) => batch.shard === shard);
    if (open && open.shard === shard) open.indexes.push(index);
    else batches.push({ shard, indexes: [index] });
  });
  const tally = newTally();
  for (const batch of batches) {
    const docs = batch.indexes.map((index) => documents[index]);
    const shardReply = await router.send(batch.shard, ctx, {
      ...ctx.body,
      documents: docs,
      stmtIds: batch.indexes,
    });
    const failed = absorb(tally, shardReply, (at) => batch.indexes[at] ?? at);
    if (failed && ordered) break;
  }
  return reply(tally, 'insert');
}

/** The statement with an `_id` for the document an upsert would create. */
function withUpsertId(statement: Document): { statement: Document; id: unknown } {
  const update = statement.u;
  const id = new ObjectId();
  if (Array.isArray(update)) {
    return { statement: { ...statement, u: [...update, { $set: { _id: { $ifNull: ['$_id', id] } } }] }, id };
  }
  const isReplacement = Object.keys(update as Document).every((key) => !key.startsWith('$'));
  if (isReplacement) {
    const given = (update as Document)._id;
    if (given !== undefined) return { statement, id: given };
    return { statement: { ...statement, u: { _id: id, ...(update as Document) } }, id };
  }
  const setOnInsert = { ...((update as Document).$setOnInsert as Document | undefined), _id: id };
  return { statement: { ...statement, u: { ...(update as Document), $setOnInsert: setOnInsert } }, id };
}

type Statement = { filter: Document; multi: boolean; upsert: boolean; body: Document };

/** Runs one update or delete statement on the shards it targets; returns the shard replies. */
async function routeStatement(
  router: Router,
  ctx: CommandContext,
  ns: string,
  statement: Statement,
): Promise<Document[]> {
  const target = router.targetOf(ns, statement.filter);
  if (target !== undefined) return [await router.send(target, ctx, statement.body)];
  const replies: Document[] = [];
  for (const shard of router.shards) {
    const shardReply = await router.send(shard.index, ctx, statement.body);
    replies.push(shardReply);
    if (shardReply.writeErrors) return replies;
    if (!statement.multi && Number(shardReply.n ?? 0) > 0) return replies;
  }
  return replies;
}

export async function routeUpdate(router: Router, ctx: CommandContext): Promise<Document> {
  const name = String(ctx.body.update);
  const ns = `${ctx.db}.${name}`;
  const statements = ctx.body.updates as Document[];
  if (statements.some((statement) => statement.upsert === true)) await ensureCollection(router, ctx.db, name);
  const tally = newTally();
  for (const [index, raw] of statements.entries()) {
    const upsert = raw.upsert === true;
    const pinned = router.targetOf(ns, raw.q) !== undefined;
    const searching = { ...raw, upsert: false };
    const first = upsert && !pinned ? searching : raw;
    const body = { ...ctx.body, updates: [first], stmtIds: [index] };
    let replies = await routeStatement(router, ctx, ns, {
      filter: raw.q,
      multi: raw.multi === true,
      upsert,
      body,
    });
    const matched = replies.some((each) => Number(each.n ?? 0) > 0 || each.writeErrors);
    if (upsert && !pinned && !matched) {
      const { statement, id } = withUpsertId(raw);
      const owner = router.routingOf(ns).shardOf(id);
      const stmtIds = [statements.length + index];
      replies = [await router.send(owner, ctx, { ...ctx.body, updates: [statement], stmtIds })];
    }
    const failed = replies.map((each) => absorb(tally, each, () => index)).some(Boolean);
    if (failed && ctx.body.ordered !== false) break;
  }
  return reply(tally, 'update');
}

export async function routeDelete(router: Router, ctx: CommandContext): Promise<Document> {
  const ns = `${ctx.db}.${String(ctx.body.delete)}`;
  const statements = ctx.body.deletes as Document[];
  const tally = newTally();
  for (const [index, raw] of statements.entries()) {
    const body = { ...ctx.body, deletes: [raw], stmtIds: [index] };
    const statement = { filter: raw.q, multi: Number(raw.limit ?? 0) === 0, upsert: false, body };
    const replies = await routeStatement(router, ctx, ns, statement);
    const failed = replies.map((each) => absorb(tally, each, () => index)).some(Boolean);
    if (failed && ctx.body.ordered !== false) break;
  }
  return reply(tally, 'delete');
}

/**
 * With a sort, the document to modify is the first by that sort across all shards, as the
 * server's two-phase write without shard key finds it; then it is modified by `_id` on its shard.
 */
async function firstBySort(
  router: Router,
  ctx: CommandContext,
  name: string,
): Promise<{ shard: number; id: unknown } | undefined> {
  const sort = ctx.body.sort as Document | undefined;
  if (!sort || Object.keys(sort).length === 0) return undefined;
  let best: { shard: number; doc: Document } | undefined;
  for (const shard of router.shards) {
    const find = { find: name, filter: ctx.body.query ?? {}, sort, limit: 1, singleBatch: true };
    const reply = await router.send(shard.index, ctx, find);
    const doc = ((reply.cursor as Document).firstBatch as Document[])[0];
    if (doc && (!best || compareBySort(doc, best.doc, sort) < 0)) best = { shard: shard.index, doc };
  }
  return best && { shard: best.shard, id: best.doc._id };
}

export async function routeFindAndModify(router: Router, ctx: CommandContext): Promise<Document> {
  const name = String(ctx.body.findAndModify ?? ctx.body.findandmodify);
  const ns = `${ctx.db}.${name}`;
  const target = router.targetOf(ns, ctx.body.query);
  if (target !== undefined) return router.send(target, ctx, ctx.body);
  const sorted = await firstBySort(router, ctx, name);
  if (sorted) {
    const pinned = { ...ctx.body, query: { $and: [ctx.body.query ?? {}, { _id: sorted.id }] } };
    return router.send(sorted.shard, ctx, pinned);
  }
  const upsert = ctx.body.upsert === true;
  for (const shard of router.shards) {
    const shardReply = await router.send(shard.index, ctx, { ...ctx.body, upsert: false, stmtIds: [0] });
    if (Number((shardReply.lastErrorObject as Document | undefined)?.n ?? 0) > 0) return shardReply;
  }
  if (!upsert) return router.send(0, ctx, { ...ctx.body, upsert: false, stmtIds: [0] });
  await ensureCollection(router, ctx.db, name);
  const { statement, id } = withUpsertId({ u: ctx.body.update });
  const owner = router.routingOf(ns).shardOf(id);
  return router.send(owner, ctx, { ...ctx.body, update: statement.u, stmtIds: [1] });
}

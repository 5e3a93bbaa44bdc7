/**
 * The command table of a mongos: admin commands answered by the router itself, reads on the
 * cluster catalog (or the transaction's shards), writes and DDL routed to the shards, and
 * transactions committed on every participant.
 */
import { type Document, Long } from 'bson';
import { type CommandContext, CommandError, type CommandHandler } from '../contract.js';
import type { ClusterClockImpl } from '../oplog/clock.js';
import { isChangeStreamAggregate } from '../server/command-kinds.js';
import type { SessionRegistry } from '../sessions/session-registry.js';
import { cursorReply } from '../storage/command-support.js';
import { type Catalog, storageCommands } from '../storage/index.js';
import { configFind } from './config-database.js';
import { routeCreate, routeCreateIndexes, routeDrop, routeDropDatabase, routeToAllShards } from './ddl.js';
import { openMergedChangeStream } from './merged-change-stream.js';
import { routedRead } from './reads.js';
import type { Router } from './router.js';
import { routeDelete, routeFindAndModify, routeInsert, routeUpdate } from './writes.js';

export interface MongosCommandDeps {
  router: Router;
  catalog: Catalog;
  sessions: SessionRegistry;
  clock: ClusterClockImpl;
}

const READS = [
  'find',
  'count',
  'distinct',
  'listDatabases',
  'listCollections',
  'listIndexes',
  'collStats',
  'dbStats',
  'getMore',
  'killCursors',
];

function readCommands(deps: MongosCommandDeps): Record<string, CommandHandler> {
  const storage = storageCommands({
    catalog: deps.catalog,
    cursors: deps.sessions,
    oplog: {
      append: () => {
        throw new CommandError(
          20,
          'IllegalOperation',
          'writes through the cluster catalog are routed to the shards',
        );
      },
    },
    clock: deps.clock,
    openChangeStream: () => {
      throw new CommandError(20, 'IllegalOperation', 'change streams are merged by the router');
    },
  });
  const handlers: Record<string, CommandHandler> = {};
  for (const name of READS) handlers[name] = storage[name] as CommandHandler;
  for (const name of ['find', 'distinct'])
    handlers[name] = routedRead(deps.router, deps.sessions, deps.clock, storage[name] as CommandHandler);
  const configDeps = { router: deps.router, cursors: deps.sessions, clock: deps.clock };
  handlers.find = configFind(configDeps, handlers.find as CommandHandler);
  const aggregate = routedRead(deps.router, deps.sessions, deps.clock, storage.aggregate as CommandHandler);
  handlers.aggregate = async (ctx) => {
    if (!isChangeStreamAggregate(ctx.name, ctx.body)) return aggregate(ctx);
    const cursor = await openMergedChangeStream(deps.router, ctx, (make) => deps.sessions.add(make));
    const batchSize = (ctx.body.cursor as Document | undefined)?.batchSize;
    const batch = await cursor.nextBatch(batchSize === undefined ? undefined : Number(batchSize), 0);
    return cursorReply(batch.exhausted ? Long.ZERO : cursor.id, cursor.ns, batch, 'firstBatch');
  };
  return handlers;
}

function transactionCommands(router: Router): Record<string, CommandHandler> {
  return {
    commitTransaction: async (ctx) => {
      const participants = router.participants(ctx);
      if (participants.length === 0) return recoverCommitDecision(router, ctx);
      if (participants.length > 1) prepareParticipants(router, ctx, participants);
      let writeConcernError: Document | undefined;
      for (const shard of participants) {
        const reply = await router.send(shard, ctx, ctx.body);
        if (reply.writeConcernError) writeConcernError = reply.writeConcernError as Document;
      }
      return writeConcernError ? { writeConcernError, ok: 1 } : { ok: 1 };
    },
    abortTransaction: async (ctx) => {
      const participants = router.participants(ctx);
      if (participants.length === 0) {
        throw new CommandError(
          251,
          'NoSuchTransaction',
          `Transaction with { txnNumber: ${String(ctx.body.txnNumber)} } has been aborted.`,
        );
      }
      for (const shard of participants) await router.sendRaw(shard, ctx, ctx.body);
      return { ok: 1 };
    },
  };
}

/**
 * Two-phase commit's first phase: every participant must be able to commit before any does;
 * one that cannot aborts, and so do the others (the server's TransactionCoordinator).
 */
function prepareParticipants(router: Router, ctx: CommandContext, participants: number[]): void {
  try {
    for (const shard of participants) router.shard(shard).deployment.transactions.prepare(ctx.session);
  } catch (error) {
    for (const shard of participants) {
      try {
        router.shard(shard).deployment.transactions.abort(ctx.session);
      } catch {}
    }
    throw error;
  }
}

/**
 * A commit this mongos did not route: with a `recoveryToken` it asks the recovery shard for the
 * decision (committed, or NoSuchTransaction); without one the transaction wrote nothing.
 */
function recoverCommitDecision(router: Router, ctx: CommandContext): Document {
  const token = ctx.body.recoveryToken as Document | undefined;
  if (!token) return { ok: 1 };
  const shard = router.shards.find((each) => each.name === token.recoveryShardId);
  const lsid = ctx.session?.lsid;
  const txnNumber = ctx.session?.txnNumber;
  if (shard && lsid && txnNumber && shard.deployment.transactions.stateOf(lsid, txnNumber) === 'committed') {
    return { ok: 1 };
  }
  throw new CommandError(
    251,
    'NoSuchTransaction',
    `Transaction with { txnNumber: ${String(txnNumber)} } has been aborted.`,
  );
}

function writeCommands(router: Router): Record<string, CommandHandler> {
  const bind =
    (route: (router: Router, ctx: CommandContext) => Promise<Document>): CommandHandler =>
    (ctx) =>
      route(router, ctx);
  return {
    insert: bind(routeInsert),
    update: bind(routeUpdate),
    delete: bind(routeDelete),
    findAndModify: bind(routeFindAndModify),
    findandmodify: bind(routeFindAndModify),
    create: bind(routeCreate),
    drop: bind(routeDrop),
    dropDatabase: bind(routeDropDatabase),
    createIndexes: bind(routeCreateIndexes),
    dropIndexes: bind(routeToAllShards),
    deleteIndexes: bind(routeToAllShards),
    collMod: bind(routeToAllShards),
    renameCollection: bind(routeToAllShards),
  };
}

/** Session commands act on the mongos and on every shard (cursors and transactions live there). */
function broadcastSessions(
  router: Router,
  local: Record<string, CommandHandler>,
): Record<string, CommandHandler> {
  const handlers: Record<string, CommandHandler> = {};
  for (const name of ['endSessions', 'killSessions', 'killAllSessions']) {
    handlers[name] = async (ctx) => {
      const reply = await (local[name] as CommandHandler)(ctx);
      for (const shard of router.shards) await shard.rawCommand(ctx.db, { [name]: ctx.body[name] });
      return reply;
    };
  }
  return handlers;
}

export function routerCommands(
  deps: MongosCommandDeps,
  admin: Record<string, CommandHandler>,
): Record<string, CommandHandler> {
  return {
    ...readCommands(deps),
    ...writeCommands(deps.router),
    ...transactionCommands(deps.router),
    ...broadcastSessions(deps.router, admin),
  };
}

/** Replies to commands inside a transaction carry the `recoveryToken` drivers hand back on commit. */
export function withRecoveryToken(router: Router, handler: CommandHandler): CommandHandler {
  return async (ctx) => {
    const reply = await handler(ctx);
    const participants = ctx.session?.inTransaction ? router.participants(ctx) : [];
    if (participants.length === 0) return reply;
    return { ...reply, recoveryToken: { recoveryShardId: router.shard(participants[0] as number).name } };
  };
}

/**
 * The storage part's command table, for the composition root to register:
 * `registry.registerAll(storageCommands({catalog, cursors, oplog, clock, openChangeStream}))`.
 */

import { aggregate } from '../commands/crud/aggregate.js';
import { count, distinct } from '../commands/crud/count-distinct.js';
import { getMore, killCursors } from '../commands/crud/cursor-commands.js';
import { find } from '../commands/crud/find.js';
import { findAndModify } from '../commands/crud/find-and-modify.js';
import { insert, remove, update } from '../commands/crud/write-commands.js';
import { collMod, create, drop, dropDatabase, renameCollection } from '../commands/ddl/collections.js';
import { createIndexes, dropIndexes, listIndexes } from '../commands/ddl/indexes.js';
import { collStats, dbStats, listCollections, listDatabases } from '../commands/ddl/listing.js';
import type { CommandHandler } from '../contract.js';
import type { ResolvedDeps, StorageDeps } from './command-support.js';
import { RetryableWrites } from './retryable-writes.js';
import { TransactionManager } from './transactions.js';

export function storageCommands(deps: StorageDeps): Record<string, CommandHandler> {
  const resolved: ResolvedDeps = {
    ...deps,
    transactions: deps.transactions ?? new TransactionManager(deps.catalog, deps.oplog),
  };
  const retryable = deps.retryableWrites ?? new RetryableWrites();
  const bind =
    (
      handler: (deps: ResolvedDeps, ctx: Parameters<CommandHandler>[0]) => ReturnType<CommandHandler>,
    ): CommandHandler =>
    (ctx) =>
      handler(resolved, ctx);
  return {
    insert: retryable.wrap(bind(insert)),
    update: retryable.wrap(bind(update)),
    delete: retryable.wrap(bind(remove)),
    find: bind(find),
    getMore: bind(getMore),
    killCursors: bind(killCursors),
    findAndModify: retryable.wrap(bind(findAndModify)),
    findandmodify: retryable.wrap(bind(findAndModify)),
    aggregate: bind(aggregate),
    count: bind(count),
    distinct: bind(distinct),
    listDatabases: bind(listDatabases),
    listCollections: bind(listCollections),
    listIndexes: bind(listIndexes),
    create: bind(create),
    createIndexes: bind(createIndexes),
    dropIndexes: bind(dropIndexes),
    deleteIndexes: bind(dropIndexes),
    drop: bind(drop),
    dropDatabase: bind(dropDatabase),
    renameCollection: bind(renameCollection),
    collMod: bind(collMod),
    collStats: bind(collStats),
    dbStats: bind(dbStats),
    commitTransaction: (ctx) => {
      resolved.transactions.commit(ctx.session);
      return { ok: 1 };
    },
    abortTransaction: (ctx) => {
      resolved.transactions.abort(ctx.session);
      return { ok: 1 };
    },
  };
}

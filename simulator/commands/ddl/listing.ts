/** listDatabases, listCollections, dbStats and collStats. */
import type { Document } from 'bson';
import { Query } from 'mingo';
import { type CommandContext, CommandError } from '../../contract.js';
import { validateDbName } from '../../storage/catalog.js';
import type { Collection } from '../../storage/collection.js';
import {
  boolArg,
  documentArg,
  firstBatchSize,
  numberArg,
  type ResolvedDeps,
  targetCollection,
} from '../../storage/command-support.js';
import { ArrayCursor, DEFAULT_FIRST_BATCH } from '../../storage/cursors.js';
import { ID_INDEX } from '../../storage/index-keys.js';
import { databaseStats, sizeOnDisk, storageStats } from '../../storage/stats.js';
import { toPlain } from '../../storage/typed-values.js';
import { assertNotView, type ViewDefinition, viewsOf } from '../../storage/views.js';
import { openCursor } from '../crud/find.js';
import { OPLOG_NS, oplogStats, readableOplog } from '../crud/oplog-view.js';

/** The internal databases a real replica set always lists, with typical sizes. */
const INTERNAL_DATABASES: [string, number][] = [
  ['admin', 40960],
  ['config', 110592],
  ['local', 438272],
];

function matching(filter: Document | undefined, docs: Document[]): Document[] {
  if (!filter || Object.keys(filter).length === 0) return docs;
  const query = new Query(toPlain(filter));
  return docs.filter((doc) => query.test(toPlain(doc)));
}

export function listDatabases(deps: ResolvedDeps, ctx: CommandContext): Document {
  if (ctx.db !== 'admin') {
    throw new CommandError(13, 'Unauthorized', 'listDatabases may only be run against the admin database.');
  }
  const nameOnly = boolArg(ctx.body, 'nameOnly', false);
  const user = deps.catalog.databaseNames().map((name) => {
    const size = sizeOnDisk(deps.catalog.collectionsOf(name));
    return { name, sizeOnDisk: size, empty: size === 0 };
  });
  const internal = INTERNAL_DATABASES.filter(([name]) => !deps.catalog.hasDatabase(name)).map(
    ([name, size]) => ({
      name,
      sizeOnDisk: size,
      empty: false,
    }),
  );
  const all = matching(
    documentArg(ctx.body, 'filter'),
    [...internal, ...user].sort((a, b) => a.name.localeCompare(b.name)),
  );
  if (nameOnly) return { databases: all.map((db) => ({ name: db.name })), ok: 1 };
  const totalSize = all.reduce((sum, db) => sum + Number(db.sizeOnDisk), 0);
  return { databases: all, totalSize, totalSizeMb: Math.trunc(totalSize / (1024 * 1024)), ok: 1 };
}

function describeCollection(collection: Collection): Document {
  return {
    name: collection.name,
    type: 'collection',
    options: { ...collection.options },
    info: { readOnly: false, uuid: collection.uuid },
    idIndex: { ...ID_INDEX },
  };
}

function describeView(view: ViewDefinition): Document {
  return {
    name: view.name,
    type: 'view',
    options: { viewOn: view.viewOn, pipeline: view.pipeline },
    info: { readOnly: true },
  };
}

export async function listCollections(deps: ResolvedDeps, ctx: CommandContext): Promise<Document> {
  validateDbName(ctx.db);
  const nameOnly = boolArg(ctx.body, 'nameOnly', false);
  const described = [
    ...deps.catalog.collectionsOf(ctx.db).map(describeCollection),
    ...viewsOf(deps.catalog, ctx.db).map(describeView),
  ];
  const selected = matching(documentArg(ctx.body, 'filter'), described).map((doc) =>
    nameOnly ? { name: doc.name, type: doc.type } : doc,
  );
  return openCursor(
    deps,
    (id) => new ArrayCursor(id, `${ctx.db}.$cmd.listCollections`, selected, ctx.session?.lsid),
    firstBatchSize(ctx.body, DEFAULT_FIRST_BATCH),
    false,
  );
}

function scaleArg(body: Document): number {
  const scale = numberArg(body, 'scale', 1);
  if (scale < 1) throw new CommandError(2, 'BadValue', 'Scale factor must be greater than zero');
  return scale;
}

export function dbStats(deps: ResolvedDeps, ctx: CommandContext): Document {
  validateDbName(ctx.db);
  return {
    ...databaseStats(ctx.db, deps.catalog.collectionsOf(ctx.db), scaleArg(ctx.body)),
    views: viewsOf(deps.catalog, ctx.db).length,
  };
}

export function collStats(deps: ResolvedDeps, ctx: CommandContext): Document {
  const name = targetCollection(ctx);
  const oplog = `${ctx.db}.${name}` === OPLOG_NS ? readableOplog(deps.oplog) : undefined;
  if (oplog) return oplogStats(oplog);
  assertNotView(deps.catalog, ctx.db, name);
  const collection = deps.catalog.get(ctx.db, name);
  if (!collection)
    throw new CommandError(26, 'NamespaceNotFound', `Collection [${ctx.db}.${name}] not found.`);
  return { ns: collection.ns, ...storageStats(collection, scaleArg(ctx.body)), ok: 1 };
}

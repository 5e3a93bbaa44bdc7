/** create, drop, dropDatabase, renameCollection and collMod, each with its `c` oplog entry. */
import type { Document } from 'bson';
import { type CommandContext, CommandError } from '../../contract.js';
import { bsonEquals } from '../../storage/bson-order.js';
import { parseNamespace } from '../../storage/catalog.js';
import type { Collection, CollectionOptions } from '../../storage/collection.js';
import { boolArg, documentArg, type ResolvedDeps, targetCollection } from '../../storage/command-support.js';
import { createDraft } from '../../storage/write-scope.js';

const UNSUPPORTED_CREATE_OPTIONS = ['viewOn', 'timeseries', 'clusteredIndex'];
const IGNORED_OPTIONS = new Set([
  'writeConcern',
  'lsid',
  'txnNumber',
  '$db',
  '$clusterTime',
  '$readPreference',
  'comment',
]);

function sortedOptions(options: CollectionOptions): Document {
  return Object.fromEntries(Object.entries(options).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export function create(deps: ResolvedDeps, ctx: CommandContext): Document {
  const name = targetCollection(ctx);
  for (const option of UNSUPPORTED_CREATE_OPTIONS) {
    if (ctx.body[option] !== undefined) {
      throw new CommandError(72, 'InvalidOptions', `the simulator does not support '${option}' collections`);
    }
  }
  const options: CollectionOptions = {};
  for (const [key, value] of Object.entries(ctx.body)) {
    if (key === ctx.name || IGNORED_OPTIONS.has(key)) continue;
    options[key] = value;
  }
  if (options.capped && options.size === undefined) {
    throw new CommandError(
      72,
      'InvalidOptions',
      'the size field is required when creating a capped collection',
    );
  }
  if (options.capped) {
    options.size = Number((options.size as { valueOf(): unknown }).valueOf());
    if (options.max !== undefined) options.max = Number((options.max as { valueOf(): unknown }).valueOf());
  }
  const existing = deps.catalog.get(ctx.db, name);
  if (existing) {
    // Since 7.0 (SERVER-64416) creating an existing collection with the same options succeeds.
    if (bsonEquals(sortedOptions(existing.options), sortedOptions(options))) return { ok: 1 };
    throw new CommandError(
      48,
      'NamespaceExists',
      `Collection ${ctx.db}.${name} already exists with different options.`,
    );
  }
  const collection = deps.catalog.create(ctx.db, name, options);
  deps.oplog.append([createDraft(collection)]);
  return { ok: 1 };
}

/** Drops one collection and writes its `drop` entry; returns how many indexes it had. */
export function dropCollection(deps: ResolvedDeps, collection: Collection): number {
  deps.catalog.remove(collection.db, collection.name);
  deps.oplog.append([
    {
      op: 'c',
      ns: `${collection.db}.$cmd`,
      ui: collection.uuid,
      o: { drop: collection.name },
      o2: { numRecords: collection.count },
    },
  ]);
  return collection.indexes.length;
}

export function drop(deps: ResolvedDeps, ctx: CommandContext): Document {
  const name = targetCollection(ctx);
  const collection = deps.catalog.get(ctx.db, name);
  if (!collection) return { ok: 1 };
  const nIndexesWas = dropCollection(deps, collection);
  return { nIndexesWas, ns: collection.ns, ok: 1 };
}

export function dropDatabase(deps: ResolvedDeps, ctx: CommandContext): Document {
  if (ctx.db === 'admin' || ctx.db === 'local' || ctx.db === 'config') {
    throw new CommandError(20, 'IllegalOperation', `Dropping the '${ctx.db}' database is prohibited.`);
  }
  if (!deps.catalog.hasDatabase(ctx.db)) return { ok: 1 };
  for (const collection of deps.catalog.collectionsOf(ctx.db)) dropCollection(deps, collection);
  deps.oplog.append([{ op: 'c', ns: `${ctx.db}.$cmd`, o: { dropDatabase: 1 } }]);
  return { dropped: ctx.db, ok: 1 };
}

/** Moves a collection to a new namespace, dropping an existing target when asked. */
export function renameNamespace(deps: ResolvedDeps, from: string, to: string, dropTarget: boolean): void {
  const source = deps.catalog.getByNs(from);
  if (!source) throw new CommandError(26, 'NamespaceNotFound', `Source collection ${from} does not exist`);
  const targetNs = parseNamespace(to);
  const target = deps.catalog.get(targetNs.db, targetNs.collection);
  if (target === source)
    throw new CommandError(20, 'IllegalOperation', "Can't rename a collection to itself");
  if (target && !dropTarget) throw new CommandError(48, 'NamespaceExists', 'target namespace exists');
  if (target) deps.catalog.remove(target.db, target.name);
  deps.catalog.remove(source.db, source.name);
  const o: Document = { renameCollection: from, to, stayTemp: false };
  if (target) o.dropTarget = target.uuid;
  source.db = targetNs.db;
  source.name = targetNs.collection;
  deps.catalog.attach(source);
  deps.oplog.append([{ op: 'c', ns: `${parseNamespace(from).db}.$cmd`, ui: source.uuid, o }]);
}

export function renameCollection(deps: ResolvedDeps, ctx: CommandContext): Document {
  if (ctx.db !== 'admin') {
    throw new CommandError(
      13,
      'Unauthorized',
      'renameCollection may only be run against the admin database.',
    );
  }
  const from = ctx.body.renameCollection;
  const to = ctx.body.to;
  if (typeof from !== 'string' || typeof to !== 'string') {
    throw new CommandError(
      73,
      'InvalidNamespace',
      'renameCollection needs string source and target namespaces',
    );
  }
  renameNamespace(deps, from, to, boolArg(ctx.body, 'dropTarget', false));
  return { ok: 1 };
}

export function collMod(deps: ResolvedDeps, ctx: CommandContext): Document {
  const name = targetCollection(ctx);
  const collection = deps.catalog.get(ctx.db, name);
  if (!collection) throw new CommandError(26, 'NamespaceNotFound', `ns does not exist: ${ctx.db}.${name}`);
  const before = { ...collection.options };
  const change: Document = { collMod: name };
  const images = documentArg(ctx.body, 'changeStreamPreAndPostImages');
  if (images) {
    const enabled = boolArg(images, 'enabled', false);
    collection.options = { ...collection.options, changeStreamPreAndPostImages: { enabled } };
    change.changeStreamPreAndPostImages = { enabled };
  }
  for (const option of ['validator', 'validationLevel', 'validationAction', 'expireAfterSeconds']) {
    if (ctx.body[option] !== undefined) {
      collection.options = { ...collection.options, [option]: ctx.body[option] };
      change[option] = ctx.body[option];
    }
  }
  deps.oplog.append([
    {
      op: 'c',
      ns: `${ctx.db}.$cmd`,
      ui: collection.uuid,
      o: change,
      o2: { collectionOptions_old: { uuid: collection.uuid, ...before } },
    },
  ]);
  return { ok: 1 };
}

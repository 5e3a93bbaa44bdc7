/**
 * create, drop, dropDatabase, renameCollection and collMod, each with its `c` oplog entry. Views
 * (`create` with `viewOn`) live as documents of `<db>.system.views`, so their DDL is logged as
 * inserts, updates and deletes there, as on the server.
 */
import type { Document } from 'bson';
import { type CommandContext, CommandError } from '../../contract.js';
import { bsonEquals } from '../../storage/bson-order.js';
import { parseNamespace } from '../../storage/catalog.js';
import type { Collection, CollectionOptions } from '../../storage/collection.js';
import {
  boolArg,
  documentArg,
  type ResolvedDeps,
  targetCollection,
  typeName,
  writeScope,
} from '../../storage/command-support.js';
import {
  SYSTEM_VIEWS,
  type ViewDefinition,
  validateViewGraph,
  validateViewPipeline,
  viewDefinition,
} from '../../storage/views.js';
import { DirectWriteScope } from '../../storage/write-scope.js';
import { deleteDocument, insertDocument, updateDocument } from '../../storage/writes.js';

const UNSUPPORTED_CREATE_OPTIONS = ['timeseries', 'clusteredIndex'];
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

function viewOnArg(ctx: CommandContext, value: unknown): string {
  if (typeof value !== 'string') {
    throw new CommandError(
      14,
      'TypeMismatch',
      `BSON field '${ctx.name}.viewOn' is the wrong type '${typeName(value)}', expected type 'string'`,
    );
  }
  if (value.length === 0) throw new CommandError(2, 'BadValue', "'viewOn' cannot be empty");
  if (value.includes('$') || value.includes('\0') || value.startsWith('.')) {
    throw new CommandError(73, 'InvalidNamespace', `invalid name for 'viewOn': ${value}`);
  }
  return value;
}

function pipelineArg(ctx: CommandContext, name: string, value: unknown): Document[] {
  if (!Array.isArray(value)) {
    throw new CommandError(
      14,
      'TypeMismatch',
      `BSON field '${ctx.name}.pipeline' is the wrong type '${typeName(value)}', expected type 'array'`,
    );
  }
  return validateViewPipeline(ctx.db, name, value);
}

/** Checks a view definition and writes it to `system.views` (insert, or replace when it exists). */
function storeView(deps: ResolvedDeps, db: string, view: ViewDefinition): void {
  validateViewGraph(deps.catalog, db, view);
  const scope = new DirectWriteScope(deps.catalog, deps.oplog);
  const systemViews = scope.ensureCollection(db, SYSTEM_VIEWS);
  const doc = { _id: `${db}.${view.name}`, viewOn: view.viewOn, pipeline: view.pipeline };
  const existing = systemViews.getById(doc._id);
  if (existing) updateDocument(scope, systemViews, existing, doc);
  else insertDocument(scope, systemViews, doc);
}

function createView(deps: ResolvedDeps, ctx: CommandContext, name: string): Document {
  if (ctx.session?.inTransaction) {
    throw new CommandError(
      263,
      'OperationNotSupportedInTransaction',
      'Cannot create a view in a multi-document transaction.',
    );
  }
  for (const key of Object.keys(ctx.body)) {
    if (key === ctx.name || key === 'viewOn' || key === 'pipeline' || IGNORED_OPTIONS.has(key)) continue;
    const reason =
      key === 'collation' ? 'the simulator does not support collations on views' : 'not supported with views';
    throw new CommandError(72, 'InvalidOptions', `option '${key}': ${reason}`);
  }
  const view: ViewDefinition = {
    name,
    viewOn: viewOnArg(ctx, ctx.body.viewOn),
    pipeline: ctx.body.pipeline === undefined ? [] : pipelineArg(ctx, name, ctx.body.pipeline),
  };
  if (deps.catalog.get(ctx.db, name)) {
    throw new CommandError(48, 'NamespaceExists', `Collection ${ctx.db}.${name} already exists.`);
  }
  const existing = viewDefinition(deps.catalog, ctx.db, name);
  if (existing) {
    // As for collections, the same definition again succeeds.
    if (existing.viewOn === view.viewOn && bsonEquals(existing.pipeline, view.pipeline)) return { ok: 1 };
    throw new CommandError(
      48,
      'NamespaceExists',
      `Collection ${ctx.db}.${name} already exists with different options.`,
    );
  }
  storeView(deps, ctx.db, view);
  return { ok: 1 };
}

export function create(deps: ResolvedDeps, ctx: CommandContext): Document {
  const name = targetCollection(ctx);
  if (ctx.body.viewOn !== undefined) return createView(deps, ctx, name);
  if (ctx.body.pipeline !== undefined) {
    throw new CommandError(2, 'BadValue', "'pipeline' requires 'viewOn' to also be specified");
  }
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
  if (viewDefinition(deps.catalog, ctx.db, name)) {
    throw new CommandError(48, 'NamespaceExists', `Namespace ${ctx.db}.${name} already exists as a view.`);
  }
  const scope = writeScope(deps, ctx);
  const existing = scope.collection(ctx.db, name);
  if (existing) {
    // Since 7.0 (SERVER-64416) creating an existing collection with the same options succeeds.
    if (bsonEquals(sortedOptions(existing.options), sortedOptions(options))) return { ok: 1 };
    throw new CommandError(
      48,
      'NamespaceExists',
      `Collection ${ctx.db}.${name} already exists with different options.`,
    );
  }
  scope.createCollection(ctx.db, name, options);
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
  const systemViews = deps.catalog.get(ctx.db, SYSTEM_VIEWS);
  const viewDoc = collection ? undefined : systemViews?.getById(`${ctx.db}.${name}`);
  if (systemViews && viewDoc) {
    deleteDocument(new DirectWriteScope(deps.catalog, deps.oplog), systemViews, viewDoc);
    return { ns: `${ctx.db}.${name}`, ok: 1 };
  }
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
  const sourceNs = parseNamespace(from);
  if (!source && viewDefinition(deps.catalog, sourceNs.db, sourceNs.collection)) {
    throw new CommandError(166, 'CommandNotSupportedOnView', `cannot rename view: ${from}`);
  }
  if (!source) throw new CommandError(26, 'NamespaceNotFound', `Source collection ${from} does not exist`);
  const targetNs = parseNamespace(to);
  if (viewDefinition(deps.catalog, targetNs.db, targetNs.collection)) {
    throw new CommandError(48, 'NamespaceExists', `a view already exists with that name: ${to}`);
  }
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

/** collMod on a view: a new `viewOn` and/or `pipeline`, written over its `system.views` document. */
function modifyView(deps: ResolvedDeps, ctx: CommandContext, view: ViewDefinition): Document {
  for (const key of Object.keys(ctx.body)) {
    if (key === ctx.name || key === 'viewOn' || key === 'pipeline' || IGNORED_OPTIONS.has(key)) continue;
    throw new CommandError(72, 'InvalidOptions', `option not supported on a view: ${key}`);
  }
  storeView(deps, ctx.db, {
    name: view.name,
    viewOn: ctx.body.viewOn === undefined ? view.viewOn : viewOnArg(ctx, ctx.body.viewOn),
    pipeline:
      ctx.body.pipeline === undefined ? view.pipeline : pipelineArg(ctx, view.name, ctx.body.pipeline),
  });
  return { ok: 1 };
}

export function collMod(deps: ResolvedDeps, ctx: CommandContext): Document {
  const name = targetCollection(ctx);
  const view = viewDefinition(deps.catalog, ctx.db, name);
  if (view) return modifyView(deps, ctx, view);
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

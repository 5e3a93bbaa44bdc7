/**
 * createIndexes / dropIndexes / listIndexes. On a non-empty collection an index build is logged
 * as `startIndexBuild` then `commitIndexBuild` (or `abortIndexBuild` when a unique index meets
 * duplicate keys), on an empty one as plain `createIndexes` entries, as the server does. Views
 * have no indexes: all three fail on one with 166 CommandNotSupportedOnView.
 */
import { type Document, UUID } from 'bson';
import { type CommandContext, CommandError } from '../../contract.js';
import { bsonEquals } from '../../storage/bson-order.js';
import type { Collection } from '../../storage/collection.js';
import {
  arrayArg,
  firstBatchSize,
  type ResolvedDeps,
  targetCollection,
  writeScope,
} from '../../storage/command-support.js';
import { ArrayCursor, DEFAULT_FIRST_BATCH } from '../../storage/cursors.js';
import { duplicateKeyError, type IndexSpec, validateIndexSpec } from '../../storage/index-keys.js';
import { isPlainObject } from '../../storage/typed-values.js';
import { assertNotView } from '../../storage/views.js';
import { createDraft } from '../../storage/write-scope.js';
import { openCursor } from '../crud/find.js';

/** Drops indexes that already exist identically; rejects same-name or same-key conflicts. */
function newIndexes(collection: Collection, requested: IndexSpec[]): IndexSpec[] {
  const fresh: IndexSpec[] = [];
  for (const spec of requested) {
    const sameName = collection.indexes.find((index) => index.name === spec.name);
    if (sameName) {
      if (bsonEquals(sameName.key, spec.key) && Boolean(sameName.unique) === Boolean(spec.unique)) continue;
      throw new CommandError(
        86,
        'IndexKeySpecsConflict',
        `An existing index has the same name as the requested index. When index names are not specified, they are auto generated and can cause conflicts. Please refer to our documentation. Requested index: ${JSON.stringify(spec)}, existing index: ${JSON.stringify(sameName)}`,
      );
    }
    const sameKey = collection.indexes.find((index) => bsonEquals(index.key, spec.key));
    if (sameKey && Boolean(sameKey.unique) === Boolean(spec.unique)) {
      throw new CommandError(
        85,
        'IndexOptionsConflict',
        `Index already exists with a different name: ${sameKey.name}`,
      );
    }
    fresh.push(spec);
  }
  return fresh;
}

export function createIndexes(deps: ResolvedDeps, ctx: CommandContext): Document {
  const name = targetCollection(ctx);
  const requested = arrayArg(ctx.body, 'indexes').map(validateIndexSpec);
  if (requested.length === 0)
    throw new CommandError(2, 'BadValue', 'Must specify at least one index to create');
  assertNotView(deps.catalog, ctx.db, name);
  if (ctx.session?.inTransaction) return createIndexesInTransaction(deps, ctx, name, requested);
  let collection = deps.catalog.get(ctx.db, name);
  const createdCollectionAutomatically = !collection;
  if (!collection) {
    collection = deps.catalog.create(ctx.db, name);
    deps.oplog.append([createDraft(collection)]);
  }
  const numIndexesBefore = collection.indexes.length;
  const specs = newIndexes(collection, requested);
  if (specs.length === 0) {
    return { numIndexesBefore, numIndexesAfter: numIndexesBefore, note: 'all indexes already exist', ok: 1 };
  }
  const cmdNs = `${ctx.db}.$cmd`;
  if (collection.count === 0) {
    for (const spec of specs) {
      collection.addIndex(spec);
      deps.oplog.append([{ op: 'c', ns: cmdNs, ui: collection.uuid, o: { createIndexes: name, ...spec } }]);
    }
  } else {
    const indexBuildUUID = new UUID();
    const header = { indexBuildUUID, indexes: specs };
    deps.oplog.append([{ op: 'c', ns: cmdNs, ui: collection.uuid, o: { startIndexBuild: name, ...header } }]);
    for (const spec of specs.filter((index) => index.unique)) {
      const duplicate = collection.findDuplicate(spec);
      if (!duplicate) continue;
      const error = duplicateKeyError(collection.ns, spec, duplicate);
      const cause = {
        ok: 0,
        code: error.code,
        codeName: error.codeName,
        errmsg: error.message,
        ...error.extra,
      };
      deps.oplog.append([
        { op: 'c', ns: cmdNs, ui: collection.uuid, o: { abortIndexBuild: name, ...header, cause } },
      ]);
      throw error;
    }
    for (const spec of specs) collection.addIndex(spec);
    deps.oplog.append([
      { op: 'c', ns: cmdNs, ui: collection.uuid, o: { commitIndexBuild: name, ...header } },
    ]);
  }
  return {
    numIndexesBefore,
    numIndexesAfter: collection.indexes.length,
    createdCollectionAutomatically,
    commitQuorum: 'votingMembers',
    ok: 1,
  };
}

/**
 * In a transaction the server builds indexes only on a collection the transaction creates (or
 * has created); their `createIndexes` entries join its applyOps.
 */
function createIndexesInTransaction(
  deps: ResolvedDeps,
  ctx: CommandContext,
  name: string,
  requested: IndexSpec[],
): Document {
  const scope = writeScope(deps, ctx);
  const committed = deps.catalog.get(ctx.db, name);
  if (committed) {
    throw new CommandError(
      263,
      'OperationNotSupportedInTransaction',
      `Cannot create new indexes on existing collection ${ctx.db}.${name} in a multi-document transaction.`,
    );
  }
  const createdCollectionAutomatically = scope.collection(ctx.db, name) === undefined;
  const collection = scope.ensureCollection(ctx.db, name);
  const numIndexesBefore = collection.indexes.length;
  for (const spec of newIndexes(collection, requested)) {
    collection.addIndex(spec);
    scope.emit([{ op: 'c', ns: `${ctx.db}.$cmd`, ui: collection.uuid, o: { createIndexes: name, ...spec } }]);
  }
  return {
    numIndexesBefore,
    numIndexesAfter: collection.indexes.length,
    createdCollectionAutomatically,
    ok: 1,
  };
}

function indexesToDrop(collection: Collection, selector: unknown): IndexSpec[] {
  const nonId = collection.indexes.filter((index) => index.name !== '_id_');
  if (selector === '*') return nonId;
  const names = Array.isArray(selector) ? selector : [selector];
  return names.map((wanted) => {
    if (wanted === '_id_' || (isPlainObject(wanted) && bsonEquals(wanted, { _id: 1 }))) {
      throw new CommandError(72, 'InvalidOptions', 'cannot drop _id index');
    }
    const found =
      typeof wanted === 'string'
        ? collection.indexes.find((index) => index.name === wanted)
        : collection.indexes.find((index) => bsonEquals(index.key, wanted));
    if (!found) {
      const label = typeof wanted === 'string' ? wanted : JSON.stringify(wanted);
      throw new CommandError(27, 'IndexNotFound', `index not found with name [${label}]`);
    }
    return found;
  });
}

export function dropIndexes(deps: ResolvedDeps, ctx: CommandContext): Document {
  const name = targetCollection(ctx);
  assertNotView(deps.catalog, ctx.db, name);
  const collection = deps.catalog.get(ctx.db, name);
  if (!collection) throw new CommandError(26, 'NamespaceNotFound', `ns not found ${ctx.db}.${name}`);
  const nIndexesWas = collection.indexes.length;
  for (const spec of indexesToDrop(collection, ctx.body.index)) {
    collection.dropIndex(spec.name);
    deps.oplog.append([
      {
        op: 'c',
        ns: `${ctx.db}.$cmd`,
        ui: collection.uuid,
        o: { dropIndexes: name, index: spec.name },
        o2: spec,
      },
    ]);
  }
  const reply: Document = { nIndexesWas, ok: 1 };
  if (ctx.body.index === '*') reply.msg = 'non-_id indexes dropped for collection';
  return reply;
}

export async function listIndexes(deps: ResolvedDeps, ctx: CommandContext): Promise<Document> {
  const name = targetCollection(ctx);
  assertNotView(deps.catalog, ctx.db, name);
  const collection = deps.catalog.get(ctx.db, name);
  if (!collection) throw new CommandError(26, 'NamespaceNotFound', `ns does not exist: ${ctx.db}.${name}`);
  const specs = collection.indexes.map((spec) => ({ ...spec }));
  const ns = `${ctx.db}.$cmd.listIndexes.${name}`;
  return openCursor(
    deps,
    (id) => new ArrayCursor(id, ns, specs, ctx.session?.lsid),
    firstBatchSize(ctx.body, DEFAULT_FIRST_BATCH),
    false,
  );
}

/**
 * `$out` and `$merge` as the last aggregation stage. `$out` fills a temporary collection and
 * renames it over the target (dropping it), like the server; `$merge` writes per document.
 */
import type { Document } from 'bson';
import { type CommandContext, CommandError } from '../../contract.js';
import type { ResolvedDeps } from '../../storage/command-support.js';
import { isPlainObject } from '../../storage/typed-values.js';
import { assertNotView } from '../../storage/views.js';
import { DirectWriteScope } from '../../storage/write-scope.js';
import { insertDocument, updateDocument } from '../../storage/writes.js';
import { renameNamespace } from '../ddl/collections.js';

function targetNamespace(ctx: CommandContext, spec: unknown, field: string): { db: string; coll: string } {
  if (typeof spec === 'string') return { db: ctx.db, coll: spec };
  if (isPlainObject(spec) && typeof spec.coll === 'string') {
    return { db: typeof spec.db === 'string' ? spec.db : ctx.db, coll: spec.coll };
  }
  throw new CommandError(16990, 'Location16990', `${field} only supports a string or {db, coll} argument`);
}

export function runOut(deps: ResolvedDeps, ctx: CommandContext, stage: Document, results: Document[]): void {
  if (ctx.session?.inTransaction) {
    throw new CommandError(
      263,
      'OperationNotSupportedInTransaction',
      '$out and $merge cannot be used in a transaction',
    );
  }
  const scope = new DirectWriteScope(deps.catalog, deps.oplog);
  if ('$out' in stage) {
    const target = targetNamespace(ctx, stage.$out, '$out');
    assertNotView(deps.catalog, target.db, target.coll);
    const tempName = `tmp.agg_out.${crypto.randomUUID()}`;
    const temp = scope.ensureCollection(target.db, tempName);
    const existing = deps.catalog.get(target.db, target.coll);
    for (const spec of existing?.indexes ?? []) if (spec.name !== '_id_') temp.addIndex(spec);
    for (const doc of results) insertDocument(scope, temp, doc);
    renameNamespace(deps, temp.ns, `${target.db}.${target.coll}`, true);
    return;
  }
  const spec: Document = isPlainObject(stage.$merge) ? stage.$merge : { into: stage.$merge };
  const target = targetNamespace(ctx, spec.into, '$merge');
  assertNotView(deps.catalog, target.db, target.coll);
  const whenMatched = spec.whenMatched ?? 'merge';
  const whenNotMatched = spec.whenNotMatched ?? 'insert';
  const collection = scope.ensureCollection(target.db, target.coll);
  for (const doc of results) {
    const current = doc._id === undefined ? undefined : collection.getById(doc._id);
    if (!current) {
      if (whenNotMatched === 'fail') {
        throw new CommandError(
          13113,
          'MergeStageNoMatchingDocument',
          '$merge could not find a matching document',
        );
      }
      if (whenNotMatched === 'insert') insertDocument(scope, collection, doc);
      continue;
    }
    if (whenMatched === 'fail') {
      throw new CommandError(
        11000,
        'DuplicateKey',
        `$merge found a matching document for _id in ${collection.ns}`,
      );
    }
    if (whenMatched === 'keepExisting') continue;
    const update = whenMatched === 'replace' ? doc : { $set: doc };
    updateDocument(scope, collection, current, update);
  }
}

/** `findAndModify`: one document, updated or removed, returned before or after the change. */
import type { Document } from 'bson';
import { type CommandContext, CommandError } from '../../contract.js';
import {
  boolArg,
  checkHint,
  documentArg,
  guardTransaction,
  type ResolvedDeps,
  targetCollection,
  writeScope,
} from '../../storage/command-support.js';
import { compileProjection } from '../../storage/projection.js';
import { parseSort } from '../../storage/query.js';
import { validateUpdateSpec } from '../../storage/update.js';
import { assertNotView } from '../../storage/views.js';
import { runDelete, runUpdate } from '../../storage/writes.js';

export function findAndModify(deps: ResolvedDeps, ctx: CommandContext): Document {
  const name = targetCollection(ctx);
  const body = ctx.body;
  const query = documentArg(body, 'query') ?? {};
  const sort = parseSort(body.sort);
  const project = compileProjection(body.fields);
  const removing = boolArg(body, 'remove', false);
  const returnNew = boolArg(body, 'new', false);
  const upsert = boolArg(body, 'upsert', false);
  const hasUpdate = body.update !== undefined && body.update !== null;
  if (removing && hasUpdate) {
    throw new CommandError(9, 'FailedToParse', 'Cannot specify both an update and remove=true');
  }
  if (!removing && !hasUpdate) {
    throw new CommandError(9, 'FailedToParse', 'Either an update or remove=true must be specified');
  }
  if (removing && (upsert || returnNew)) {
    throw new CommandError(
      9,
      'FailedToParse',
      'Cannot specify both upsert=true and remove=true, or new=true and remove=true',
    );
  }
  const shape = (doc: Document | undefined | null): Document | null => {
    if (!doc) return null;
    return project ? project(doc) : doc;
  };
  return guardTransaction(deps, ctx, () => {
    assertNotView(deps.catalog, ctx.db, name);
    const scope = writeScope(deps, ctx);
    checkHint(scope.collection(ctx.db, name), body.hint);
    if (removing) {
      const [removed] = runDelete(scope, ctx.db, name, query, 1, sort);
      return { lastErrorObject: { n: removed ? 1 : 0 }, value: shape(removed), ok: 1 };
    }
    const outcome = runUpdate(scope, ctx.db, name, {
      q: query,
      u: validateUpdateSpec(body.update),
      multi: false,
      upsert,
      ...(Array.isArray(body.arrayFilters) ? { arrayFilters: body.arrayFilters as Document[] } : {}),
      sort,
    });
    const lastErrorObject: Document = {
      n: outcome.matched > 0 || outcome.upsertedId !== undefined ? 1 : 0,
      updatedExisting: outcome.matched > 0,
    };
    if (outcome.upsertedId !== undefined) lastErrorObject.upserted = outcome.upsertedId;
    const value = returnNew ? outcome.after : outcome.upsertedId !== undefined ? null : outcome.before;
    return { lastErrorObject, value: shape(value), ok: 1 };
  });
}

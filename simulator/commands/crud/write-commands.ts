/**
 * `insert`, `update` and `delete`: per-statement results with `writeErrors` carrying the failing
 * statement's index; ordered batches stop at the first error, unordered ones carry on. Each
 * statement on a view fails with 166 CommandNotSupportedOnView, as on the server.
 */
import type { Document } from 'bson';
import { type CommandContext, CommandError } from '../../contract.js';
import {
  arrayArg,
  boolArg,
  checkHint,
  type ResolvedDeps,
  targetCollection,
  writeScope,
} from '../../storage/command-support.js';
import { parseSort, requireDocument } from '../../storage/query.js';
import { isOperatorUpdate, validateUpdateSpec } from '../../storage/update.js';
import { assertNotView } from '../../storage/views.js';
import type { WriteScope } from '../../storage/write-scope.js';
import { insertDocument, runDelete, runUpdate } from '../../storage/writes.js';

const MAX_BATCH = 100_000;

function statements(ctx: CommandContext, field: string): Document[] {
  const list = arrayArg(ctx.body, field);
  if (list.length === 0 || list.length > MAX_BATCH) {
    throw new CommandError(
      16,
      'InvalidLength',
      `Write batch sizes must be between 1 and ${MAX_BATCH}. Got ${list.length} operations.`,
    );
  }
  return list;
}

function writeError(index: number, error: unknown): Document {
  if (error instanceof CommandError) {
    return { index, code: error.code, ...error.extra, errmsg: error.message };
  }
  return { index, code: 1, errmsg: error instanceof Error ? error.message : String(error) };
}

/**
 * Runs each statement, collecting write errors. Errors that are not about one statement (a
 * transaction conflict, a missing transaction) fail the whole command, as on the server.
 */
function runBatch(
  deps: ResolvedDeps,
  ctx: CommandContext,
  items: Document[],
  apply: (scope: WriteScope, item: Document, index: number) => void,
): Document[] {
  const ordered = boolArg(ctx.body, 'ordered', true);
  const scope = writeScope(deps, ctx);
  const errors: Document[] = [];
  for (const [index, item] of items.entries()) {
    try {
      apply(scope, item, index);
    } catch (error) {
      if (ctx.session?.inTransaction) {
        deps.transactions.abortOnError(ctx.session);
        if (error instanceof CommandError && error.errorLabels.includes('TransientTransactionError'))
          throw error;
      }
      errors.push(writeError(index, error));
      if (ordered || ctx.session?.inTransaction) break;
    }
  }
  return errors;
}

function withErrors(reply: Document, errors: Document[]): Document {
  return errors.length > 0 ? { ...reply, writeErrors: errors } : reply;
}

export function insert(deps: ResolvedDeps, ctx: CommandContext): Document {
  const name = targetCollection(ctx);
  const documents = statements(ctx, 'documents');
  let n = 0;
  const errors = runBatch(deps, ctx, documents, (scope, doc) => {
    assertNotView(deps.catalog, ctx.db, name);
    const collection = scope.ensureCollection(ctx.db, name);
    insertDocument(scope, collection, requireDocument(doc, 'insert.documents'));
    n += 1;
  });
  return withErrors({ n, ok: 1 }, errors);
}

export function update(deps: ResolvedDeps, ctx: CommandContext): Document {
  const name = targetCollection(ctx);
  const updates = statements(ctx, 'updates');
  let n = 0;
  let nModified = 0;
  const upserted: Document[] = [];
  const errors = runBatch(deps, ctx, updates, (scope, raw, index) => {
    assertNotView(deps.catalog, ctx.db, name);
    const statement = requireDocument(raw, 'update.updates');
    const q = requireDocument(statement.q ?? {}, 'q');
    checkHint(scope.collection(ctx.db, name), statement.hint);
    const u = validateUpdateSpec(statement.u);
    const multi = boolArg(statement, 'multi', false);
    if (multi && !Array.isArray(u) && !isOperatorUpdate(u)) {
      throw new CommandError(
        9,
        'FailedToParse',
        'multi update is not supported for replacement-style update',
      );
    }
    const outcome = runUpdate(scope, ctx.db, name, {
      q,
      u,
      multi,
      upsert: boolArg(statement, 'upsert', false),
      ...(Array.isArray(statement.arrayFilters)
        ? { arrayFilters: statement.arrayFilters as Document[] }
        : {}),
      sort: parseSort(statement.sort),
    });
    if (outcome.upsertedId !== undefined) {
      upserted.push({ index, _id: outcome.upsertedId });
      n += 1;
    }
    n += outcome.matched;
    nModified += outcome.modified;
  });
  const reply: Document = { n, nModified, ok: 1 };
  if (upserted.length > 0) reply.upserted = upserted;
  return withErrors(reply, errors);
}

export function remove(deps: ResolvedDeps, ctx: CommandContext): Document {
  const name = targetCollection(ctx);
  const deletes = statements(ctx, 'deletes');
  let n = 0;
  const errors = runBatch(deps, ctx, deletes, (scope, raw) => {
    assertNotView(deps.catalog, ctx.db, name);
    const statement = requireDocument(raw, 'delete.deletes');
    const limit = Number((statement.limit as { valueOf(): unknown } | undefined)?.valueOf?.() ?? 0);
    if (limit !== 0 && limit !== 1) {
      throw new CommandError(
        9,
        'FailedToParse',
        `The limit field in delete objects must be 0 or 1. Got ${limit}`,
      );
    }
    const q = requireDocument(statement.q ?? {}, 'q');
    checkHint(scope.collection(ctx.db, name), statement.hint);
    n += runDelete(scope, ctx.db, name, q, limit, parseSort(statement.sort)).length;
  });
  return withErrors({ n, ok: 1 }, errors);
}

/** `count` and `distinct` (on a view: over the documents its pipeline produces). */
import type { Document } from 'bson';
import { type CommandContext, CommandError } from '../../contract.js';
import {
  checkHint,
  documentArg,
  nonNegativeArg,
  type ResolvedDeps,
  readCollection,
  targetCollection,
} from '../../storage/command-support.js';
import { valuesAtPath } from '../../storage/paths.js';
import { compileFilter } from '../../storage/query.js';
import { valueKey } from '../../storage/value-key.js';
import { resolveView } from '../../storage/views.js';
import { selectDocuments } from '../../storage/writes.js';
import { viewDocuments } from './pipeline-run.js';

/** The documents matching `query` in a view, or undefined when `name` is not a view. */
function viewMatches(
  deps: ResolvedDeps,
  ctx: CommandContext,
  name: string,
  query: Document | undefined,
): Document[] | undefined {
  const view = resolveView(deps.catalog, ctx.db, name);
  return view ? viewDocuments(deps, ctx, view).filter(compileFilter(query)) : undefined;
}

export function count(deps: ResolvedDeps, ctx: CommandContext): Document {
  const name = targetCollection(ctx);
  const query = documentArg(ctx.body, 'query');
  const skip = nonNegativeArg(ctx.body, 'skip', 0);
  const limit = Math.abs(Number((ctx.body.limit as { valueOf(): unknown } | undefined)?.valueOf?.() ?? 0));
  const inView = viewMatches(deps, ctx, name, query);
  const collection = inView ? undefined : readCollection(deps, ctx, name);
  checkHint(collection, ctx.body.hint);
  let n: number;
  if (inView) n = inView.length;
  else if (!query || Object.keys(query).length === 0) n = collection?.count ?? 0;
  else n = selectDocuments(collection, query).length;
  n = Math.max(0, n - skip);
  if (limit > 0) n = Math.min(n, limit);
  return { n, ok: 1 };
}

export function distinct(deps: ResolvedDeps, ctx: CommandContext): Document {
  const name = targetCollection(ctx);
  const key = ctx.body.key;
  if (typeof key !== 'string' || key.length === 0) {
    throw new CommandError(
      40414,
      'Location40414',
      "BSON field 'distinct.key' is missing but a required field",
    );
  }
  const query = documentArg(ctx.body, 'query');
  const documents =
    viewMatches(deps, ctx, name, query) ?? selectDocuments(readCollection(deps, ctx, name), query);
  const seen = new Set<string>();
  const values: unknown[] = [];
  for (const doc of documents) {
    for (const found of valuesAtPath(doc, key)) {
      for (const value of Array.isArray(found) ? found : [found]) {
        const hash = valueKey(value);
        if (seen.has(hash)) continue;
        seen.add(hash);
        values.push(value);
      }
    }
  }
  return { values, ok: 1 };
}

/** `count` and `distinct`. */
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
import { valueKey } from '../../storage/value-key.js';
import { selectDocuments } from '../../storage/writes.js';

export function count(deps: ResolvedDeps, ctx: CommandContext): Document {
  const name = targetCollection(ctx);
  const query = documentArg(ctx.body, 'query');
  const skip = nonNegativeArg(ctx.body, 'skip', 0);
  const limit = Math.abs(Number((ctx.body.limit as { valueOf(): unknown } | undefined)?.valueOf?.() ?? 0));
  const collection = readCollection(deps, ctx, name);
  checkHint(collection, ctx.body.hint);
  let n: number;
  if (!query || Object.keys(query).length === 0) n = collection?.count ?? 0;
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
  const collection = readCollection(deps, ctx, name);
  const seen = new Set<string>();
  const values: unknown[] = [];
  for (const doc of selectDocuments(collection, documentArg(ctx.body, 'query'))) {
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

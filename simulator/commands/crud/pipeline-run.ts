/**
 * Running aggregation stages over documents, and reading what a namespace holds when it is a
 * view: the view's pipeline (and those of the views it is defined on) over its collection.
 */
import type { Document } from 'bson';
import { Aggregator } from 'mingo';
import { type CommandContext, CommandError } from '../../contract.js';
import { type ResolvedDeps, readCollection } from '../../storage/command-support.js';
import { isPlainObject, retype, toPlain, toTyped } from '../../storage/typed-values.js';
import { valueKey } from '../../storage/value-key.js';
import { type ResolvedView, resolveView } from '../../storage/views.js';
import { selectDocuments } from '../../storage/writes.js';
import { runNativePrefix } from './pipeline-prefix.js';

/**
 * Runs stages in mingo on plain-number copies; documents that keep their `_id` get their BSON
 * number types back from the input document with that `_id`.
 */
export function runPipeline(
  deps: ResolvedDeps,
  ctx: CommandContext,
  stages: Document[],
  input: Document[],
): Document[] {
  const originals = new Map<string, Document>();
  for (const doc of input) originals.set(valueKey(doc._id), doc);
  let results: Document[];
  try {
    results = new Aggregator(toPlain(stages), {
      collectionResolver: (foreign: string) => toPlain(namespaceDocuments(deps, ctx, foreign)) as Document[],
    } as never).run(input.map((doc) => toPlain(doc))) as Document[];
  } catch (error) {
    throw new CommandError(2, 'BadValue', (error as Error).message);
  }
  return results.map((doc) => {
    const original = isPlainObject(doc) && '_id' in doc ? originals.get(valueKey(doc._id)) : undefined;
    return original ? (retype(doc, original) as Document) : toTyped(doc);
  });
}

/** The documents a resolved view presents, in the order its pipeline leaves them. */
export function viewDocuments(deps: ResolvedDeps, ctx: CommandContext, view: ResolvedView): Document[] {
  const { input, stages } = runNativePrefix(readCollection(deps, ctx, view.collection), view.pipeline);
  return stages.length === 0 ? input : runPipeline(deps, ctx, stages, input);
}

/** Every document of a collection or view in the command's database (`$lookup` and friends). */
export function namespaceDocuments(deps: ResolvedDeps, ctx: CommandContext, name: string): Document[] {
  const view = resolveView(deps.catalog, ctx.db, name);
  if (view) return viewDocuments(deps, ctx, view);
  return selectDocuments(readCollection(deps, ctx, name), {});
}

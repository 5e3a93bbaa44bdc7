/**
 * `aggregate`. A first `$changeStream` stage goes to the change stream part; `$collStats` is
 * answered from the catalog; leading `$match` stages use the storage's own matcher (and the
 * `_id` order); the rest runs in mingo on plain-number copies whose numbers get their BSON
 * types back by `_id` afterwards. On a view, the view's pipeline runs first, over its collection.
 */
import type { Document } from 'bson';
import { type CommandContext, CommandError } from '../../contract.js';
import { validateCollectionName } from '../../storage/catalog.js';
import {
  arrayArg,
  checkHint,
  documentArg,
  firstBatchSize,
  numberArg,
  type ResolvedDeps,
  readCollection,
} from '../../storage/command-support.js';
import { ArrayCursor, DEFAULT_FIRST_BATCH } from '../../storage/cursors.js';
import { requireDocument } from '../../storage/query.js';
import { storageStats } from '../../storage/stats.js';
import { isPlainObject } from '../../storage/typed-values.js';
import { resolveView, viewDefinition, viewError } from '../../storage/views.js';
import { openCursor } from './find.js';
import { OPLOG_NS, queryOplog, readableOplog } from './oplog-view.js';
import { runOut } from './out-stage.js';
import { runNativePrefix } from './pipeline-prefix.js';
import { runPipeline } from './pipeline-run.js';

function stageName(stage: Document): string {
  return Object.keys(stage)[0] ?? '';
}

function targetOf(ctx: CommandContext): string | null {
  const target = ctx.body.aggregate;
  if (
    target === 1 ||
    (typeof target === 'object' && Number((target as { valueOf(): unknown }).valueOf()) === 1)
  ) {
    return null;
  }
  return validateCollectionName(ctx.db, target);
}

export async function aggregate(deps: ResolvedDeps, ctx: CommandContext): Promise<Document> {
  const name = targetOf(ctx);
  const pipeline = arrayArg(ctx.body, 'pipeline').map((stage) => requireDocument(stage, 'pipeline'));
  if (ctx.body.explain)
    throw new CommandError(72, 'InvalidOptions', 'explain is not supported by the simulator');
  if (!documentArg(ctx.body, 'cursor')) {
    throw new CommandError(
      9,
      'FailedToParse',
      "The 'cursor' option is required, except for aggregate with the explain argument",
    );
  }
  const batchSize = firstBatchSize(ctx.body, DEFAULT_FIRST_BATCH);
  const first = pipeline[0];
  if (first && stageName(first) === '$changeStream') {
    if (name !== null && viewDefinition(deps.catalog, ctx.db, name)) throw viewError(ctx.db, name);
    const stageOptions = requireDocument(first.$changeStream, '$changeStream');
    const maxAwait =
      ctx.body.maxAwaitTimeMS === undefined ? undefined : numberArg(ctx.body, 'maxAwaitTimeMS', 0);
    const cursor = await deps.openChangeStream(
      ctx,
      { db: ctx.db, collection: name },
      stageOptions,
      pipeline.slice(1),
      {
        batchSize,
        ...(maxAwait !== undefined ? { maxAwaitTimeMS: maxAwait } : {}),
        ...(ctx.body.comment !== undefined ? { comment: ctx.body.comment } : {}),
      },
    );
    // Change stream cursors report a postBatchResumeToken even with an empty first batch.
    return openCursor(deps, cursor, batchSize, false, { askForEmptyBatch: true });
  }
  if (name === null) {
    throw new CommandError(
      73,
      'InvalidNamespace',
      "{aggregate: 1} is not valid for '" + (first ? stageName(first) : '') + "'; a collection is required",
    );
  }
  const ns = `${ctx.db}.${name}`;
  // A view runs its pipeline (and those of the views under it) on its collection, then the request's.
  const view = resolveView(deps.catalog, ctx.db, name);
  if (view && first && stageName(first) === '$collStats') throw viewError(ctx.db, name);
  const collection = readCollection(deps, ctx, view ? view.collection : name);
  checkHint(collection, ctx.body.hint);
  let stages = view ? [...view.pipeline, ...pipeline] : pipeline;
  let input: Document[];
  if (first && stageName(first) === '$collStats') {
    input = [collStatsDocument(ctx, ns, first.$collStats, collection)];
    stages = stages.slice(1);
  } else {
    const oplog = !view && ns === OPLOG_NS ? readableOplog(deps.oplog) : undefined;
    const source = oplog
      ? queryOplog(oplog, { filter: {}, sort: undefined, projection: undefined, skip: 0, limit: 0 })
      : collection;
    ({ input, stages } = runNativePrefix(source, stages));
  }
  const last = stages[stages.length - 1];
  const outTarget = last && (stageName(last) === '$out' || stageName(last) === '$merge') ? last : undefined;
  if (outTarget) stages = stages.slice(0, -1);
  const output = stages.length === 0 ? input : runPipeline(deps, ctx, stages, input);
  if (outTarget) {
    runOut(deps, ctx, outTarget, output);
    return openCursor(deps, (id) => new ArrayCursor(id, ns, [], ctx.session?.lsid), batchSize, true);
  }
  return openCursor(deps, (id) => new ArrayCursor(id, ns, output, ctx.session?.lsid), batchSize, false);
}

function collStatsDocument(
  ctx: CommandContext,
  ns: string,
  rawSpec: unknown,
  collection: ReturnType<typeof readCollection>,
): Document {
  if (!collection)
    throw new CommandError(
      26,
      'NamespaceNotFound',
      `Unable to retrieve storageStats in $collStats stage :: caused by :: Collection [${ns}] not found.`,
    );
  const spec = isPlainObject(rawSpec) ? rawSpec : {};
  const out: Document = { ns, host: ctx.memberName, localTime: new Date() };
  if (isPlainObject(spec.storageStats)) {
    const scale =
      Number((spec.storageStats.scale as { valueOf(): unknown } | undefined)?.valueOf?.() ?? 1) || 1;
    out.storageStats = storageStats(collection, scale);
  }
  if (isPlainObject(spec.count)) out.count = collection.count;
  if (isPlainObject(spec.latencyStats)) {
    const zero = { latency: 0, ops: 0 };
    out.latencyStats = { reads: zero, writes: zero, commands: zero, transactions: zero };
  }
  return out;
}

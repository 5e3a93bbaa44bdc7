/**
 * `find`: a streaming cursor in `_id` or natural order when no other sort is asked for (so large
 * snapshot scans never materialise), otherwise a sorted result held by an array cursor. A find on
 * a view materialises the view's documents first.
 */
import { type Document, Long } from 'bson';
import { type CommandContext, CommandError, type ServerCursor } from '../../contract.js';
import {
  boolArg,
  checkHint,
  cursorReply,
  documentArg,
  nonNegativeArg,
  numberArg,
  type ResolvedDeps,
  readCollection,
  targetCollection,
} from '../../storage/command-support.js';
import { ArrayCursor, DEFAULT_FIRST_BATCH } from '../../storage/cursors.js';
import { compileProjection } from '../../storage/projection.js';
import { compileFilter, parseSort, planIdLookup, planIdScan, sortDocuments } from '../../storage/query.js';
import { CollectionScanCursor } from '../../storage/scan-cursor.js';
import { resolveView } from '../../storage/views.js';
import { selectDocuments } from '../../storage/writes.js';
import { OPLOG_NS, oplogCursor, queryOplog, readableOplog } from './oplog-view.js';
import { viewDocuments } from './pipeline-run.js';

/** Registers a cursor unless its maker (e.g. the change stream part) already did. */
function registered(deps: ResolvedDeps, make: ServerCursor | ((id: Long) => ServerCursor)): ServerCursor {
  if (typeof make !== 'function')
    return deps.cursors.get(make.id) === make ? make : deps.cursors.add(() => make);
  return deps.cursors.add(make);
}

/** Registers a cursor, takes its first batch, and forgets it again when that batch is all. */
export async function openCursor(
  deps: ResolvedDeps,
  make: ServerCursor | ((id: Long) => ServerCursor),
  batchSize: number,
  singleBatch: boolean,
  options: { askForEmptyBatch?: boolean } = {},
): Promise<Document> {
  const cursor = registered(deps, make);
  if (batchSize === 0 && !singleBatch && !options.askForEmptyBatch) {
    return cursorReply(cursor.id, cursor.ns, { documents: [], exhausted: false }, 'firstBatch');
  }
  const batch = await cursor.nextBatch(batchSize, 0);
  const stoppedAtSize = deps.fullFirstBatchKeepsCursor === true && batch.documents.length >= batchSize;
  const finished = (batch.exhausted && !stoppedAtSize) || singleBatch;
  if (finished) {
    deps.cursors.remove(cursor.id);
    cursor.close();
  }
  return cursorReply(finished ? Long.ZERO : cursor.id, cursor.ns, batch, 'firstBatch');
}

function idOrderOf(sort: [string, 1 | -1][] | null): 1 | -1 | 'natural' | null {
  if (!sort || (sort.length === 1 && sort[0]?.[0] === '$natural' && sort[0][1] === 1)) return 'natural';
  if (sort.length === 1 && sort[0]?.[0] === '_id') return sort[0][1];
  return null;
}

export async function find(deps: ResolvedDeps, ctx: CommandContext): Promise<Document> {
  const name = targetCollection(ctx);
  const ns = `${ctx.db}.${name}`;
  const body = ctx.body;
  const filter = documentArg(body, 'filter');
  const sort = parseSort(body.sort);
  const project = compileProjection(body.projection);
  const skip = nonNegativeArg(body, 'skip', 0);
  const rawLimit = numberArg(body, 'limit', 0);
  if (rawLimit < 0) {
    throw new CommandError(
      51024,
      'Location51024',
      `BSON field 'limit' value must be >= 0, actual value '${rawLimit}'`,
    );
  }
  const batchSize = nonNegativeArg(body, 'batchSize', DEFAULT_FIRST_BATCH);
  const singleBatch = boolArg(body, 'singleBatch', false);
  const oplog = ns === OPLOG_NS ? readableOplog(deps.oplog) : undefined;
  if (oplog) {
    const documents = queryOplog(oplog, {
      filter,
      sort: body.sort,
      projection: body.projection,
      skip,
      limit: rawLimit,
    });
    return openCursor(deps, oplogCursor(ctx, documents), batchSize, singleBatch);
  }
  /** A cursor over documents already selected and sorted: skip, limit and projection applied. */
  const materializedCursor = (matched: Document[]) => {
    const window = matched.slice(skip, rawLimit > 0 ? skip + rawLimit : undefined);
    const documents = project ? window.map(project) : window;
    return openCursor(
      deps,
      (id) => new ArrayCursor(id, ns, documents, ctx.session?.lsid),
      batchSize,
      singleBatch,
    );
  };
  const view = resolveView(deps.catalog, ctx.db, name);
  if (view) {
    // The server rewrites a find on a view into an aggregation: the view's pipeline, then the
    // filter, sort, skip, limit and projection.
    const matched = viewDocuments(deps, ctx, view).filter(compileFilter(filter));
    return materializedCursor(sortDocuments(matched, sort));
  }
  const collection = readCollection(deps, ctx, name);
  checkHint(collection, body.hint);
  if (!collection) return cursorReply(Long.ZERO, ns, { documents: [], exhausted: true }, 'firstBatch');

  // Live while the namespace still holds the same collection (its uuid): a drop, or a rename
  // away, kills the cursor. A mongos's cluster catalog hands out new snapshot objects of the
  // same collection after every write; its open cursors keep reading theirs.
  const isLive = ctx.session?.inTransaction
    ? () => true
    : () => deps.catalog.collectionInfo(`${ctx.db}.${name}`)?.uuid.equals(collection.uuid) === true;
  // `_id: {$in: [...]}` is answered by point lookups (materialised below), not by a scan.
  const order = planIdLookup(filter) ? null : idOrderOf(sort);
  const plan = planIdScan(filter);
  if (order !== null) {
    const predicate = compileFilter(plan ? plan.residual : filter);
    const scanOrder = order === 'natural' && plan ? 1 : order;
    return openCursor(
      deps,
      (id) =>
        new CollectionScanCursor(
          id,
          isLive,
          collection,
          {
            order: scanOrder,
            bounds: plan?.bounds ?? {},
            ...(plan?.rank !== undefined ? { idRank: plan.rank } : {}),
            predicate,
            project,
            skip,
            limit: rawLimit,
          },
          ctx.session?.lsid,
        ),
      batchSize,
      singleBatch,
    );
  }
  const reverseNatural = sort?.length === 1 && sort[0]?.[0] === '$natural' && sort[0][1] === -1;
  const matched = reverseNatural
    ? selectDocuments(collection, filter).reverse()
    : selectDocuments(collection, filter, { sort });
  return materializedCursor(matched);
}

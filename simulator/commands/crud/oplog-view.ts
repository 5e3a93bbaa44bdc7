/**
 * `local.oplog.rs` as a read-only collection over the shared oplog, so tools can measure the
 * oplog window the usual way: `find().sort({$natural: 1}).limit(1)` and `{$natural: -1}`.
 */
import { BSON, type Document, type Long } from 'bson';
import type { CommandContext, OplogEntry, OplogWriter } from '../../contract.js';
import { ArrayCursor } from '../../storage/cursors.js';
import { compileProjection } from '../../storage/projection.js';
import { compileFilter, parseSort, sortDocuments } from '../../storage/query.js';

export const OPLOG_NS = 'local.oplog.rs';

/** What the oplog must offer to be read as a collection. */
export interface ReadableOplog {
  all(): readonly OplogEntry[];
}

export function readableOplog(oplog: OplogWriter): ReadableOplog | undefined {
  const candidate = oplog as OplogWriter & Partial<ReadableOplog>;
  return typeof candidate.all === 'function' ? (candidate as ReadableOplog) : undefined;
}

/** An entry as the real `local.oplog.rs` stores it (pre-images live elsewhere on a real server). */
function asStored(entry: OplogEntry): Document {
  const { preImage: _kept, ...stored } = entry;
  return { ...stored, v: 2 };
}

export interface OplogQuery {
  filter: Document | undefined;
  sort: unknown;
  projection: unknown;
  skip: number;
  limit: number;
}

export function queryOplog(oplog: ReadableOplog, query: OplogQuery): Document[] {
  const matches = compileFilter(query.filter);
  let documents = oplog.all().map(asStored).filter(matches);
  const sort = parseSort(query.sort);
  const natural = sort?.length === 1 && sort[0]?.[0] === '$natural' ? sort[0][1] : undefined;
  if (natural === -1) documents.reverse();
  else if (sort && natural === undefined) documents = sortDocuments(documents, sort);
  const window = documents.slice(query.skip, query.limit > 0 ? query.skip + query.limit : undefined);
  const project = compileProjection(query.projection);
  return project ? window.map(project) : window;
}

export function oplogCursor(ctx: CommandContext, documents: Document[]): (id: Long) => ArrayCursor {
  return (id) => new ArrayCursor(id, OPLOG_NS, documents, ctx.session?.lsid);
}

/** `collStats` of `local.oplog.rs`: a capped collection sized by the retained entries. */
export function oplogStats(oplog: ReadableOplog): Document {
  const entries = oplog.all();
  const bytes = entries.reduce((sum, entry) => sum + BSON.calculateObjectSize(asStored(entry)), 0);
  return {
    ns: OPLOG_NS,
    size: bytes,
    count: entries.length,
    avgObjSize: entries.length === 0 ? 0 : Math.trunc(bytes / entries.length),
    storageSize: bytes,
    capped: true,
    nindexes: 0,
    totalIndexSize: 0,
    indexSizes: {},
    scaleFactor: 1,
    ok: 1,
  };
}

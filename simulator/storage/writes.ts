/**
 * The write paths shared by insert/update/delete/findAndModify and transactions: each applies one
 * statement to a collection and emits the oplog drafts the real server would write for it.
 */
import { type Document, ObjectId } from 'bson';
import { CommandError, type OplogDraft } from '../contract.js';
import { updateDiff, updateOplogObject } from '../oplog/update-diff.js';
import { canonicalRank } from './bson-order.js';
import type { Collection } from './collection.js';
import { compileFilter, planIdLookup, planIdScan, sortDocuments } from './query.js';
import { toTyped, typeInPlace } from './typed-values.js';
import { applyUpdate, isOperatorUpdate, type UpdateSpec, upsertDocument } from './update.js';
import type { WriteScope } from './write-scope.js';

/** Documents matching a filter, in natural order (or the sort's order), up to `limit` (0 = all). */
export function selectDocuments(
  collection: Collection | undefined,
  filter: Document | undefined,
  options: { sort?: [string, 1 | -1][] | null; limit?: number } = {},
): Document[] {
  if (!collection) return [];
  const limit = options.sort ? 0 : (options.limit ?? 0);
  const lookup = planIdLookup(filter);
  if (lookup) {
    const matchesRest = compileFilter(lookup.residual);
    const found = lookup.ids.flatMap((id) => {
      const doc = collection.getById(id);
      return doc && matchesRest(doc) ? [doc] : [];
    });
    const limited = limit > 0 ? found.slice(0, limit) : found;
    if (!options.sort) return limited;
    const sorted = sortDocuments(limited, options.sort);
    return options.limit ? sorted.slice(0, options.limit) : sorted;
  }
  const plan = planIdScan(filter);
  const matches = compileFilter(plan ? plan.residual : filter);
  const out: Document[] = [];
  const entries = plan ? collection.scanById(1, plan.bounds) : collection.scanNatural();
  for (const entry of entries) {
    if (plan?.rank !== undefined && canonicalRank(entry.id) !== plan.rank) continue;
    if (!matches(entry.doc)) continue;
    out.push(entry.doc);
    if (limit > 0 && out.length >= limit) break;
  }
  if (!options.sort) return out;
  const sorted = sortDocuments(out, options.sort);
  return options.limit ? sorted.slice(0, options.limit) : sorted;
}

function isRegex(value: unknown): boolean {
  return value instanceof RegExp || (value as { _bsontype?: string } | null)?._bsontype === 'BSONRegExp';
}

/** A document as stored: typed numbers and `_id` first (generated when missing). */
export function prepareInsert(raw: Document): Document {
  const typed = typeInPlace(raw);
  if (Array.isArray(typed._id)) throw new CommandError(2, 'BadValue', "can't use an array for _id");
  if (isRegex(typed._id)) throw new CommandError(2, 'BadValue', "can't use a regex for _id");
  if ('_id' in typed) {
    if (Object.keys(typed)[0] === '_id') return typed;
    const { _id, ...rest } = typed;
    return { _id, ...rest };
  }
  return { _id: new ObjectId(), ...typed };
}

export function insertDocument(scope: WriteScope, collection: Collection, raw: Document): Document {
  const doc = prepareInsert(raw);
  collection.insert(doc);
  scope.emit([{ op: 'i', ns: collection.ns, ui: collection.uuid, o: doc, o2: { _id: doc._id } }]);
  return doc;
}

/** Applies an update to one stored document; returns the new document, or null when nothing changed. */
export function updateDocument(
  scope: WriteScope,
  collection: Collection,
  before: Document,
  spec: UpdateSpec,
  arrayFilters?: Document[],
  query?: Document,
): Document | null {
  const after = applyUpdate(before, toTyped(spec), {
    ...(arrayFilters ? { arrayFilters } : {}),
    ...(query ? { query } : {}),
  });
  let o: Document;
  if (Array.isArray(spec)) {
    o = updateOplogObject(before, after);
    if (o.$v === 2 && Object.keys(o.diff ?? {}).length === 0) return null;
  } else if (isOperatorUpdate(spec)) {
    const diff = updateDiff(before, after);
    if (Object.keys(diff).length === 0) return null;
    o = { $v: 2, diff };
  } else {
    o = after;
  }
  collection.replace(after);
  const draft: OplogDraft = { op: 'u', ns: collection.ns, ui: collection.uuid, o, o2: { _id: after._id } };
  if (collection.preImagesEnabled) draft.preImage = before;
  scope.emit([draft]);
  return after;
}

export function deleteDocument(scope: WriteScope, collection: Collection, doc: Document): void {
  collection.remove(doc._id);
  const draft: OplogDraft = { op: 'd', ns: collection.ns, ui: collection.uuid, o: { _id: doc._id } };
  if (collection.preImagesEnabled) draft.preImage = doc;
  scope.emit([draft]);
}

export interface UpdateStatement {
  q: Document;
  u: UpdateSpec;
  multi: boolean;
  upsert: boolean;
  arrayFilters?: Document[];
  sort?: [string, 1 | -1][] | null;
}

export interface UpdateOutcome {
  matched: number;
  modified: number;
  upsertedId?: unknown;
  /** The document before/after the (last) change, for findAndModify. */
  before?: Document;
  after?: Document;
}

export function runUpdate(
  scope: WriteScope,
  db: string,
  name: string,
  statement: UpdateStatement,
): UpdateOutcome {
  const existing = scope.collection(db, name);
  const targets = selectDocuments(existing, statement.q, {
    sort: statement.sort ?? null,
    limit: statement.multi ? 0 : 1,
  });
  if (targets.length === 0) {
    if (!statement.upsert) return { matched: 0, modified: 0 };
    const collection = scope.ensureCollection(db, name);
    const doc = insertDocument(
      scope,
      collection,
      upsertDocument(toTyped(statement.q), toTyped(statement.u), statement.arrayFilters),
    );
    return { matched: 0, modified: 0, upsertedId: doc._id, after: doc };
  }
  const collection = existing as Collection;
  let modified = 0;
  let before: Document | undefined;
  let after: Document | undefined;
  for (const target of targets) {
    before = target;
    const updated = updateDocument(
      scope,
      collection,
      target,
      statement.u,
      statement.arrayFilters,
      statement.q,
    );
    after = updated ?? target;
    if (updated) modified += 1;
  }
  return { matched: targets.length, modified, before, after };
}

/** Deletes the matching documents (`limit` 1 or 0 = all); returns them. */
export function runDelete(
  scope: WriteScope,
  db: string,
  name: string,
  filter: Document,
  limit: number,
  sort?: [string, 1 | -1][] | null,
): Document[] {
  const collection = scope.collection(db, name);
  if (!collection) return [];
  const targets = selectDocuments(collection, filter, { sort: sort ?? null, limit });
  for (const doc of targets) deleteDocument(scope, collection, doc);
  return targets;
}

/**
 * The real server's `$v: 2` update oplog format ("delta" diffs). Sections of a document diff, in
 * the server's serialization order: `d` (deleted fields → false), `u` (updated fields), `i`
 * (inserted fields), then `s<field>` sub-diffs. An array sub-diff is `{a: true, l?: newLength,
 * u<index>: value, s<index>: subDiff}`. A nested object or array is replaced whole whenever
 * its sub-diff would not be smaller than its new value, as the server's diff calculator does.
 */
import { BSON, type Document } from 'bson';

type Value = unknown;

interface DocNode {
  kind: 'doc';
  deletes: string[];
  updates: [string, Value][];
  inserts: [string, Value][];
  subDiffs: [string, DiffNode][];
}

interface ArrayNode {
  kind: 'array';
  /** Index → new value or sub-diff, in index order. */
  children: [number, ValueOrDiff][];
  resize?: number;
}

type DiffNode = DocNode | ArrayNode;

type ValueOrDiff = { node: DiffNode } | { value: Value };

function isPlainObject(value: Value): value is Document {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  // BSON value classes (ObjectId, Long, Binary...) carry `_bsontype`; Dates and regexes are leaves.
  if ('_bsontype' in value || value instanceof Date || value instanceof RegExp) return false;
  return true;
}

function bsonBytes(value: Value): Buffer {
  return Buffer.from(BSON.serialize({ v: value }));
}

/** Byte-for-byte equality of two values as BSON, like the server's `binaryEqual`. */
function binaryEqual(a: Value, b: Value): boolean {
  return bsonBytes(a).equals(bsonBytes(b));
}

function sizeOf(value: Value): number {
  return BSON.calculateObjectSize({ v: value });
}

function subDiffOrValue(before: Value, after: Value): ValueOrDiff {
  const node =
    Array.isArray(before) && Array.isArray(after)
      ? arrayDiff(before, after)
      : docDiff(before as Document, after as Document);
  // The server keeps a sub-diff only when it is strictly smaller than the new value.
  if (sizeOf(serialize(node)) < sizeOf(after)) return { node };
  return { value: after };
}

function sameContainerKind(a: Value, b: Value): boolean {
  return (Array.isArray(a) && Array.isArray(b)) || (isPlainObject(a) && isPlainObject(b));
}

function docDiff(before: Document, after: Document): DocNode {
  const node: DocNode = { kind: 'doc', deletes: [], updates: [], inserts: [], subDiffs: [] };
  const beforeKeys = Object.keys(before);
  const afterKeys = Object.keys(after);
  const laterDeletes = new Set<string>();
  let b = 0;
  let a = 0;
  // Walk both documents in field order as the server does: a field that moved position is
  // deleted and re-inserted (that keeps field order right when the diff is applied).
  while (b < beforeKeys.length && a < afterKeys.length) {
    const beforeKey = beforeKeys[b] as string;
    const afterKey = afterKeys[a] as string;
    if (beforeKey === afterKey) {
      const pre = before[beforeKey];
      const post = after[afterKey];
      if (!binaryEqual(pre, post)) {
        if (sameContainerKind(pre, post)) {
          const sub = subDiffOrValue(pre, post);
          if ('node' in sub) node.subDiffs.push([beforeKey, sub.node]);
          else node.updates.push([beforeKey, sub.value]);
        } else {
          node.updates.push([beforeKey, post]);
        }
      }
      b += 1;
      a += 1;
    } else {
      laterDeletes.add(beforeKey);
      b += 1;
    }
  }
  for (; b < beforeKeys.length; b += 1) node.deletes.push(beforeKeys[b] as string);
  for (; a < afterKeys.length; a += 1) {
    const key = afterKeys[a] as string;
    node.inserts.push([key, after[key]]);
    laterDeletes.delete(key);
  }
  // The server keeps these in a sorted set before appending them.
  for (const key of [...laterDeletes].sort(compareBytes)) node.deletes.push(key);
  return node;
}

function compareBytes(x: string, y: string): number {
  return Buffer.compare(Buffer.from(x, 'utf8'), Buffer.from(y, 'utf8'));
}

function arrayDiff(before: Value[], after: Value[]): ArrayNode {
  const node: ArrayNode = { kind: 'array', children: [] };
  const common = Math.min(before.length, after.length);
  for (let index = 0; index < common; index += 1) {
    const pre = before[index];
    const post = after[index];
    if (binaryEqual(pre, post)) continue;
    if (sameContainerKind(pre, post)) {
      node.children.push([index, subDiffOrValue(pre, post)]);
    } else {
      node.children.push([index, { value: post }]);
    }
  }
  for (let index = common; index < after.length; index += 1) {
    node.children.push([index, { value: after[index] }]);
  }
  if (before.length > after.length) node.resize = after.length;
  return node;
}

function serialize(node: DiffNode): Document {
  if (node.kind === 'array') {
    const out: Document = { a: true };
    if (node.resize !== undefined) out.l = node.resize;
    for (const [index, child] of node.children) {
      if ('node' in child) out[`s${index}`] = serialize(child.node);
      else out[`u${index}`] = child.value;
    }
    return out;
  }
  const out: Document = {};
  if (node.deletes.length > 0) out.d = Object.fromEntries(node.deletes.map((key) => [key, false]));
  if (node.updates.length > 0) out.u = Object.fromEntries(node.updates);
  if (node.inserts.length > 0) out.i = Object.fromEntries(node.inserts);
  for (const [key, child] of node.subDiffs) out[`s${key}`] = serialize(child);
  return out;
}

/**
 * The `$v: 2` diff turning `before` into `after` (the oplog entry's `o.diff`). Both must be plain
 * documents; an empty result means nothing changed.
 */
export function updateDiff(before: Document, after: Document): Document {
  if (!isPlainObject(before) || !isPlainObject(after)) {
    throw new TypeError('updateDiff needs two documents');
  }
  return serialize(docDiff(before, after));
}

/**
 * The `o` of an update oplog entry: `{$v: 2, diff}` when the diff is smaller than the new
 * document, otherwise the whole new document (logged as a replacement), as the server does for
 * pipeline-style updates.
 */
export function updateOplogObject(before: Document, after: Document): Document {
  const diff = updateDiff(before, after);
  if (sizeOf(diff) < sizeOf(after)) return { $v: 2, diff };
  return after;
}

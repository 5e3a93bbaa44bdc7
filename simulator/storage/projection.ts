/**
 * find/findAndModify projections. Plain inclusion and exclusion (with dotted paths) are done here
 * on the typed document; operators ($slice, $elemMatch, expressions) go through mingo on the plain
 * view and get their number types back afterwards.
 */
import type { Document } from 'bson';
import { Query } from 'mingo';
import { CommandError } from '../contract.js';
import { isPlainObject, retype, toPlain } from './typed-values.js';

type ProjectionTree = { [field: string]: ProjectionTree | true };

function isFlag(value: unknown): boolean {
  if (typeof value === 'boolean' || typeof value === 'number') return true;
  const tag = (value as { _bsontype?: string } | null)?._bsontype;
  return tag === 'Int32' || tag === 'Double' || tag === 'Long';
}

function flagValue(value: unknown): boolean {
  return Boolean(Number((value as { valueOf(): unknown }).valueOf()));
}

function buildTree(paths: string[]): ProjectionTree {
  const tree: ProjectionTree = {};
  for (const path of paths) {
    let node = tree;
    const parts = path.split('.');
    parts.forEach((part, index) => {
      if (index === parts.length - 1) {
        node[part] = true;
        return;
      }
      const child = node[part];
      if (child === true) return;
      node[part] = child ?? {};
      node = node[part] as ProjectionTree;
    });
  }
  return tree;
}

function include(value: unknown, tree: ProjectionTree): unknown {
  if (Array.isArray(value)) {
    return value
      .filter((item) => isPlainObject(item) || Array.isArray(item))
      .map((item) => include(item, tree));
  }
  if (!isPlainObject(value)) return undefined;
  const out: Document = {};
  for (const [field, node] of Object.entries(tree)) {
    if (!(field in value)) continue;
    if (node === true) out[field] = value[field];
    else {
      const nested = include(value[field], node);
      if (nested !== undefined) out[field] = nested;
    }
  }
  return out;
}

function exclude(value: unknown, tree: ProjectionTree): unknown {
  if (Array.isArray(value)) return value.map((item) => exclude(item, tree));
  if (!isPlainObject(value)) return value;
  const out: Document = {};
  for (const [field, fieldValue] of Object.entries(value)) {
    const node = tree[field];
    if (node === true) continue;
    out[field] = node ? exclude(fieldValue, node) : fieldValue;
  }
  return out;
}

/** Returns a function applying the projection, or null when there is none. */
export function compileProjection(raw: unknown): ((doc: Document) => Document) | null {
  if (raw === undefined || raw === null) return null;
  if (!isPlainObject(raw)) {
    throw new CommandError(14, 'TypeMismatch', "BSON field 'projection' is the wrong type, expected object");
  }
  const entries = Object.entries(raw);
  if (entries.length === 0) return null;
  if (!entries.every(([, value]) => isFlag(value))) {
    const plainSpec = toPlain(raw);
    return (doc) => {
      const [projected] = new Query({}).find<Document>([toPlain(doc)], plainSpec).all();
      return retype(projected ?? {}, doc) as Document;
    };
  }
  const idFlag = entries.find(([field]) => field === '_id');
  const others = entries.filter(([field]) => field !== '_id');
  const including = others.some(([, value]) => flagValue(value));
  if (including && others.some(([, value]) => !flagValue(value))) {
    throw new CommandError(31254, 'Location31254', 'Cannot do exclusion on field in inclusion projection');
  }
  const keepId = idFlag ? flagValue(idFlag[1]) : true;
  if (including || (others.length === 0 && keepId)) {
    const paths = others.map(([field]) => field);
    if (keepId) paths.push('_id');
    const tree = buildTree(paths);
    return (doc) => include(doc, tree) as Document;
  }
  const paths = others.map(([field]) => field);
  if (!keepId) paths.push('_id');
  const tree = buildTree(paths);
  return (doc) => exclude(doc, tree) as Document;
}

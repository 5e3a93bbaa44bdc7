/**
 * A document's fields in the order today's decode + bson-json visits them, for the documents the
 * transcoder's fast path leaves to it: the `bson` package builds a plain JS object, so a repeated
 * key keeps its first position and its last value, integer-like keys ("0" … "4294967294") come
 * first in ascending order, and a document shaped like a DBRef ($ref string, $id not null, $db
 * string or absent, no other `$` key) becomes a DBRef, written back as {$ref, $id, $db?, …fields}
 * (its namespace split on a single dot, an empty $db dropped).
 */
import { MAX_NESTING_DEPTH } from './bson-json.js';
import {
  BsonFormatError,
  cstringEnd,
  decodeLenient,
  isValidUtf8,
  T_ARRAY,
  T_CODE_W_SCOPE,
  T_DB_POINTER,
  T_DOCUMENT,
  T_NULL,
  T_STRING,
  T_UNDEFINED,
  valueEnd,
} from './bson-transcode-check.js';
import { readInt32 } from './bson-transcode-scalars.js';
import { checkBson } from './bson-transcode-validate.js';

/** One field: a value in the bytes (`type`, value at `at`), or a text `literal` ($ref / $db of a DBRef). */
export interface Entry {
  key: string;
  type: number;
  at: number;
  /** Offset of the element (its type byte). */
  element: number;
  literal?: string;
}

/** The fields of the document at `at`, in write order; `dbRefAllowed` is false for a code scope. */
export function orderedEntries(src: Uint8Array, at: number, dbRefAllowed: boolean): Entry[] {
  const end = at + readInt32(src, at) - 1;
  const byKey: Record<string, Entry> = Object.create(null);
  let dollar = 0;
  let repeated = false;
  for (let p = at + 4; p < end; ) {
    const keyEnd = cstringEnd(src, p + 1, end);
    if (keyEnd < 0) throw new BsonFormatError('Bad BSON Document: illegal CString');
    const key = decodeLenient(src, p + 1, keyEnd);
    if (key[0] === '$') dollar |= key === '$ref' || key === '$id' || key === '$db' ? 1 : 2;
    const type = src[p] as number;
    const next = valueEnd(src, type, keyEnd + 1, end);
    if (next <= keyEnd || next > end) throw new BsonFormatError('corrupt object bson');
    if (key in byKey) repeated = true;
    byKey[key] = { key, type, at: keyEnd + 1, element: p };
    p = next;
  }
  // The deserializer decodes (and so checks) a value a later repeat of its key replaces.
  if (repeated) checkBson(src, at);
  const dbRef = dbRefAllowed && dollar === 1 ? dbRefEntries(src, byKey) : null;
  return dbRef ?? Object.keys(byKey).map((key) => byKey[key] as Entry);
}

function dbRefEntries(src: Uint8Array, byKey: Record<string, Entry>): Entry[] | null {
  const { $ref: ref, $id: id, $db: db } = byKey;
  if (id === undefined || id.type === T_NULL || id.type === T_UNDEFINED) return null;
  if (ref === undefined || ref.type !== T_STRING || (db !== undefined && db.type !== T_STRING)) return null;
  let collection = stringValue(src, ref.at);
  let database = db === undefined ? undefined : stringValue(src, db.at);
  const parts = collection.split('.');
  if (parts.length === 2) [database, collection] = parts as [string, string];
  const merged: Record<string, Entry> = Object.create(null);
  merged.$ref = { ...ref, key: '$ref', literal: collection };
  merged.$id = id;
  if (database) merged.$db = { ...ref, key: '$db', literal: database };
  for (const key of Object.keys(byKey)) {
    if (key !== '$ref' && key !== '$id' && key !== '$db') merged[key] = byKey[key] as Entry;
  }
  return Object.keys(merged).map((key) => merged[key] as Entry);
}

/** A length-prefixed string value, decoded; invalid UTF-8 throws as the deserializer does. */
export function stringValue(src: Uint8Array, at: number): string {
  const length = readInt32(src, at);
  const start = at + 4;
  if (length <= 0 || start + length > src.length || src[start + length - 1] !== 0)
    throw new BsonFormatError('bad string length in bson');
  if (!isValidUtf8(src, start, start + length - 1))
    throw new BsonFormatError('Invalid UTF-8 string in BSON document');
  return decodeLenient(src, start, start + length - 1);
}

/** `[collection, db]` of a DBPointer's namespace, as the DBRef the deserializer makes of it. */
export function dbPointerNamespace(namespace: string): [string, string | undefined] {
  const parts = namespace.split('.');
  return parts.length === 2 ? [parts[1] as string, parts[0]] : [namespace, undefined];
}

/**
 * Where bson-json's writer first finds a value deeper than MAX_NESTING_DEPTH, as the path it
 * names (`.key`, `[index]`, `.Scope`), walking in its order; null when nothing is too deep.
 */
export function depthErrorPath(
  src: Uint8Array,
  type: number,
  at: number,
  depth: number,
  path: string,
  dbRefAllowed = true,
): string | null {
  if (depth > MAX_NESTING_DEPTH) return path;
  if (type === T_DOCUMENT) {
    for (const entry of orderedEntries(src, at, dbRefAllowed)) {
      const inner = `${path}.${entry.key}`;
      const found =
        entry.literal === undefined
          ? depthErrorPath(src, entry.type, entry.at, depth + 1, inner)
          : depth + 1 > MAX_NESTING_DEPTH
            ? inner
            : null;
      if (found !== null) return found;
    }
  } else if (type === T_ARRAY) return arrayDepthErrorPath(src, at, depth, path);
  else if (type === T_CODE_W_SCOPE) {
    const scope = at + 8 + readInt32(src, at + 4);
    return depthErrorPath(src, T_DOCUMENT, scope, depth + 1, `${path}.Scope`, false);
  } else if (type === T_DB_POINTER) return depth + 1 > MAX_NESTING_DEPTH ? `${path}.$ref` : null;
  return null;
}

function arrayDepthErrorPath(src: Uint8Array, at: number, depth: number, path: string): string | null {
  const end = at + readInt32(src, at) - 1;
  let index = 0;
  for (let p = at + 4; p < end; index++) {
    const valueAt = cstringEnd(src, p + 1, end) + 1;
    const type = src[p] as number;
    const found = depthErrorPath(src, type, valueAt, depth + 1, `${path}[${index}]`);
    if (found !== null) return found;
    p = valueEnd(src, type, valueAt, end);
  }
  return null;
}

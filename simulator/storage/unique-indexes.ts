/**
 * Unique index enforcement for one collection: per unique index, a hash from index key to the
 * `_id` key of the document that owns it.
 */
import type { Document } from 'bson';
import { duplicateKeyError, type IndexSpec, indexKeys } from './index-keys.js';
import { valueKey } from './value-key.js';

export class UniqueIndexes {
  private readonly owners = new Map<string, { spec: IndexSpec; keys: Map<string, string> }>();

  /** Starts enforcing a unique index over the given existing documents (`[_id key, doc]`). */
  add(spec: IndexSpec, documents: Iterable<[string, Document]>): void {
    const keys = new Map<string, string>();
    for (const [ownKey, doc] of documents) {
      for (const tuple of indexKeys(spec, doc)) keys.set(valueKey(tuple), ownKey);
    }
    this.owners.set(spec.name, { spec, keys });
  }

  drop(name: string): void {
    this.owners.delete(name);
  }

  /** Throws the server's DuplicateKey error if `doc` would collide with another document. */
  check(ns: string, doc: Document, ownKey: string): void {
    for (const { spec, keys } of this.owners.values()) {
      for (const tuple of indexKeys(spec, doc)) {
        const owner = keys.get(valueKey(tuple));
        if (owner !== undefined && owner !== ownKey) throw duplicateKeyError(ns, spec, tuple);
      }
    }
  }

  index(doc: Document, ownKey: string): void {
    for (const { spec, keys } of this.owners.values()) {
      for (const tuple of indexKeys(spec, doc)) keys.set(valueKey(tuple), ownKey);
    }
  }

  unindex(doc: Document, ownKey: string): void {
    for (const { spec, keys } of this.owners.values()) {
      for (const tuple of indexKeys(spec, doc)) {
        const key = valueKey(tuple);
        if (keys.get(key) === ownKey) keys.delete(key);
      }
    }
  }
}

/** The first key two documents share under `spec`, or null when a unique index can be built. */
export function firstDuplicate(spec: IndexSpec, documents: Iterable<Document>): Document | null {
  const seen = new Set<string>();
  for (const doc of documents) {
    const own = new Map(indexKeys(spec, doc).map((tuple) => [valueKey(tuple), tuple]));
    for (const [key, tuple] of own) {
      if (seen.has(key)) return tuple;
      seen.add(key);
    }
  }
  return null;
}

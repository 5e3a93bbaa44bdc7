/**
 * Where writes land. Outside a transaction they go straight to the catalog and the oplog; inside
 * one they go to the transaction's private collection copies and a buffered op list.
 */
import type { Document } from 'bson';
import type { OplogDraft, OplogWriter } from '../contract.js';
import type { Catalog } from './catalog.js';
import type { Collection, CollectionOptions } from './collection.js';
import { ID_INDEX } from './index-keys.js';

export interface WriteScope {
  collection(db: string, name: string): Collection | undefined;
  /** The collection, created implicitly (with its `create` oplog entry) when missing. */
  ensureCollection(db: string, name: string): Collection;
  /** Creates a collection (NamespaceExists when it is there), logging its `create`. */
  createCollection(db: string, name: string, options?: CollectionOptions): Collection;
  /** Records the oplog drafts of one applied write. */
  emit(drafts: OplogDraft[]): void;
}

/** The `create` oplog entry the server writes for explicit and implicit creation. */
export function createDraft(collection: Collection): OplogDraft {
  const { changeStreamPreAndPostImages, ...options } = collection.options as CollectionOptions & Document;
  const o: Document = { create: collection.name, ...options };
  if (changeStreamPreAndPostImages) o.changeStreamPreAndPostImages = changeStreamPreAndPostImages;
  o.idIndex = { ...ID_INDEX };
  return { op: 'c', ns: `${collection.db}.$cmd`, ui: collection.uuid, o };
}

export class DirectWriteScope implements WriteScope {
  constructor(
    private readonly catalog: Catalog,
    private readonly oplog: OplogWriter,
  ) {}

  collection(db: string, name: string): Collection | undefined {
    return this.catalog.get(db, name);
  }

  ensureCollection(db: string, name: string): Collection {
    return this.catalog.get(db, name) ?? this.createCollection(db, name);
  }

  createCollection(db: string, name: string, options: CollectionOptions = {}): Collection {
    const created = this.catalog.create(db, name, options);
    this.oplog.append([createDraft(created)]);
    return created;
  }

  emit(drafts: OplogDraft[]): void {
    this.oplog.append(drafts);
  }
}

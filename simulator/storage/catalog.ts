/**
 * The one data catalog every member serves: databases → collections. Read by change streams
 * through `CatalogReader`; written only by the storage commands (and committed transactions).
 */
import type { Document, UUID } from 'bson';
import type { CatalogReader } from '../contract.js';
import { CommandError } from '../contract.js';
import { Collection, type CollectionOptions } from './collection.js';

/** Database names the server reserves or rejects. */
const INVALID_DB_CHARS = /[/\\. "$\0]/;

export function parseNamespace(ns: string): { db: string; collection: string } {
  const dot = ns.indexOf('.');
  if (dot <= 0 || dot === ns.length - 1) {
    throw new CommandError(73, 'InvalidNamespace', `Invalid namespace specified '${ns}'`);
  }
  return { db: ns.slice(0, dot), collection: ns.slice(dot + 1) };
}

export function validateDbName(db: string): void {
  if (db.length === 0 || db.length > 63 || INVALID_DB_CHARS.test(db)) {
    throw new CommandError(73, 'InvalidNamespace', `Invalid database name: '${db}'`);
  }
}

export function validateCollectionName(db: string, name: unknown): string {
  if (typeof name !== 'string') {
    throw new CommandError(2, 'BadValue', `collection name has invalid type ${typeof name}`);
  }
  if (name.length === 0 || name.includes('\0') || name.startsWith('.') || name.includes('$')) {
    throw new CommandError(73, 'InvalidNamespace', `Invalid collection name: ${db}.${name}`);
  }
  return name;
}

export class Catalog implements CatalogReader {
  private readonly databases = new Map<string, Map<string, Collection>>();

  get(db: string, name: string): Collection | undefined {
    return this.databases.get(db)?.get(name);
  }

  getByNs(ns: string): Collection | undefined {
    const { db, collection } = parseNamespace(ns);
    return this.get(db, collection);
  }

  /** Creates a collection; throws NamespaceExists (48) if it is there already. */
  create(db: string, name: string, options: CollectionOptions = {}): Collection {
    validateDbName(db);
    validateCollectionName(db, name);
    if (this.get(db, name)) {
      throw new CommandError(48, 'NamespaceExists', `Collection ${db}.${name} already exists.`);
    }
    const collection = new Collection(db, name, undefined, options);
    this.attach(collection);
    return collection;
  }

  /** Puts a collection object (new, renamed or a committed transaction's copy) in place. */
  attach(collection: Collection): void {
    let collections = this.databases.get(collection.db);
    if (!collections) {
      collections = new Map();
      this.databases.set(collection.db, collections);
    }
    collections.set(collection.name, collection);
  }

  remove(db: string, name: string): Collection | undefined {
    const collections = this.databases.get(db);
    const collection = collections?.get(name);
    if (!collections || !collection) return undefined;
    collections.delete(name);
    if (collections.size === 0) this.databases.delete(db);
    return collection;
  }

  collectionsOf(db: string): Collection[] {
    return [...(this.databases.get(db)?.values() ?? [])];
  }

  databaseNames(): string[] {
    return [...this.databases.keys()];
  }

  hasDatabase(db: string): boolean {
    return this.databases.has(db);
  }

  findOneById(ns: string, id: unknown): Document | null {
    return this.getByNs(ns)?.getById(id) ?? null;
  }

  collectionInfo(ns: string): { uuid: UUID; changeStreamPreAndPostImages: boolean } | null {
    const collection = this.getByNs(ns);
    if (!collection) return null;
    return { uuid: collection.uuid, changeStreamPreAndPostImages: collection.preImagesEnabled };
  }

  byUuid(uuid: UUID): Collection | undefined {
    for (const collections of this.databases.values()) {
      for (const collection of collections.values()) if (collection.uuid.equals(uuid)) return collection;
    }
    return undefined;
  }
}

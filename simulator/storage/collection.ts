/**
 * One collection's documents: a hash by `_id` key, an array in `_id` order for range scans
 * (binary search, so each cursor batch costs O(log n + batch)), and an array in insertion
 * ("natural", like WiredTiger's RecordId) order. Deletes leave tombstones that are compacted
 * lazily so neither array is spliced per write. Stored documents are never mutated in place.
 */
import { BSON, type Document, UUID } from 'bson';
import { CommandError } from '../contract.js';
import { compareBson } from './bson-order.js';
import { duplicateKeyError, ID_INDEX, type IndexSpec } from './index-keys.js';
import { firstDuplicate, UniqueIndexes } from './unique-indexes.js';
import { valueKey } from './value-key.js';

export interface StoredEntry {
  readonly id: unknown;
  readonly key: string;
  doc: Document;
  size: number;
  readonly recordId: number;
  deleted: boolean;
}

export interface CollectionOptions {
  capped?: boolean;
  size?: number;
  max?: number;
  changeStreamPreAndPostImages?: { enabled: boolean };
  [option: string]: unknown;
}

/** Where a range scan starts and stops, in `_id` order. */
export interface IdBounds {
  lower?: { value: unknown; inclusive: boolean };
  upper?: { value: unknown; inclusive: boolean };
}

const COMPACT_MIN_TOMBSTONES = 1024;

export class Collection {
  private readonly byKey = new Map<string, StoredEntry>();
  private idOrder: StoredEntry[] = [];
  private idOrderSorted = true;
  private natural: StoredEntry[] = [];
  private tombstones = 0;
  private nextRecordId = 1;
  private bytes = 0;
  private readonly unique = new UniqueIndexes();
  indexes: IndexSpec[] = [{ ...ID_INDEX }];
  /**
   * Called before a document changes, with its `_id` key and current version: a transaction's
   * private copy uses it to detect write conflicts with committed writes.
   */
  beforeWrite?: (key: string, current: Document | undefined) => void;

  constructor(
    public db: string,
    public name: string,
    readonly uuid: UUID = new UUID(),
    public options: CollectionOptions = {},
  ) {}

  get ns(): string {
    return `${this.db}.${this.name}`;
  }

  get count(): number {
    return this.byKey.size;
  }

  get dataSize(): number {
    return this.bytes;
  }

  get preImagesEnabled(): boolean {
    return this.options.changeStreamPreAndPostImages?.enabled === true;
  }

  getById(id: unknown): Document | undefined {
    return this.byKey.get(valueKey(id))?.doc;
  }

  getByKey(key: string): Document | undefined {
    return this.byKey.get(key)?.doc;
  }

  /** Adds a new document; throws the server's DuplicateKey error on `_id` or a unique index. */
  insert(doc: Document): void {
    const id = doc._id;
    const key = valueKey(id);
    if (this.byKey.has(key)) throw duplicateKeyError(this.ns, ID_INDEX, { _id: id });
    this.unique.check(this.ns, doc, key);
    this.beforeWrite?.(key, undefined);
    const entry: StoredEntry = {
      id,
      key,
      doc,
      size: BSON.calculateObjectSize(doc),
      recordId: this.nextRecordId++,
      deleted: false,
    };
    this.byKey.set(key, entry);
    const last = this.idOrder[this.idOrder.length - 1];
    if (last && this.idOrderSorted && compareBson(last.id, id) >= 0) this.idOrderSorted = false;
    this.idOrder.push(entry);
    this.natural.push(entry);
    this.bytes += entry.size;
    this.unique.index(doc, key);
    this.enforceCap();
  }

  /** Replaces the document with the same `_id` (which must exist). */
  replace(doc: Document): void {
    const key = valueKey(doc._id);
    const entry = this.byKey.get(key);
    if (!entry) throw new CommandError(8, 'UnknownError', `no document with _id key ${key} in ${this.ns}`);
    this.unique.check(this.ns, doc, key);
    this.beforeWrite?.(key, entry.doc);
    this.unique.unindex(entry.doc, key);
    entry.doc = doc;
    this.bytes -= entry.size;
    entry.size = BSON.calculateObjectSize(doc);
    this.bytes += entry.size;
    this.unique.index(doc, key);
  }

  /** Removes a document by `_id`; returns the removed document. */
  remove(id: unknown): Document | undefined {
    const entry = this.byKey.get(valueKey(id));
    if (!entry) return undefined;
    this.beforeWrite?.(entry.key, entry.doc);
    this.byKey.delete(entry.key);
    this.unique.unindex(entry.doc, entry.key);
    entry.deleted = true;
    this.bytes -= entry.size;
    this.tombstones += 1;
    if (this.tombstones >= COMPACT_MIN_TOMBSTONES && this.tombstones * 2 > this.natural.length)
      this.compact();
    return entry.doc;
  }

  /** Live entries in `_id` order from the bound, ascending or descending. */
  *scanById(direction: 1 | -1, bounds: IdBounds = {}): Generator<StoredEntry> {
    const order = this.sortedIds();
    if (direction === 1) {
      let i = bounds.lower ? this.lowerBound(order, bounds.lower.value, bounds.lower.inclusive) : 0;
      for (; i < order.length; i++) {
        const entry = order[i] as StoredEntry;
        if (bounds.upper && beyondUpper(entry.id, bounds.upper)) return;
        if (!entry.deleted) yield entry;
      }
    } else {
      let i = bounds.upper
        ? this.lowerBound(order, bounds.upper.value, !bounds.upper.inclusive) - 1
        : order.length - 1;
      for (; i >= 0; i--) {
        const entry = order[i] as StoredEntry;
        if (bounds.lower && belowLower(entry.id, bounds.lower)) return;
        if (!entry.deleted) yield entry;
      }
    }
  }

  /** Live entries in insertion order, starting after the given record id. */
  *scanNatural(afterRecordId = 0): Generator<StoredEntry> {
    const list = this.natural;
    let low = 0;
    let high = list.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((list[mid] as StoredEntry).recordId <= afterRecordId) low = mid + 1;
      else high = mid;
    }
    for (let i = low; i < list.length; i++) {
      const entry = list[i] as StoredEntry;
      if (!entry.deleted) yield entry;
    }
  }

  /** Up to `size` distinct random documents (what a leading `$sample` returns). */
  sample(size: number): Document[] {
    const live = this.count;
    if (size >= live) {
      const all = [...this.liveDocuments()];
      for (let i = all.length - 1; i > 0; i -= 1) {
        const j = Math.floor(Math.random() * (i + 1));
        [all[i], all[j]] = [all[j] as Document, all[i] as Document];
      }
      return all;
    }
    const picked = new Set<StoredEntry>();
    // Rejection sampling over the natural array stays cheap while tombstones are under half of it.
    while (picked.size < size) {
      const entry = this.natural[Math.floor(Math.random() * this.natural.length)] as StoredEntry;
      if (!entry.deleted) picked.add(entry);
    }
    return [...picked].map((entry) => entry.doc);
  }

  /** Checks that a new unique index can be built; returns the first duplicate key if not. */
  findDuplicate(spec: IndexSpec): Document | null {
    return firstDuplicate(spec, this.liveDocuments());
  }

  addIndex(spec: IndexSpec): void {
    this.indexes.push(spec);
    if (spec.unique) this.unique.add(spec, this.liveEntries());
  }

  private *liveDocuments(): Generator<Document> {
    for (const entry of this.natural) if (!entry.deleted) yield entry.doc;
  }

  private *liveEntries(): Generator<[string, Document]> {
    for (const entry of this.natural) if (!entry.deleted) yield [entry.key, entry.doc];
  }

  dropIndex(name: string): IndexSpec | undefined {
    const spec = this.indexes.find((index) => index.name === name);
    if (!spec) return undefined;
    this.indexes = this.indexes.filter((index) => index !== spec);
    this.unique.drop(name);
    return spec;
  }

  /** An independent copy (documents shared, they are immutable) for a transaction's own view. */
  clone(): Collection {
    const copy = new Collection(this.db, this.name, this.uuid, { ...this.options });
    copy.indexes = [];
    for (const entry of this.natural) {
      if (!entry.deleted) copy.insertUnchecked(entry.doc, entry.size);
    }
    for (const spec of this.indexes) copy.addIndex(spec);
    return copy;
  }

  private insertUnchecked(doc: Document, size: number): void {
    const entry: StoredEntry = {
      id: doc._id,
      key: valueKey(doc._id),
      doc,
      size,
      recordId: this.nextRecordId++,
      deleted: false,
    };
    this.byKey.set(entry.key, entry);
    this.idOrder.push(entry);
    this.natural.push(entry);
    this.bytes += size;
    this.idOrderSorted = false;
  }

  /** Capped collections drop their oldest documents once over `max` documents or `size` bytes. */
  private enforceCap(): void {
    if (!this.options.capped) return;
    const maxDocs =
      typeof this.options.max === 'number' && this.options.max > 0 ? this.options.max : Infinity;
    const maxBytes = typeof this.options.size === 'number' ? this.options.size : Infinity;
    for (const entry of this.natural) {
      if (this.count <= maxDocs && this.bytes <= maxBytes) break;
      if (!entry.deleted && this.count > 1) this.remove(entry.id);
    }
  }

  private sortedIds(): StoredEntry[] {
    if (!this.idOrderSorted) {
      this.idOrder = this.idOrder.filter((entry) => !entry.deleted);
      this.idOrder.sort((a, b) => compareBson(a.id, b.id));
      this.idOrderSorted = true;
    }
    return this.idOrder;
  }

  /** First index whose id is ≥ value (inclusive) or > value (exclusive). */
  private lowerBound(order: StoredEntry[], value: unknown, inclusive: boolean): number {
    let low = 0;
    let high = order.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      const cmp = compareBson((order[mid] as StoredEntry).id, value);
      if (cmp < 0 || (cmp === 0 && !inclusive)) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  private compact(): void {
    this.natural = this.natural.filter((entry) => !entry.deleted);
    this.idOrder = this.idOrder.filter((entry) => !entry.deleted);
    this.tombstones = 0;
  }
}

function beyondUpper(id: unknown, upper: { value: unknown; inclusive: boolean }): boolean {
  const cmp = compareBson(id, upper.value);
  return cmp > 0 || (cmp === 0 && !upper.inclusive);
}

function belowLower(id: unknown, lower: { value: unknown; inclusive: boolean }): boolean {
  const cmp = compareBson(id, lower.value);
  return cmp < 0 || (cmp === 0 && !lower.inclusive);
}

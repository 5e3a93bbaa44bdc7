/**
 * A streaming cursor over one collection in `_id` or natural order. It remembers the last `_id`
 * (or record id) it returned and seeks past it on each batch, so a getMore costs O(log n + batch)
 * and concurrent writes never make it skip or repeat a document.
 */
import type { Document, Long } from 'bson';
import { CommandError, type CursorBatch, type ServerCursor } from '../contract.js';
import { canonicalRank } from './bson-order.js';
import type { Collection, IdBounds, StoredEntry } from './collection.js';
import { ARRAY_ELEMENT_OVERHEAD, MAX_BATCH_BYTES } from './cursors.js';
import type { DocumentPredicate } from './query.js';

export interface ScanOptions {
  order: 'natural' | 1 | -1;
  bounds: IdBounds;
  /** Canonical type `_id` must have (range predicates only match their own type). */
  idRank?: number;
  predicate: DocumentPredicate;
  project: ((doc: Document) => Document) | null;
  skip: number;
  /** 0 = no limit. */
  limit: number;
}

export class CollectionScanCursor implements ServerCursor {
  private lastId: { value: unknown } | undefined;
  private lastRecordId = 0;
  private skipLeft: number;
  private returned = 0;
  private done = false;

  constructor(
    readonly id: Long,
    /** False once the collection was dropped or renamed away (a transaction's copy stays live). */
    private readonly isLive: () => boolean,
    private readonly collection: Collection,
    private readonly options: ScanOptions,
    readonly lsid?: Document,
  ) {
    this.skipLeft = options.skip;
  }

  get ns(): string {
    return this.collection.ns;
  }

  async nextBatch(batchSize: number | undefined): Promise<CursorBatch> {
    return this.takeBatch(batchSize);
  }

  takeBatch(batchSize: number | undefined): CursorBatch {
    if (this.done) return { documents: [], exhausted: true };
    if (!this.isLive()) {
      this.done = true;
      throw new CommandError(175, 'QueryPlanKilled', `collection dropped: ${this.collection.ns}`);
    }
    const { predicate, project, limit, idRank } = this.options;
    const wanted = batchSize && batchSize > 0 ? batchSize : Number.POSITIVE_INFINITY;
    const documents: Document[] = [];
    let bytes = 0;
    let finishedScan = true;
    for (const entry of this.entries()) {
      const matches = (idRank === undefined || canonicalRank(entry.id) === idRank) && predicate(entry.doc);
      if (!matches || this.skipLeft > 0) {
        this.remember(entry);
        if (matches) this.skipLeft -= 1;
        continue;
      }
      const size = entry.size + ARRAY_ELEMENT_OVERHEAD;
      // Checked before adding, like the server: the document that would overflow the reply opens
      // the next batch (one document alone may fill a batch).
      if (documents.length > 0 && bytes + size > MAX_BATCH_BYTES) {
        finishedScan = false;
        break;
      }
      this.remember(entry);
      documents.push(project ? project(entry.doc) : entry.doc);
      bytes += size;
      this.returned += 1;
      if (limit > 0 && this.returned >= limit) break;
      if (documents.length >= wanted || bytes >= MAX_BATCH_BYTES) {
        finishedScan = false;
        break;
      }
    }
    if (finishedScan || (limit > 0 && this.returned >= limit) || !this.hasMore()) this.done = true;
    return { documents, exhausted: this.done };
  }

  close(): void {
    this.done = true;
  }

  private remember(entry: StoredEntry): void {
    if (this.options.order === 'natural') this.lastRecordId = entry.recordId;
    else this.lastId = { value: entry.id };
  }

  private entries(): Iterable<StoredEntry> {
    const { order, bounds } = this.options;
    if (order === 'natural') return this.collection.scanNatural(this.lastRecordId);
    if (!this.lastId) return this.collection.scanById(order, bounds);
    const resumed: IdBounds =
      order === 1
        ? { lower: { value: this.lastId.value, inclusive: false }, upper: bounds.upper }
        : { lower: bounds.lower, upper: { value: this.lastId.value, inclusive: false } };
    return this.collection.scanById(order, resumed);
  }

  /** Peeks whether anything is left, so the last full batch can already report cursor id 0. */
  private hasMore(): boolean {
    const { limit } = this.options;
    if (limit > 0 && this.returned >= limit) return false;
    for (const entry of this.entries()) {
      if (this.options.idRank !== undefined && canonicalRank(entry.id) !== this.options.idRank) continue;
      return true;
    }
    return false;
  }
}

/**
 * A backlog of mixed change events on one collection: inserts of new ~1 KB documents, updates
 * ($set of a few fields), replaces (a whole new ~1 KB document) and deletes, of live documents
 * only, so every write is exactly one change event. Written with ordered bulkWrite calls.
 */
import { type AnyBulkWriteOperation, type Collection, type Document, ObjectId } from 'mongodb';
import { orderDocument } from './documents.js';

/** Per 20 writes: 10 inserts, 5 updates, 2 replaces, 3 deletes (50 / 25 / 10 / 15 %). */
const PATTERN = 'IIUIDIURIIUDIIURIUDI';
const BULK_SIZE = 1_000;

export interface BacklogCounts {
  insert: number;
  update: number;
  replace: number;
  delete: number;
}

export class MixedWriter {
  private readonly live: ObjectId[] = [];
  private next = 0;
  private random = 12345;
  readonly counts: BacklogCounts = { insert: 0, update: 0, replace: 0, delete: 0 };

  constructor(private readonly collection: Collection<Document>) {}

  /** Inserts `count` documents that later updates, replaces and deletes can target (not counted). */
  async seed(count: number): Promise<void> {
    for (let start = 0; start < count; start += 5_000) {
      const documents = Array.from({ length: Math.min(5_000, count - start) }, () => this.newDocument());
      await this.collection.insertMany(documents, { ordered: true });
    }
  }

  /** Writes `count` more events of the mix. */
  async write(count: number): Promise<void> {
    for (let start = 0; start < count; start += BULK_SIZE) {
      const ops: AnyBulkWriteOperation<Document>[] = [];
      for (let k = 0; k < Math.min(BULK_SIZE, count - start); k += 1) ops.push(this.nextOperation());
      await this.collection.bulkWrite(ops, { ordered: true });
    }
  }

  get total(): number {
    return this.counts.insert + this.counts.update + this.counts.replace + this.counts.delete;
  }

  private nextOperation(): AnyBulkWriteOperation<Document> {
    const kind = this.live.length === 0 ? 'I' : PATTERN[this.total % PATTERN.length];
    const n = this.next;
    switch (kind) {
      case 'U':
        this.counts.update += 1;
        return {
          updateOne: {
            filter: { _id: this.pick() },
            update: { $set: { total: (n % 1000) / 3, 'customer.tier': 'platinum', updatedAt: new Date() } },
          },
        };
      case 'R': {
        this.counts.replace += 1;
        this.next += 1;
        const { _id, ...replacement } = orderDocument(this.next);
        return { replaceOne: { filter: { _id: this.pick() }, replacement } };
      }
      case 'D': {
        this.counts.delete += 1;
        const index = this.randomIndex();
        const id = this.live[index] as ObjectId;
        this.live[index] = this.live[this.live.length - 1] as ObjectId;
        this.live.pop();
        return { deleteOne: { filter: { _id: id } } };
      }
      default:
        this.counts.insert += 1;
        return { insertOne: { document: this.newDocument() } };
    }
  }

  private newDocument(): Document {
    const id = new ObjectId();
    this.live.push(id);
    this.next += 1;
    return orderDocument(this.next, id);
  }

  private pick(): ObjectId {
    return this.live[this.randomIndex()] as ObjectId;
  }

  /** A small deterministic generator (LCG), so runs write the same mix. */
  private randomIndex(): number {
    this.random = (this.random * 1_103_515_245 + 12_345) % 2_147_483_648;
    return this.random % this.live.length;
  }
}

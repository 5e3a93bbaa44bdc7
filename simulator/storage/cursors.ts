/**
 * The cursor registry every member shares (a cursor opened on one member can be continued with
 * getMore on the same process), plus the simple cursor over an already materialised result.
 */
import { randomBytes } from 'node:crypto';
import type { Document } from 'bson';
import { BSON, Long } from 'bson';
import type { CursorBatch, CursorRegistry, ServerCursor } from '../contract.js';

/** Default first-batch size of find/aggregate when the client gives none. */
export const DEFAULT_FIRST_BATCH = 101;
/** Replies stay under the 16 MiB BSON limit with room for the envelope. */
export const MAX_BATCH_BYTES = 16 * 1024 * 1024 - 16 * 1024;
/** Bytes each document adds to a batch array beyond its own size: type byte and index key. */
export const ARRAY_ELEMENT_OVERHEAD = 8;

export class CursorRegistryImpl implements CursorRegistry {
  private readonly cursors = new Map<string, ServerCursor>();

  add(make: (id: Long) => ServerCursor): ServerCursor {
    let id = randomCursorId();
    while (this.cursors.has(id.toString())) id = randomCursorId();
    // Keyed by the cursor's own id, so a part that built its cursor first can still register it.
    const cursor = make(id);
    this.cursors.set(cursor.id.toString(), cursor);
    return cursor;
  }

  get(id: Long): ServerCursor | undefined {
    return this.cursors.get(id.toString());
  }

  remove(id: Long): void {
    this.cursors.delete(id.toString());
  }

  /** Closes and forgets every cursor owned by a session (endSessions/killSessions). */
  closeForSession(matches: (lsid: Document) => boolean): number {
    let closed = 0;
    for (const [key, cursor] of this.cursors) {
      if (cursor.lsid && matches(cursor.lsid)) {
        cursor.close();
        this.cursors.delete(key);
        closed += 1;
      }
    }
    return closed;
  }

  closeAll(): void {
    for (const cursor of this.cursors.values()) cursor.close();
    this.cursors.clear();
  }

  get size(): number {
    return this.cursors.size;
  }
}

/** A positive, non-zero int64 like the server's random cursor ids. */
function randomCursorId(): Long {
  const bytes = randomBytes(8);
  bytes[7] = (bytes[7] as number) & 0x7f;
  const id = Long.fromBytesLE([...bytes]);
  return id.isZero() ? Long.ONE : id;
}

/** A cursor over documents produced up front (sorted finds, aggregations, list commands). */
export class ArrayCursor implements ServerCursor {
  private position = 0;

  constructor(
    readonly id: Long,
    readonly ns: string,
    private documents: Document[],
    readonly lsid?: Document,
  ) {}

  async nextBatch(batchSize: number | undefined): Promise<CursorBatch> {
    return this.takeBatch(batchSize);
  }

  takeBatch(batchSize: number | undefined): CursorBatch {
    const limit = batchSize && batchSize > 0 ? batchSize : Number.POSITIVE_INFINITY;
    const out: Document[] = [];
    let bytes = 0;
    while (this.position < this.documents.length && out.length < limit) {
      const doc = this.documents[this.position] as Document;
      bytes += estimateSize(doc) + ARRAY_ELEMENT_OVERHEAD;
      if (out.length > 0 && bytes > MAX_BATCH_BYTES) break;
      out.push(doc);
      this.position += 1;
    }
    return { documents: out, exhausted: this.position >= this.documents.length };
  }

  close(): void {
    this.documents = [];
    this.position = 0;
  }
}

function estimateSize(doc: Document): number {
  return BSON.calculateObjectSize(doc);
}

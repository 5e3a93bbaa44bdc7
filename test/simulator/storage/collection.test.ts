import { type Document, Int32, Long } from 'bson';
import { describe, expect, it } from 'vitest';
import { Collection } from '../../../simulator/storage/collection.js';
import { CollectionScanCursor } from '../../../simulator/storage/scan-cursor.js';

function filled(count: number): Collection {
  const collection = new Collection('db', 'c');
  // Descending inserts: `_id` order is the reverse of insertion order.
  for (let i = count - 1; i >= 0; i -= 1) collection.insert({ _id: new Int32(i), v: new Int32(i) });
  return collection;
}

function cursorOver(collection: Collection, order: 'natural' | 1 | -1): CollectionScanCursor {
  return new CollectionScanCursor(Long.ONE, () => true, collection, {
    order,
    bounds: {},
    predicate: () => true,
    project: null,
    skip: 0,
    limit: 0,
  });
}

function ids(docs: Document[]): number[] {
  return docs.map((doc) => Number((doc._id as Int32).value));
}

describe('Collection scans', () => {
  it('keeps an _id-order cursor exact while documents are deleted and inserted around it', () => {
    const collection = filled(3000);
    const cursor = cursorOver(collection, 1);
    const seen = ids(cursor.takeBatch(500).documents);
    // Delete 1600 documents ahead of the cursor (over half: the tombstones get compacted)…
    for (let i = 1000; i < 2600; i += 1) collection.remove(new Int32(i));
    // …and add some behind it and some ahead of it.
    collection.insert({ _id: new Int32(-1) });
    collection.insert({ _id: new Int32(5000) });
    for (let batch = cursor.takeBatch(500); ; batch = cursor.takeBatch(500)) {
      seen.push(...ids(batch.documents));
      if (batch.exhausted) break;
    }
    const expected = [
      ...Array.from({ length: 1000 }, (_, i) => i),
      ...Array.from({ length: 400 }, (_, i) => 2600 + i),
      5000,
    ];
    expect(seen).toEqual(expected);
    expect(collection.count).toBe(1402);
  });

  it('scans in insertion order and in reverse _id order', () => {
    const collection = filled(5);
    const natural = cursorOver(collection, 'natural').takeBatch(10);
    expect(ids(natural.documents)).toEqual([4, 3, 2, 1, 0]);
    expect(natural.exhausted).toBe(true);
    expect(ids(cursorOver(collection, -1).takeBatch(10).documents)).toEqual([4, 3, 2, 1, 0]);
    expect(ids(cursorOver(collection, 1).takeBatch(2).documents)).toEqual([0, 1]);
  });

  it('reports the BSON data size and rejects duplicate _id values across number types', () => {
    const collection = filled(2);
    // {_id: int32, v: int32}: 4 length + 2 × (type + 'x\0'-style name + 4) + 1 terminator = 21 bytes.
    expect(collection.dataSize).toBe(2 * 21);
    expect(() => collection.insert({ _id: 1.0 })).toThrow(
      /E11000 duplicate key error collection: db.c index: _id_/,
    );
    expect(() => collection.insert({ _id: Long.fromNumber(0) })).toThrow(/dup key: \{ _id: 0 \}/);
  });

  it('drops the oldest documents of a capped collection', () => {
    const capped = new Collection('db', 'capped', undefined, { capped: true, size: 1_000_000, max: 3 });
    for (let i = 0; i < 5; i += 1) capped.insert({ _id: i });
    expect(capped.count).toBe(3);
    expect(capped.getById(0)).toBeUndefined();
    expect(capped.getById(4)).toEqual({ _id: 4 });
  });
});

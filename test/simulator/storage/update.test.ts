import { Double, Int32, Long } from 'bson';
import { describe, expect, it } from 'vitest';
import { toTyped } from '../../../simulator/storage/typed-values.js';
import { applyUpdate, upsertDocument } from '../../../simulator/storage/update.js';

const base = toTyped({
  _id: 1,
  count: 1,
  big: Long.fromNumber(5),
  ratio: new Double(1.5),
  arr: [1, 2, 3],
  items: [
    { k: 'a', n: 1 },
    { k: 'b', n: 2 },
  ],
  nested: { b: 1 },
});

describe('applyUpdate', () => {
  it('keeps each number in its BSON type through arithmetic', () => {
    const after = applyUpdate(base, { $inc: { count: 1, big: 1, ratio: 1 } });
    expect(after.count).toEqual(new Int32(2));
    expect(after.big).toEqual(Long.fromNumber(6));
    expect(after.ratio).toEqual(new Double(2.5));
    // Untouched numbers keep their wrappers (and so their exact bytes).
    expect(after.arr).toEqual([new Int32(1), new Int32(2), new Int32(3)]);
  });

  it('never mutates the stored document', () => {
    applyUpdate(base, { $set: { 'nested.b': 2 }, $push: { arr: 4 } });
    expect(base.nested).toEqual({ b: new Int32(1) });
    expect(base.arr).toHaveLength(3);
  });

  it('resolves the positional $ operator from the query', () => {
    const after = applyUpdate(base, { $inc: { 'items.$.n': 10 } }, { query: { 'items.k': 'b' } });
    expect(after.items).toEqual([
      { k: 'a', n: new Int32(1) },
      { k: 'b', n: new Int32(12) },
    ]);
  });

  it('supports array operators', () => {
    expect(applyUpdate(base, { $pull: { arr: { $gte: 2 } } }).arr).toEqual([new Int32(1)]);
    expect(applyUpdate(base, { $pop: { arr: -1 } }).arr).toEqual([new Int32(2), new Int32(3)]);
    expect(applyUpdate(base, { $push: { arr: { $each: [4, 5], $slice: -3 } } }).arr).toEqual([
      new Int32(3),
      new Int32(4),
      new Int32(5),
    ]);
    expect(applyUpdate(base, { $inc: { 'arr.$[]': 1 } }).arr).toEqual([
      new Int32(2),
      new Int32(3),
      new Int32(4),
    ]);
  });

  it('ignores $setOnInsert unless inserting and allows setting _id to itself', () => {
    expect(applyUpdate(base, { $setOnInsert: { q: 1 } })).toEqual(base);
    expect(applyUpdate(base, { $set: { _id: 1, z: 1 } }).z).toEqual(new Int32(1));
    expect(() => applyUpdate(base, { $set: { _id: 2 } })).toThrow(/immutable field '_id'/);
  });

  it('keeps _id first in replacements', () => {
    expect(Object.keys(applyUpdate(base, { a: 1 }))).toEqual(['_id', 'a']);
  });
});

describe('upsertDocument', () => {
  it('seeds the new document from equality fields of the filter, including dotted ones', () => {
    const filter = toTyped({ 'a.b': 1, c: { $gt: 5 }, _id: 7 });
    const doc = upsertDocument(filter, toTyped({ $set: { d: 1 }, $setOnInsert: { e: 2 } }));
    expect(doc).toEqual(toTyped({ _id: 7, a: { b: 1 }, d: 1, e: 2 }));
  });

  it('uses the replacement with a generated _id when the filter has none', () => {
    const doc = upsertDocument({ k: 1 }, { only: 1 });
    expect(Object.keys(doc)).toEqual(['_id', 'only']);
    expect(doc._id?._bsontype).toBe('ObjectId');
  });
});

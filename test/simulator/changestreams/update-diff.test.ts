import { BSON, type Document, Int32 } from 'bson';
import { describe, expect, it } from 'vitest';
import { applyDiff, describeUpdate } from '../../../simulator/changestreams/update-description.js';
import { updateDiff, updateOplogObject } from '../../../simulator/oplog/update-diff.js';

const LONG_TEXT = 'x'.repeat(64);

/** Compares as BSON bytes so field order and number types count, like the server's binaryEqual. */
function sameBson(a: Document, b: Document): boolean {
  return Buffer.from(BSON.serialize(a)).equals(Buffer.from(BSON.serialize(b)));
}

describe('updateDiff produces the $v:2 oplog diff', () => {
  it('updates, inserts and deletes top-level fields in d/u/i order', () => {
    const diff = updateDiff({ _id: 1, a: 1, b: 2, c: 3 }, { _id: 1, a: 5, c: 3, d: 4 });
    expect(Object.keys(diff)).toEqual(['d', 'u', 'i']);
    expect(diff).toEqual({ d: { b: false }, u: { a: 5 }, i: { d: 4 } });
  });

  it('returns an empty diff for identical documents', () => {
    expect(updateDiff({ _id: 1, a: { b: [1, 2] } }, { _id: 1, a: { b: [1, 2] } })).toEqual({});
  });

  it('treats a changed number type as a change, like a byte comparison', () => {
    expect(updateDiff({ _id: 1, n: new Int32(1) }, { _id: 1, n: 1.5 })).toEqual({ u: { n: 1.5 } });
  });

  it('writes a sub-diff s<field> for a large nested document with a small change', () => {
    const before = { _id: 1, profile: { name: LONG_TEXT, age: 30, city: 'Seoul' } };
    const after = { _id: 1, profile: { name: LONG_TEXT, age: 31, city: 'Seoul' } };
    expect(updateDiff(before, after)).toEqual({ sprofile: { u: { age: 31 } } });
  });

  it('replaces a small nested document whole when its sub-diff would not be smaller', () => {
    expect(updateDiff({ _id: 1, p: { a: 1 } }, { _id: 1, p: { a: 2 } })).toEqual({ u: { p: { a: 2 } } });
  });

  it('diffs arrays with a: true, u<index> and l for truncation', () => {
    const base = [LONG_TEXT, 'b', 'c', 'd', 'e'];
    expect(updateDiff({ _id: 1, arr: base }, { _id: 1, arr: [LONG_TEXT, 'b', 'Z', 'd', 'e'] })).toEqual({
      sarr: { a: true, u2: 'Z' },
    });
    expect(updateDiff({ _id: 1, arr: base }, { _id: 1, arr: [LONG_TEXT, 'b'] })).toEqual({
      sarr: { a: true, l: 2 },
    });
    expect(updateDiff({ _id: 1, arr: base }, { _id: 1, arr: [...base, 'f'] })).toEqual({
      sarr: { a: true, u5: 'f' },
    });
  });

  it('nests sub-diffs inside array elements', () => {
    const item = { label: LONG_TEXT, qty: 1 };
    const diff = updateDiff({ _id: 1, items: [item, item] }, { _id: 1, items: [item, { ...item, qty: 2 }] });
    expect(diff).toEqual({ sitems: { a: true, s1: { u: { qty: 2 } } } });
  });

  it('moves a field that changed position with a delete-free insert at the end', () => {
    expect(updateDiff({ _id: 1, a: 1, b: 2, c: 3 }, { _id: 1, a: 1, c: 3, b: 2 })).toEqual({ i: { b: 2 } });
  });

  it('applying the diff rebuilds the new document exactly (field order included)', () => {
    const pairs: [Document, Document][] = [
      [
        { _id: 1, a: 1, b: { c: LONG_TEXT, d: [1, 2, 3] }, e: 'x' },
        { _id: 1, b: { c: LONG_TEXT, d: [1, 9] }, e: 'y', f: { g: 1 } },
      ],
      [
        {
          _id: 2,
          list: [
            { k: LONG_TEXT, v: 1 },
            { k: LONG_TEXT, v: 2 },
          ],
        },
        { _id: 2, list: [{ k: LONG_TEXT, v: 1 }, { k: LONG_TEXT, v: 3 }, 4] },
      ],
      [
        { _id: 3, z: 1, y: 2, x: 3 },
        { _id: 3, x: 3, y: 2, z: 1 },
      ],
    ];
    for (const [before, after] of pairs) {
      expect(sameBson(applyDiff(before, updateDiff(before, after)), after)).toBe(true);
    }
  });

  it('logs the whole document when the diff is not smaller than it', () => {
    expect(updateOplogObject({ _id: 1, a: 1 }, { _id: 1, b: 2 })).toEqual({ _id: 1, b: 2 });
    const big = { _id: 1, text: LONG_TEXT, n: 1 };
    expect(updateOplogObject(big, { ...big, n: 2 })).toEqual({ $v: 2, diff: { u: { n: 2 } } });
  });

  it('rejects non-documents', () => {
    expect(() => updateDiff([] as unknown as Document, {})).toThrow(TypeError);
  });
});

describe('updateDescription from a diff', () => {
  it('lists updated, removed and truncated paths in the server order', () => {
    const description = describeUpdate({
      d: { gone: false },
      u: { a: 1 },
      i: { b: 2 },
      sprofile: { u: { age: 31 } },
      sarr: { a: true, l: 2, u1: 'Z' },
    });
    expect(description.updatedFields).toEqual({ a: 1, b: 2, 'profile.age': 31, 'arr.1': 'Z' });
    expect(Object.keys(description.updatedFields)).toEqual(['a', 'b', 'profile.age', 'arr.1']);
    expect(description.removedFields).toEqual(['gone']);
    expect(description.truncatedArrays).toEqual([{ field: 'arr', newSize: 2 }]);
    expect(description.disambiguatedPaths).toEqual({});
  });

  it('disambiguates numeric-looking and dotted field names', () => {
    const description = describeUpdate({
      sa: { u: { '0': 1 } },
      'sx.y': { u: { z: 2 } },
      sarr: { a: true, s0: { u: { f: 3 } } },
    });
    expect(description.updatedFields).toEqual({ 'a.0': 1, 'x.y.z': 2, 'arr.0.f': 3 });
    expect(description.disambiguatedPaths).toEqual({ 'a.0': ['a', '0'], 'x.y.z': ['x.y', 'z'] });
  });
});

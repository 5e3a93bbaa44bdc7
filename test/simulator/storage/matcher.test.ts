import { BSONRegExp, Decimal128, Double, Int32, Long, MaxKey, MinKey, ObjectId } from 'bson';
import { describe, expect, it } from 'vitest';
import { compileMatcher } from '../../../simulator/storage/matcher.js';
import { compileFilter, planIdScan } from '../../../simulator/storage/query.js';
import { toTyped } from '../../../simulator/storage/typed-values.js';

const docs = toTyped([
  {
    _id: 1,
    v: 5,
    tags: ['a', 'b'],
    items: [
      { k: 'x', n: 1 },
      { k: 'y', n: 7 },
    ],
  },
  { _id: 2, v: 'five', tags: [] },
  { _id: 3, v: null },
  { _id: 4 },
  { _id: 5, v: Long.fromNumber(5), w: new Double(5) },
  { _id: 6, v: new ObjectId('65a000000000000000000000') },
]);

function ids(filter: Record<string, unknown>): unknown[] {
  const test = compileFilter(toTyped(filter));
  return docs.filter(test).map((doc) => (doc._id as unknown as Int32).value);
}

describe('query matching with server semantics', () => {
  it('brackets comparisons by type, except against MinKey and MaxKey', () => {
    expect(ids({ v: { $gte: 0 } })).toEqual([1, 5]);
    expect(ids({ v: { $gt: 'a' } })).toEqual([2]);
    expect(ids({ v: { $lt: new MaxKey() } })).toEqual([1, 2, 3, 5, 6]);
    expect(ids({ v: { $gt: new MinKey() } })).toEqual([1, 2, 3, 5, 6]);
    expect(ids({ v: { $gt: new ObjectId('64a000000000000000000000') } })).toEqual([6]);
  });

  it('matches null against missing fields and equal numbers across types', () => {
    expect(ids({ v: null })).toEqual([3, 4]);
    expect(ids({ v: { $ne: null } })).toEqual([1, 2, 5, 6]);
    expect(ids({ v: { $gte: null } })).toEqual([3, 4]);
    expect(ids({ v: 5 })).toEqual([1, 5]);
    expect(ids({ w: new Int32(5) })).toEqual([5]);
  });

  it('sees the real BSON type in $type', () => {
    expect(ids({ v: { $type: 'int' } })).toEqual([1]);
    expect(ids({ v: { $type: 'long' } })).toEqual([5]);
    expect(ids({ w: { $type: 'double' } })).toEqual([5]);
    expect(ids({ v: { $type: 'number' } })).toEqual([1, 5]);
    expect(ids({ v: { $type: ['string', 'objectId'] } })).toEqual([2, 6]);
    expect(ids({ tags: { $type: 'array' } })).toEqual([1, 2]);
  });

  it('matches array fields by element and by whole value', () => {
    expect(ids({ tags: 'a' })).toEqual([1]);
    expect(ids({ tags: ['a', 'b'] })).toEqual([1]);
    expect(ids({ tags: { $size: 0 } })).toEqual([2]);
    expect(ids({ tags: { $all: ['b', 'a'] } })).toEqual([1]);
    expect(ids({ 'items.k': 'y' })).toEqual([1]);
    expect(ids({ items: { $elemMatch: { k: 'x', n: { $gt: 5 } } } })).toEqual([]);
    expect(ids({ items: { $elemMatch: { k: 'y', n: { $gt: 5 } } } })).toEqual([1]);
    // Without $elemMatch each condition may be met by a different element (7 > 5, 1 < 2).
    expect(ids({ 'items.n': { $gt: 5, $lt: 2 } })).toEqual([1]);
  });

  it('supports logical operators, $in/$nin, $exists, $regex, $not and $mod', () => {
    expect(ids({ $or: [{ v: 'five' }, { _id: { $gte: 6 } }] })).toEqual([2, 6]);
    expect(ids({ $nor: [{ v: { $exists: true } }] })).toEqual([4]);
    expect(ids({ v: { $in: [5, 'five'] } })).toEqual([1, 2, 5]);
    expect(ids({ _id: { $nin: [1, 2, 3] }, v: { $exists: true } })).toEqual([5, 6]);
    expect(ids({ v: { $regex: '^FI', $options: 'i' } })).toEqual([2]);
    expect(ids({ v: new BSONRegExp('ive$') })).toEqual([2]);
    expect(ids({ v: { $not: { $type: 'string' } }, _id: { $lte: 3 } })).toEqual([1, 3]);
    expect(ids({ _id: { $mod: [2, 0] } })).toEqual([2, 4, 6]);
  });

  it('leaves operators it does not implement to mingo', () => {
    expect(compileMatcher({ $expr: { $gt: ['$v', 1] } })).toBeNull();
    expect(ids({ $expr: { $eq: ['$_id', 3] } })).toEqual([3]);
  });

  it("follows the server's NaN rule: NaN is neither below nor above a number, and equals NaN", () => {
    const numbers = toTyped([
      { _id: 1, v: new Double(Number.NaN) },
      { _id: 2, v: Decimal128.fromString('NaN') },
      { _id: 3, v: new Double(Number.NEGATIVE_INFINITY) },
      { _id: 4, v: 3 },
      { _id: 5, v: 'text' },
    ]);
    const matching = (filter: Record<string, unknown>) => {
      const test = compileFilter(toTyped(filter));
      return numbers.filter(test).map((doc) => (doc._id as unknown as Int32).value);
    };
    // mongodb/mongo jstests/core/nan.js: $lt/$gt NaN match nothing, $lte/$gte/equality NaN the NaNs.
    expect(matching({ v: { $lte: 3 } })).toEqual([3, 4]);
    expect(matching({ v: { $lt: Number.POSITIVE_INFINITY } })).toEqual([3, 4]);
    expect(matching({ v: { $gte: Number.NEGATIVE_INFINITY } })).toEqual([3, 4]);
    expect(matching({ v: { $gt: Number.NaN } })).toEqual([]);
    expect(matching({ v: { $lt: Decimal128.fromString('NaN') } })).toEqual([]);
    expect(matching({ v: { $gte: Number.NaN } })).toEqual([1, 2]);
    expect(matching({ v: { $lte: Decimal128.fromString('NaN') } })).toEqual([1, 2]);
    expect(matching({ v: Number.NaN })).toEqual([1, 2]);
    // MinKey and MaxKey compare across types: NaN is above the one and below the other.
    expect(matching({ v: { $gt: new MinKey(), $lt: new MaxKey() } })).toEqual([1, 2, 3, 4, 5]);
  });

  it('keeps a numeric `_id` range for the matcher, since the `_id` order puts NaN among the numbers', () => {
    const plan = planIdScan(toTyped({ _id: { $lte: 3 } }));
    expect(plan?.bounds.upper).toMatchObject({ inclusive: true });
    const test = compileFilter(plan?.residual);
    expect(test(toTyped({ _id: new Double(Number.NaN) }))).toBe(false);
    expect(test(toTyped({ _id: new Double(2) }))).toBe(true);
    const strings = planIdScan(toTyped({ _id: { $lt: 'm' } }));
    expect(strings?.residual).toEqual({});
  });
});

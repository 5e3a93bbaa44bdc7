import {
  Binary,
  BSONRegExp,
  Decimal128,
  Double,
  Int32,
  Long,
  MaxKey,
  MinKey,
  ObjectId,
  Timestamp,
} from 'bson';
import { describe, expect, it } from 'vitest';
import { compareBson } from '../../../simulator/storage/bson-order.js';
import { valueKey } from '../../../simulator/storage/value-key.js';

describe('compareBson', () => {
  it('orders values of different types by MongoDB canonical type order', () => {
    const ascending = [
      new MinKey(),
      null,
      new Int32(-5),
      'apple',
      { a: 1 },
      [1],
      new Binary(Buffer.from([1])),
      new ObjectId('000000000000000000000001'),
      false,
      true,
      new Date(0),
      new Timestamp({ t: 1, i: 0 }),
      new BSONRegExp('a', 'i'),
      new MaxKey(),
    ];
    const shuffled = [...ascending].reverse();
    shuffled.sort(compareBson);
    expect(shuffled).toEqual(ascending);
  });

  it('compares numbers by value across int32, int64, double and decimal', () => {
    expect(compareBson(new Int32(1), new Double(1))).toBe(0);
    expect(compareBson(Long.fromNumber(2), new Double(1.5))).toBe(1);
    expect(compareBson(Decimal128.fromString('0.5'), new Int32(1))).toBe(-1);
    expect(compareBson(Long.fromString('9007199254740993'), Long.fromString('9007199254740992'))).toBe(1);
    expect(compareBson(Number.NaN, -Infinity)).toBe(-1);
  });

  it('compares strings by UTF-8 bytes, not UTF-16 code units', () => {
    // U+FF5E (3 UTF-8 bytes, EF BD 9E) sorts before U+1F600 (4 bytes, F0 ...), although its
    // UTF-16 unit 0xFF5E is above the surrogate 0xD83D.
    expect(compareBson('\uFF5E', '😀')).toBe(-1);
    expect(compareBson('abc', 'abd')).toBe(-1);
    expect(compareBson('ab', 'abc')).toBe(-1);
  });

  it('compares objects field by field (type, then name, then value) and arrays element-wise', () => {
    expect(compareBson({ a: 1 }, { a: 2 })).toBe(-1);
    expect(compareBson({ a: 1 }, { b: 0 })).toBe(-1);
    expect(compareBson({ a: 'x' }, { a: 1 })).toBe(1);
    expect(compareBson({ a: 1 }, { a: 1, b: 1 })).toBe(-1);
    expect(compareBson([1, 2], [1, 3])).toBe(-1);
    expect(compareBson([1, 2, 3], [1, 2])).toBe(1);
  });

  it('orders ObjectIds by bytes and binaries by length, subtype, then bytes', () => {
    expect(
      compareBson(new ObjectId('65a000000000000000000000'), new ObjectId('64ffffffffffffffffffffff')),
    ).toBe(1);
    expect(compareBson(new Binary(Buffer.from([9])), new Binary(Buffer.from([1, 1])))).toBe(-1);
    expect(compareBson(new Binary(Buffer.from([1]), 0), new Binary(Buffer.from([1]), 4))).toBe(-1);
  });
});

describe('valueKey', () => {
  it('gives equal numbers of different types the same key, and different values different keys', () => {
    expect(valueKey(new Int32(1))).toBe(valueKey(new Double(1)));
    expect(valueKey(Long.fromNumber(1))).toBe(valueKey(1));
    expect(valueKey('1')).not.toBe(valueKey(1));
    expect(valueKey({ a: 1, b: 2 })).not.toBe(valueKey({ b: 2, a: 1 }));
    expect(valueKey(new ObjectId('65a000000000000000000000'))).toBe(
      valueKey(new ObjectId('65a000000000000000000000')),
    );
  });
});

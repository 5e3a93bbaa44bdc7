import { Binary, Decimal128, Double, Int32, Long, ObjectId, Timestamp } from 'bson';
import { describe, expect, it } from 'vitest';
import { collectPaths, decimalDigitsOf, sampledTypeOf } from '../../functions/core/sample-paths.js';

describe('sampledTypeOf', () => {
  it("names each BSON type as MongoDB's $type does, binData of subtype 4 as uuid", () => {
    const cases: [unknown, string][] = [
      [new Double(1.5), 'double'],
      [new Int32(1), 'int'],
      [Long.fromNumber(1), 'long'],
      [Decimal128.fromString('1.5'), 'decimal'],
      [new ObjectId(), 'objectId'],
      [new Date(0), 'date'],
      [new Timestamp({ t: 1, i: 1 }), 'timestamp'],
      [new Binary(new Uint8Array(16), 4), 'uuid'],
      [new Binary(new Uint8Array(3), 0), 'binData'],
      ['text', 'string'],
      [true, 'bool'],
      [null, 'null'],
      [/a/, 'regex'],
      [[1], 'array'],
      [{ a: 1 }, 'object'],
    ];
    for (const [value, type] of cases) expect(sampledTypeOf(value), type).toBe(type);
  });
});

describe('decimalDigitsOf', () => {
  it('counts the digits before and after the point, exponents included', () => {
    expect(decimalDigitsOf('12.340')).toEqual({ integer: 2, scale: 3 });
    expect(decimalDigitsOf('-1.5E+3')).toEqual({ integer: 4, scale: 0 });
    expect(decimalDigitsOf('1E-2')).toEqual({ integer: 1, scale: 2 });
    expect(decimalDigitsOf('0.001')).toEqual({ integer: 1, scale: 3 });
    expect(decimalDigitsOf('NaN')).toBeNull();
  });
});

describe('collectPaths', () => {
  const documents = [
    { _id: 1, customer: { city: 'Oslo', zip: new Int32(150) }, lines: [{ sku: 'a' }, { sku: 'b' }] },
    { _id: 2, customer: { city: null }, lines: [] },
    { _id: 3, 'a.b': 1, '': 2, tags: ['x', new Int32(3)] },
  ];

  it('counts presence and types per dotted path, arrays whole and through their first element', () => {
    const { documents: count, paths } = collectPaths(documents);
    expect(count).toBe(3);
    const city = paths.get('customer.city');
    expect(city?.present).toBe(2);
    expect(Object.fromEntries(city?.types ?? [])).toEqual({ string: 1, null: 1 });
    const lines = paths.get('lines');
    expect(lines?.present).toBe(2);
    expect(Object.fromEntries(lines?.elementTypes ?? [])).toEqual({ object: 2 });
    expect(paths.get('lines.0.sku')?.present).toBe(1);
    expect(paths.has('lines.1.sku')).toBe(false);
    expect(Object.fromEntries(paths.get('tags')?.elementTypes ?? [])).toEqual({ string: 1, int: 1 });
  });

  it('skips keys no dotted path can name', () => {
    const collection = collectPaths(documents);
    expect(collection.unaddressableKeys).toBe(2);
    expect([...collection.paths.keys()].some((path) => path.includes('a.b'))).toBe(false);
  });

  it('tracks at most maxTrackedPaths paths and counts the others', () => {
    const wide = [Object.fromEntries(Array.from({ length: 50 }, (_, n) => [`f${n}`, n]))];
    const collection = collectPaths(wide, { maxTrackedPaths: 10, maxDepth: 16, distinctCap: 10 });
    expect(collection.paths.size).toBe(10);
    expect(collection.untrackedPaths).toBe(40);
  });

  it('walks no deeper than maxDepth', () => {
    const deep = [{ a: { b: { c: { d: 1 } } } }];
    const collection = collectPaths(deep, { maxTrackedPaths: 100, maxDepth: 2, distinctCap: 10 });
    expect([...collection.paths.keys()]).toEqual(['a', 'a.b']);
  });

  it('forgets distinct strings past the cap, and long strings', () => {
    const many = Array.from({ length: 20 }, (_, n) => ({
      s: `v${n}`,
      long: 'x'.repeat(300),
      few: n % 2 ? 'a' : 'b',
    }));
    const { paths } = collectPaths(many, { maxTrackedPaths: 100, maxDepth: 16, distinctCap: 10 });
    expect(paths.get('s')?.distinctStrings).toBeNull();
    expect(paths.get('long')?.distinctStrings).toBeNull();
    expect(paths.get('few')?.distinctStrings?.size).toBe(2);
  });

  it('keeps the widest decimal digits seen', () => {
    const { paths } = collectPaths([
      { d: Decimal128.fromString('123.4') },
      { d: Decimal128.fromString('1.2345') },
    ]);
    expect(paths.get('d')?.decimalDigits).toEqual({ integer: 3, scale: 4 });
  });
});

import { Binary, Decimal128, Double, Int32, Long, ObjectId } from 'bson';
import { describe, expect, it } from 'vitest';
import { collectPaths } from '../../functions/core/sample-paths.js';
import { columnNameFor, decimalTypeFor, sampleReport } from '../../functions/core/sample-suggest.js';

function suggestions(documents: unknown[]): Record<string, string | null> {
  const report = sampleReport(collectPaths(documents), 500);
  return Object.fromEntries(report.paths.map((path) => [path.path, path.suggestedColumn?.type ?? null]));
}

const uuid = () => new Binary(new Uint8Array(16), 4);

describe('suggested column types', () => {
  const documents = Array.from({ length: 100 }, (_, n) => ({
    _id: new ObjectId(),
    ref: new ObjectId(),
    small: new Int32(n),
    big: n % 2 ? Long.fromNumber(n) : new Int32(n),
    ratio: n % 2 ? new Double(n / 3) : new Int32(n),
    price: Decimal128.fromString(`${n}.25`),
    ok: n % 3 === 0,
    at: new Date(n),
    id: uuid(),
    status: ['a', 'b', 'c'][n % 3],
    name: `name ${n}`,
    ...(n % 2 ? { sometimes: `s${n}` } : {}),
    maybe: n % 2 ? null : new Int32(n),
    tags: ['p', 'q'],
    scores: [new Double(1.5)],
    empty: [],
    customer: { city: ['Oslo', 'Lima'][n % 2] },
    mixed: n % 2 ? 'text' : new Int32(n),
    mostly: n === 0 ? 'odd one' : new Int32(n),
  }));
  const types = suggestions(documents);

  it('maps each kind to its documented type', () => {
    expect(types).toMatchObject({
      ref: 'String',
      small: 'Int32',
      big: 'Int64',
      ratio: 'Float64',
      price: 'Decimal(18,2)',
      ok: 'Bool',
      at: 'DateTime64(3)',
      id: 'UUID',
      'customer.city': 'LowCardinality(String)',
      status: 'LowCardinality(String)',
      name: 'String',
    });
  });

  it('makes a path Nullable when it was missing or null, LowCardinality as LowCardinality(Nullable(String))', () => {
    expect(types.sometimes).toBe('Nullable(String)');
    expect(types.maybe).toBe('Nullable(Int32)');
    const lowCardinality = suggestions(Array.from({ length: 40 }, (_, n) => (n % 2 ? { s: 'a' } : {})));
    expect(lowCardinality.s).toBe('LowCardinality(Nullable(String))');
  });

  it('suggests Array(T) from the elements, never Nullable around an array', () => {
    expect(types.tags).toBe('Array(LowCardinality(String))');
    expect(types.scores).toBe('Array(Float64)');
    expect(types.empty).toBeNull();
  });

  it('suggests nothing for _id, documents and mixed kinds; a 95% kind decides', () => {
    expect(types._id).toBeNull();
    expect(types.customer).toBeNull();
    expect(types.mixed).toBeNull();
    expect(types.mostly).toBe('Int32');
  });

  it('lists every suggestion once in suggestedColumns, in path order', () => {
    const report = sampleReport(collectPaths(documents), 500);
    const paths = report.suggestedColumns.map((column) => column.path);
    expect(paths).toEqual([...paths].sort());
    expect(paths).toContain('customer.city');
    expect(report.suggestedColumns.find((column) => column.path === 'customer.city')?.name).toBe(
      'customer_city',
    );
  });
});

describe('decimalTypeFor', () => {
  it('picks the narrowest of 18, 38 and 76 digits that holds the values', () => {
    expect(decimalTypeFor({ integer: 10, scale: 2 })).toBe('Decimal(18,2)');
    expect(decimalTypeFor({ integer: 30, scale: 4 })).toBe('Decimal(38,4)');
    expect(decimalTypeFor({ integer: 70, scale: 10 })).toBeNull();
  });
});

describe('columnNameFor', () => {
  it('makes strict, unreserved, unique identifiers', () => {
    const taken = new Set<string>();
    expect(columnNameFor('customer.city', taken)).toBe('customer_city');
    expect(columnNameFor('customer_city', taken)).toBe('customer_city_2');
    expect(columnNameFor('lines.0.sku', taken)).toBe('lines_0_sku');
    expect(columnNameFor('doc', taken)).toBe('field_doc');
    expect(columnNameFor('_peerdb_version', taken)).toBe('field_peerdb_version');
    expect(columnNameFor('9lives', taken)).toBe('c_9lives');
    expect(columnNameFor('prix-€', taken)).toBe('prix__');
  });
});

describe('sampleReport', () => {
  it('keeps the paths present in the most documents when there are more than maxPaths', () => {
    const documents = [{ a: 1, b: 1, c: 1 }, { a: 1, b: 1 }, { a: 1 }];
    const report = sampleReport(collectPaths(documents), 2);
    expect(report.paths.map((path) => path.path)).toEqual(['a', 'b']);
    expect(report.pathsFound).toBe(3);
    expect(report.pathsTruncated).toBe(true);
  });

  it('gives each type its share of the documents holding the path', () => {
    const report = sampleReport(collectPaths([{ a: 'x' }, { a: 'y' }, { a: null }, {}]), 10);
    const [a] = report.paths;
    expect(a).toMatchObject({ path: 'a', present: 3, presentShare: 0.75 });
    expect(a?.types).toEqual([
      { type: 'string', count: 2, share: 0.6667 },
      { type: 'null', count: 1, share: 0.3333 },
    ]);
  });
});

import {
  Binary,
  BSONRegExp,
  BSONSymbol,
  Code,
  DBRef,
  Decimal128,
  Double,
  deserialize,
  Int32,
  Long,
  MaxKey,
  MinKey,
  ObjectId,
  serialize,
  Timestamp,
  UUID,
} from 'bson';
import { describe, expect, it } from 'vitest';
import {
  canonicalNumber,
  documentToJson,
  MAX_NESTING_DEPTH,
  valueToJson,
} from '../../functions/core/bson-json.js';
import { UnsupportedValueError } from '../../functions/core/errors.js';

const oid = new ObjectId('6275077a2f3159f971e405c6');

/** One row per BSON type: the value and its exact JSON in `doc` (see docs/table-schema.md). */
const TYPES: [string, unknown, string][] = [
  ['ObjectId', oid, '"6275077a2f3159f971e405c6"'],
  ['string', 'héllo "q" \\ \n', '"héllo \\"q\\" \\\\ \\n"'],
  ['int32 (plain number)', 42, '42'],
  ['Int32 wrapper', new Int32(-7), '-7'],
  ['Long', Long.fromString('9223372036854775807'), '9223372036854775807'],
  ['Long negative', Long.fromString('-9007199254740993'), '-9007199254740993'],
  ['bigint', 12345678901234567890n, '12345678901234567890'],
  ['Double fraction', new Double(2.5), '2.5'],
  ['Double integral keeps .0', new Double(3), '3.0'],
  ['Double -0', new Double(-0), '-0.0'],
  ['Double NaN', new Double(Number.NaN), '"NaN"'],
  ['Double +Infinity', new Double(Number.POSITIVE_INFINITY), '"+Inf"'],
  ['Double -Infinity', new Double(Number.NEGATIVE_INFINITY), '"-Inf"'],
  ['plain NaN', Number.NaN, '"NaN"'],
  ['plain fraction', 0.1, '0.1'],
  ['plain huge double', 1e300, '1e+300'],
  ['Decimal128', Decimal128.fromString('1234.5600'), '"1234.5600"'],
  ['Decimal128 NaN', Decimal128.fromString('NaN'), '"NaN"'],
  ['true', true, 'true'],
  ['false', false, 'false'],
  ['null', null, 'null'],
  ['undefined', undefined, '{}'],
  ['Date with ms', new Date('2025-08-19T20:32:11.705Z'), '"2025-08-19T20:32:11.705Z"'],
  ['Date trailing zero trimmed', new Date('2025-08-19T20:32:11.700Z'), '"2025-08-19T20:32:11.7Z"'],
  ['Date whole second', new Date('2025-08-19T20:32:11.000Z'), '"2025-08-19T20:32:11Z"'],
  ['Date before 1970', new Date('1969-07-20T20:17:40Z'), '"1969-07-20T20:17:40Z"'],
  ['Date beyond year 9999', new Date(253402300800000), '"+010000-01-01T00:00:00Z"'],
  ['invalid Date', new Date(Number.NaN), 'null'],
  ['Timestamp', new Timestamp({ t: 1651836794, i: 3 }), '{"T":1651836794,"I":3}'],
  ['Binary generic', new Binary(Buffer.from('hi'), 0), '{"Subtype":0,"Data":"aGk="}'],
  ['Binary user-defined', new Binary(Buffer.from([255]), 128), '{"Subtype":128,"Data":"/w=="}'],
  [
    'UUID',
    new UUID('bffdb617-400e-4860-9900-7c0e0048b305'),
    '{"Subtype":4,"Data":"v/22F0AOSGCZAHwOAEizBQ=="}',
  ],
  ['Uint8Array', new Uint8Array([1, 2]), '{"Subtype":0,"Data":"AQI="}'],
  ['BSONRegExp', new BSONRegExp('^a.*z$', 'mi'), '{"Pattern":"^a.*z$","Options":"im"}'],
  ['JS RegExp', /ab+c/gi, '{"Pattern":"ab+c","Options":"i"}'],
  ['MinKey', new MinKey(), '{}'],
  ['MaxKey', new MaxKey(), '{}'],
  ['Code', new Code('function () { return 1; }'), '"function () { return 1; }"'],
  ['Code with scope', new Code('x + 1', { x: 1 }), '{"Code":"x + 1","Scope":{"x":1}}'],
  ['Symbol', new BSONSymbol('sym'), '"sym"'],
  ['DBRef', new DBRef('users', oid, 'app'), '{"$ref":"users","$id":"6275077a2f3159f971e405c6","$db":"app"}'],
  [
    'DBRef with extra fields',
    new DBRef('users', oid, undefined, { note: 'x' }),
    '{"$ref":"users","$id":"6275077a2f3159f971e405c6","note":"x"}',
  ],
  ['array of mixed', [1, 'a', null, [true], { k: new Double(1) }], '[1,"a",null,[true],{"k":1.0}]'],
  ['empty array', [], '[]'],
  ['nested document', { a: { b: { c: 'd' } } }, '{"a":{"b":{"c":"d"}}}'],
  ['key with a dot', { 'a.b': 1 }, '{"a.b":1}'],
  ['key starting with $', { $price: 1 }, '{"$price":1}'],
  ['empty key', { '': 1 }, '{"":1}'],
];

describe('BSON → JSON for doc, one row per type', () => {
  it.each(TYPES)('%s', (_name, value, expected) => {
    expect(valueToJson(value)).toBe(expected);
    expect(() => JSON.parse(expected)).not.toThrow();
  });
});

describe('documents', () => {
  it('keeps the document key order and every key', () => {
    const doc = { _id: oid, z: 1, a: 2, 'x.y': 3, $m: 4 };
    expect(documentToJson(doc)).toBe('{"_id":"6275077a2f3159f971e405c6","z":1,"a":2,"x.y":3,"$m":4}');
  });

  it('maps a document read back by the real bson library, with and without promoted values', () => {
    const original = {
      _id: oid,
      n: new Int32(5),
      d: new Double(5),
      l: Long.fromString('9007199254740993'),
      when: new Date('2024-01-01T00:00:00Z'),
      tags: ['a', 'b'],
    };
    const bytes = serialize(original);
    expect(documentToJson(deserialize(bytes, { promoteValues: false }))).toBe(
      '{"_id":"6275077a2f3159f971e405c6","n":5,"d":5.0,"l":9007199254740993,"when":"2024-01-01T00:00:00Z","tags":["a","b"]}',
    );
    // Promoted values lose the int/double distinction: an integral double reads as an integer.
    expect(documentToJson(deserialize(bytes))).toBe(
      '{"_id":"6275077a2f3159f971e405c6","n":5,"d":5,"l":9007199254740993,"when":"2024-01-01T00:00:00Z","tags":["a","b"]}',
    );
  });

  it('maps a 100-deep document (MongoDB’s own limit) and refuses one past the guard', () => {
    let deep: Record<string, unknown> = { leaf: true };
    for (let level = 0; level < 99; level++) deep = { n: deep };
    const json = documentToJson(deep);
    expect(json.startsWith('{"n":{"n":')).toBe(true);
    expect(JSON.parse(json)).toEqual(deep);

    let tooDeep: unknown = 1;
    for (let level = 0; level < MAX_NESTING_DEPTH + 5; level++) tooDeep = [tooDeep];
    expect(() => documentToJson({ a: tooDeep })).toThrow(/deeper than 200 levels/);
  });

  it('refuses a cycle instead of overflowing the stack', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    expect(() => documentToJson(cyclic)).toThrow(UnsupportedValueError);
  });

  it('maps a large document (about 8 MB, 100k fields) exactly', () => {
    const big: Record<string, unknown> = {};
    for (let index = 0; index < 100_000; index++) big[`field${index}`] = 'v'.repeat(64);
    const json = documentToJson(big);
    expect(json.length).toBeGreaterThan(7_000_000);
    expect(Object.keys(JSON.parse(json))).toHaveLength(100_000);
  });

  it('refuses values that are not BSON, naming where', () => {
    expect(() => documentToJson({ a: { b: () => 1 } })).toThrow(/at \.a\.b/);
    expect(() => documentToJson({ a: new Map() })).toThrow(/instance of Map/);
    expect(() => documentToJson({ a: { _bsontype: 'Mystery' } })).toThrow(/BSON Mystery/);
    expect(() => documentToJson([] as unknown as Record<string, unknown>)).toThrow(UnsupportedValueError);
  });
});

describe('canonicalNumber', () => {
  it.each([
    ['1', '1'],
    ['1.0', '1'],
    ['001.500', '1.5'],
    ['-0', '0'],
    ['0.000', '0'],
    ['1E+3', '1000'],
    ['1.5E-3', '0.0015'],
    ['-12.340E1', '-123.4'],
    ['.5', '0.5'],
    ['1E+100', '1e100'],
    ['1.25E-100', '1.25e-100'],
    ['NaN', 'NaN'],
    ['-Infinity', '-Infinity'],
    ['Infinity', 'Infinity'],
  ])('%s → %s', (input, expected) => {
    expect(canonicalNumber(input)).toBe(expected);
  });

  it('refuses text that is not a number', () => {
    expect(() => canonicalNumber('12abc')).toThrow(UnsupportedValueError);
  });
});

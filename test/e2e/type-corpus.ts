import {
  Binary,
  BSONRegExp,
  Code,
  Decimal128,
  Double,
  Int32,
  Long,
  MaxKey,
  MinKey,
  ObjectId,
  Timestamp,
  UUID,
} from 'mongodb';

export const LARGE_DOCUMENT_BYTES = 15 * 1024 * 1024;

function nested(depth: number): Record<string, unknown> {
  let value: Record<string, unknown> = { leaf: 'bottom' };
  for (let level = 1; level < depth; level += 1) value = { d: value };
  return value;
}

/** One document per BSON type and edge case of the brief §4, keyed by what it exercises. */
export function typeCorpus(prefix: string, options: { large: boolean }): Record<string, unknown>[] {
  const documents: Record<string, unknown>[] = [
    { _id: `${prefix}objectId`, v: new ObjectId('6275077a2f3159f971e405c6') },
    { _id: `${prefix}unicode`, v: 'héllo 🌍 中文', ключ: 'значение', '': 'empty key' },
    { _id: `${prefix}int32`, v: new Int32(42), neg: new Int32(-7) },
    {
      _id: `${prefix}long`,
      v: Long.fromString('9223372036854775807'),
      small: Long.fromNumber(5),
      beyond53: Long.fromString('9007199254740993'),
    },
    { _id: `${prefix}double`, v: new Double(2.5), integral: new Double(3), big: new Double(1e300) },
    {
      _id: `${prefix}double-special`,
      nan: new Double(Number.NaN),
      inf: new Double(Number.POSITIVE_INFINITY),
      ninf: new Double(Number.NEGATIVE_INFINITY),
      nzero: new Double(-0),
    },
    {
      _id: `${prefix}decimal`,
      v: Decimal128.fromString('1234.5600'),
      tiny: Decimal128.fromString('1E-6143'),
    },
    { _id: `${prefix}bool-null`, t: true, f: false, n: null },
    { _id: `${prefix}date-before-1970`, v: new Date('1969-07-20T20:17:40Z') },
    { _id: `${prefix}date-far-future`, v: new Date('+010000-01-01T00:00:00Z') },
    { _id: `${prefix}date-millis`, v: new Date('2025-08-19T20:32:11.705Z') },
    { _id: `${prefix}timestamp`, v: new Timestamp({ t: 1651836794, i: 3 }) },
    { _id: `${prefix}binary`, v: new Binary(Buffer.from([1, 2, 3]), 0) },
    { _id: `${prefix}uuid`, v: new UUID('bffdb617-400e-4860-9900-7c0e0048b305') },
    { _id: `${prefix}regex`, v: new BSONRegExp('^a.*z$', 'mi') },
    { _id: `${prefix}min-max-key`, lo: new MinKey(), hi: new MaxKey() },
    { _id: `${prefix}code`, fn: new Code('function () { return 1; }'), scoped: new Code('x + 1', { x: 1 }) },
    { _id: `${prefix}keys-dots-dollar`, 'a.b': 1, a: { b: 2 }, $price: 3, nested: { 'x.y': { $z: 'deep' } } },
    { _id: `${prefix}nesting-100`, v: nested(99) },
    { _id: `${prefix}empty`, obj: {}, arr: [], str: '' },
    {
      _id: `${prefix}arrays`,
      v: [new Int32(1), 'a', null, [true], { k: new Double(1.5) }],
      matrix: [
        [1, 2],
        [3, 4],
      ],
    },
  ];
  if (options.large)
    documents.push({ _id: `${prefix}large-15mb`, blob: 'x'.repeat(LARGE_DOCUMENT_BYTES), tail: 'end' });
  return documents;
}

/**
 * Hand-written expectations from docs/table-schema.md (the String column keeps the text exactly):
 * fragments of `doc` each corpus document must contain.
 */
export const DOCUMENTED_FRAGMENTS: Record<string, string[]> = {
  objectId: ['"v":"6275077a2f3159f971e405c6"'],
  unicode: ['"v":"héllo 🌍 中文"', '"ключ":"значение"'],
  int32: ['"v":42', '"neg":-7'],
  long: ['"v":9223372036854775807', '"beyond53":9007199254740993'],
  double: ['"v":2.5', '"integral":3.0'],
  'double-special': ['"nan":"NaN"', '"inf":"+Inf"', '"ninf":"-Inf"', '"nzero":-0.0'],
  decimal: ['"v":"1234.5600"'],
  'bool-null': ['"t":true', '"n":null'],
  'date-before-1970': ['"v":"1969-07-20T20:17:40Z"'],
  'date-far-future': ['"v":"+010000-01-01T00:00:00Z"'],
  'date-millis': ['"v":"2025-08-19T20:32:11.705Z"'],
  timestamp: ['"v":{"T":1651836794,"I":3}'],
  binary: ['"v":{"Subtype":0,"Data":"AQID"}'],
  uuid: ['"v":{"Subtype":4,"Data":"v/22F0AOSGCZAHwOAEizBQ=="}'],
  regex: ['"v":{"Pattern":"^a.*z$","Options":"im"}'],
  'min-max-key': ['"lo":{}', '"hi":{}'],
  code: ['"fn":"function () { return 1; }"', '"scoped":{"Code":"x + 1","Scope":{"x":1}}'],
  'keys-dots-dollar': ['"a.b":1', '"a":{"b":2}', '"$price":3', '"x.y":{"$z":"deep"}'],
  empty: ['"obj":{}', '"arr":[]'],
  arrays: ['"v":[1,"a",null,[true],{"k":1.5}]'],
  'large-15mb': ['"tail":"end"'],
};

/**
 * What a JSON `doc` column gives back for a document written as `json`, per the "What the JSON
 * column does on its own" notes of docs/table-schema.md: null values and empty objects are
 * dropped, and key order is the column's own (callers compare canonically).
 */
export function jsonColumnView(json: string): unknown {
  const view = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(view);
    if (value === null || typeof value !== 'object') return value;
    const entries = Object.entries(value)
      .map(([key, inner]) => [key, view(inner)] as const)
      .filter(
        ([, inner]) =>
          inner !== null &&
          !(typeof inner === 'object' && !Array.isArray(inner) && Object.keys(inner).length === 0),
      );
    return Object.fromEntries(entries);
  };
  return view(JSON.parse(json));
}

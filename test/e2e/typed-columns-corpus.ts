/**
 * The typed-columns corpus and, written apart from the product's code, the conversion
 * docs/table-schema.md ("Typed columns") documents: what each MongoDB value becomes in each
 * column type, as ClickHouse answers it in JSONEachRow (64-bit integers and decimals quoted,
 * NaN and infinities quoted), and whether it counts as a mismatch.
 */
import {
  Binary,
  BSONRegExp,
  Code,
  Decimal128,
  type Document,
  Double,
  Int32,
  Long,
  MaxKey,
  MinKey,
  ObjectId,
  Timestamp,
} from 'mongodb';

/** One value of the pool: `json` is its text in `doc` when that is not a plain scalar's. */
interface PoolValue {
  value: unknown;
  json?: string;
}

export const MISSING = Symbol('missing');

const UUID_BYTES = Buffer.from('bffdb617400e486099007c0e0048b305', 'hex');

/** Every BSON type, and the edge values of each the conversions treat differently. */
export const POOL: readonly PoolValue[] = [
  { value: MISSING },
  { value: null },
  { value: 'Lyon' },
  { value: '42' },
  { value: '-7' },
  { value: '3.25' },
  { value: '1e3' },
  { value: '2024-05-06' },
  { value: '2024-05-06T07:08:09.5Z' },
  { value: '2024-05-06 07:08:09+02:00' },
  { value: 'BFFDB617-400E-4860-9900-7C0E0048B305' },
  { value: 'true' },
  { value: '0' },
  { value: '' },
  { value: 'quote " back \\ slash' },
  { value: '99999999999999999999' },
  { value: '2024-02-30' },
  { value: new Int32(0) },
  { value: new Int32(1) },
  { value: new Int32(-5) },
  { value: new Int32(2147483647) },
  { value: Long.fromString('-9223372036854775808') },
  { value: Long.fromString('9223372036854775807') },
  { value: Long.fromNumber(5_000_000_000) },
  { value: new Double(1) },
  { value: new Double(2.5) },
  { value: new Double(-0) },
  { value: new Double(Number.NaN) },
  { value: new Double(Number.POSITIVE_INFINITY) },
  { value: new Double(19.99) },
  { value: new Double(-1234.5) },
  { value: Decimal128.fromString('1234.50') },
  { value: Decimal128.fromString('-0.001') },
  { value: Decimal128.fromString('1E+3') },
  { value: Decimal128.fromString('0.125') },
  { value: Decimal128.fromString('12345678901234567.89') },
  { value: Decimal128.fromString('NaN') },
  { value: Decimal128.fromString('-Infinity') },
  { value: true },
  { value: false },
  { value: new Date('2024-05-06T07:08:09.120Z') },
  { value: new Date('1969-12-31T23:59:59.999Z') },
  { value: new Date('1800-01-01T00:00:00.000Z') },
  { value: new Date('2200-01-01T00:00:00.000Z') },
  { value: new ObjectId('6275077a2f3159f971e405c6') },
  { value: new Binary(UUID_BYTES, 4), json: `{"Subtype":4,"Data":"${UUID_BYTES.toString('base64')}"}` },
  { value: new Binary(Buffer.from([1, 2, 3]), 0), json: '{"Subtype":0,"Data":"AQID"}' },
  { value: new Timestamp({ t: 5, i: 2 }), json: '{"T":5,"I":2}' },
  { value: new BSONRegExp('^a', 'i'), json: '{"Pattern":"^a","Options":"i"}' },
  { value: new MinKey(), json: '{}' },
  { value: new MaxKey(), json: '{}' },
  { value: new Code('x + 1') },
  { value: { x: new Int32(1), y: 'z' }, json: '{"x":1,"y":"z"}' },
  { value: [new Int32(1), 'a', null], json: '[1,"a",null]' },
  { value: [], json: '[]' },
  {
    value: [Long.fromNumber(7), '8', 'x', new Double(2.5), null, new Double(3)],
    json: '[7,"8","x",2.5,null,3.0]',
  },
];

/** The columns of the corpus table; every path takes every pool value somewhere in the corpus. */
export const CORPUS_COLUMNS = [
  { name: 's', path: 'v.s', type: 'Nullable(String)' },
  { name: 'i32', path: 'v.i32', type: 'Nullable(Int32)' },
  { name: 'i64', path: 'i64', type: 'Int64' },
  { name: 'u64', path: 'u64', type: 'Nullable(UInt64)' },
  { name: 'f', path: 'f', type: 'Nullable(Float64)' },
  { name: 'dec', path: 'dec', type: 'Nullable(Decimal(12,3))' },
  { name: 'flag', path: 'flag', type: 'Bool' },
  { name: 'day', path: 'day', type: 'Nullable(Date)' },
  { name: 'at', path: 'at', type: 'DateTime64(3)' },
  { name: 'uid', path: 'uid', type: 'Nullable(UUID)' },
  { name: 'tags', path: 'tags', type: 'Array(Nullable(Int64))' },
  { name: 'sku0', path: 'lines.0.sku', type: 'LowCardinality(String)' },
  { name: 'customer_city', path: 'customer.city', type: 'LowCardinality(Nullable(String))' },
  { name: 'total', path: 'total', type: 'Decimal(18,2)' },
] as const;

export const CORPUS_EXCLUDED = ['secret', 'customer.ssn', 'lines.note'];

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/** Pool value of document `i` at the path salted `salt`: every value comes round at every path. */
function pick(i: number, salt: number): PoolValue {
  let step = 1 + 2 * (salt % 7);
  while (gcd(step, POOL.length) !== 1) step += 1;
  return POOL[(i * step + salt * 13) % POOL.length] as PoolValue;
}

function put(target: Document, key: string, entry: PoolValue): void {
  if (entry.value !== MISSING) target[key] = entry.value;
}

/** Document `i` of the corpus (`salt` varies the values, e.g. for updates and re-inserts). */
export function corpusDocument(i: number, salt = 0): Document {
  const doc: Document = { _id: `doc-${i}` };
  const shape = (i + salt) % 5;
  if (shape === 4) doc.v = 5;
  else if (shape !== 3) {
    doc.v = {};
    put(doc.v, 's', pick(i, salt + 1));
    put(doc.v, 'i32', pick(i, salt + 2));
  }
  for (const [key, offset] of [
    ['i64', 3],
    ['u64', 4],
    ['f', 5],
    ['dec', 6],
    ['flag', 7],
    ['day', 8],
    ['at', 9],
    ['uid', 10],
    ['tags', 11],
    ['total', 12],
  ] as const)
    put(doc, key, pick(i, salt + offset));
  doc.lines = linesOf(i, salt);
  if ((i + salt) % 9 !== 8) {
    doc.customer = { ssn: `SECRET-ssn-${i}` };
    put(doc.customer, 'city', pick(i, salt + 14));
  } else doc.customer = 'not a document';
  if (i % 3 === 0) doc.secret = { note: `SECRET-${i}`, nested: [`SECRET-${i}`] };
  doc.kept = `kept-${i}-${salt}`;
  return doc;
}

function linesOf(i: number, salt: number): unknown {
  switch ((i + salt) % 6) {
    case 0:
      return 'no lines';
    case 1:
      return [];
    case 2:
      return [new Int32(5), { sku: 'second' }];
    case 3:
      return [{ note: `SECRET-line-${i}` }];
    default: {
      const first: Document = { note: `SECRET-line-${i}` };
      put(first, 'sku', pick(i, salt + 15));
      return [first, { sku: 'second', note: `SECRET-line2-${i}` }];
    }
  }
}

/** The value at a dotted path of a document read back from MongoDB (numeric segments index arrays). */
export function valueAt(document: unknown, path: string): unknown {
  let current: unknown = document;
  for (const segment of path.split('.')) {
    if (Array.isArray(current) && /^\d+$/.test(segment)) current = current[Number(segment)];
    else if (isPlainDocument(current)) current = (current as Document)[segment];
    else return MISSING;
    if (current === undefined) return MISSING;
  }
  return current;
}

function isPlainDocument(value: unknown): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    !('_bsontype' in value) &&
    !(value instanceof Date) &&
    !(value instanceof RegExp)
  );
}

/** A column's expected answer and whether the value counts as a mismatch. */
export interface Expected {
  value: unknown;
  mismatch: number;
}

interface ColumnKind {
  base: string;
  nullable: boolean;
  precision: number;
  scale: number;
}

function kindOf(type: string): ColumnKind {
  let text = type.replace(/^LowCardinality\((.*)\)$/, '$1');
  const nullable = text.startsWith('Nullable(');
  if (nullable) text = text.slice('Nullable('.length, -1);
  const decimal = /^Decimal\((\d+),(\d+)\)$/.exec(text);
  if (decimal) return { base: 'Decimal', nullable, precision: Number(decimal[1]), scale: Number(decimal[2]) };
  return { base: text, nullable, precision: 0, scale: 0 };
}

const DEFAULTS: Record<string, unknown> = {
  String: '',
  Int32: 0,
  Int64: '0',
  UInt64: '0',
  Float64: 0,
  Decimal: '0',
  Bool: false,
  Date: '1970-01-01',
  'DateTime64(3)': '1970-01-01 00:00:00.000',
  UUID: '00000000-0000-0000-0000-000000000000',
};

/** What the column of `type` holds for `value` (MISSING for an absent path). */
export function expectedColumn(type: string, value: unknown): Expected {
  const array = /^Array\((.*)\)$/.exec(type);
  if (array) return expectedArray(array[1] as string, value);
  const kind = kindOf(type);
  const empty = kind.nullable ? null : DEFAULTS[kind.base];
  if (value === MISSING || value === null || value === undefined) return { value: empty, mismatch: 0 };
  const converted = convert(kind, value);
  return converted === undefined ? { value: empty, mismatch: 1 } : { value: converted, mismatch: 0 };
}

function expectedArray(elementType: string, value: unknown): Expected {
  if (value === MISSING || value === null) return { value: [], mismatch: 0 };
  if (!Array.isArray(value)) return { value: [], mismatch: 1 };
  const elements = value.map((element) => expectedColumn(elementType, element));
  return {
    value: elements.map((element) => element.value),
    mismatch: elements.reduce((sum, element) => sum + element.mismatch, 0),
  };
}

function convert(kind: ColumnKind, value: unknown): unknown {
  switch (kind.base) {
    case 'String':
      return stringOf(value);
    case 'Int32':
      return inRange(integerOf(value), -(2n ** 31n), 2n ** 31n - 1n, (n) => Number(n));
    case 'Int64':
      return inRange(integerOf(value), -(2n ** 63n), 2n ** 63n - 1n, String);
    case 'UInt64':
      return inRange(integerOf(value), 0n, 2n ** 64n - 1n, String);
    case 'Float64':
      return floatOf(value);
    case 'Decimal':
      return decimalOf(value, kind.precision, kind.scale);
    case 'Bool':
      return boolOf(value);
    case 'Date':
      return dateOf(value);
    case 'DateTime64(3)':
      return dateTimeOf(value);
    case 'UUID':
      return uuidOf(value);
    default:
      throw new Error(`no expectation for ${kind.base}`);
  }
}

const typeOf = (value: unknown): string =>
  typeof value === 'object' && value !== null && '_bsontype' in value
    ? String((value as { _bsontype: string })._bsontype)
    : typeof value;

function stringOf(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return String(value);
  if (value instanceof Date) return value.toISOString().replace(/\.?0+Z$/, 'Z');
  switch (typeOf(value)) {
    case 'Code':
      return (value as Code).code;
    case 'ObjectId':
      return (value as ObjectId).toHexString();
    case 'Int32':
      return String((value as Int32).value);
    case 'Long':
      return (value as Long).toString();
    case 'Decimal128':
      return (value as Decimal128).toString();
    case 'Double':
      return doubleText((value as Double).value);
    default:
      return jsonTextOf(value);
  }
}

/** doc's double: integral values keep ".0"; NaN and infinities as the strings doc holds. */
function doubleText(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? '+Inf' : '-Inf';
  if (Object.is(x, -0)) return '-0.0';
  return Number.isInteger(x) ? `${x}.0` : String(x);
}

function jsonTextOf(value: unknown): string {
  const entry = POOL.find((candidate) => sameValue(candidate.value, value));
  if (entry?.json === undefined) throw new Error(`no doc text known for ${String(value)}`);
  return entry.json;
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a === MISSING) return false;
  return JSON.stringify(describe(a)) === JSON.stringify(describe(b));
}

function describe(value: unknown): unknown {
  if (value instanceof RegExp) return { regex: value.source, flags: value.flags };
  if (typeOf(value) === 'BSONRegExp')
    return { regex: (value as BSONRegExp).pattern, flags: (value as BSONRegExp).options };
  if (typeOf(value) === 'Binary') {
    const binary = value as Binary;
    return {
      binary: Buffer.from(binary.buffer.subarray(0, binary.length())).toString('hex'),
      subtype: binary.sub_type,
    };
  }
  if (Array.isArray(value)) return value.map(describe);
  if (typeof value === 'object' && value !== null && !('_bsontype' in value))
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, describe(inner)]));
  return {
    type: typeOf(value),
    text: String(value instanceof Object && 'toString' in value ? value.toString() : value),
  };
}

/** Exact decimal: digits and a power of ten, or undefined for anything not a finite decimal. */
function exactOf(value: unknown): { digits: bigint; power: number } | undefined {
  let text: string | undefined;
  switch (typeOf(value)) {
    case 'Int32':
      text = String((value as Int32).value);
      break;
    case 'Long':
      text = (value as Long).toString();
      break;
    case 'Double': {
      const x = (value as Double).value;
      text = Number.isFinite(x) ? String(x) : undefined;
      break;
    }
    case 'Decimal128':
      text = (value as Decimal128).toString();
      break;
    case 'string':
      text = value as string;
      break;
  }
  const match = text === undefined ? null : /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (match === null || `${match[2]}${match[3] ?? ''}` === '') return undefined;
  const digits = BigInt(`${match[1] === '-' ? '-' : ''}${match[2]}${match[3] ?? ''}` || '0');
  return { digits, power: Number(match[4] ?? 0) - (match[3] ?? '').length };
}

function integerOf(value: unknown): bigint | undefined {
  if (typeof value === 'string') return /^[+-]?\d+$/.test(value) ? BigInt(value) : undefined;
  const type = typeOf(value);
  if (!['Int32', 'Long', 'Double', 'Decimal128'].includes(type)) return undefined;
  const exact = exactOf(value);
  if (exact === undefined) return undefined;
  let { digits, power } = exact;
  while (power < 0 && digits % 10n === 0n) {
    digits /= 10n;
    power += 1;
  }
  return power < 0 ? undefined : digits * 10n ** BigInt(power);
}

function inRange<T>(n: bigint | undefined, min: bigint, max: bigint, out: (n: bigint) => T): T | undefined {
  return n === undefined || n < min || n > max ? undefined : out(n);
}

function floatOf(value: unknown): unknown {
  let x: number | undefined;
  switch (typeOf(value)) {
    case 'Double':
      x = (value as Double).value;
      break;
    case 'Int32':
      x = (value as Int32).value;
      break;
    case 'Long':
      x = Number(BigInt((value as Long).toString()));
      break;
    case 'Decimal128':
      x = Number((value as Decimal128).toString());
      break;
    case 'string': {
      const text = value as string;
      const parsed = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(text) ? Number(text) : Number.NaN;
      x = Number.isFinite(parsed) ? parsed : undefined;
      break;
    }
  }
  if (x === undefined) return undefined;
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  return x;
}

/** Decimal(P,S) as ClickHouse prints it quoted: no trailing zeros after the point. */
function decimalOf(value: unknown, precision: number, scale: number): string | undefined {
  const exact = exactOf(value);
  if (exact === undefined) return undefined;
  let { digits, power } = exact;
  while (power < -scale && digits % 10n === 0n) {
    digits /= 10n;
    power += 1;
  }
  if (power < -scale) return undefined;
  const scaled = digits * 10n ** BigInt(power + scale);
  const magnitude = scaled < 0n ? -scaled : scaled;
  if (magnitude >= 10n ** BigInt(precision)) return undefined;
  return canonicalDecimal(scaled, scale);
}

export function canonicalDecimal(scaled: bigint, scale: number): string {
  const negative = scaled < 0n;
  const text = (negative ? -scaled : scaled).toString().padStart(scale + 1, '0');
  const whole = text.slice(0, text.length - scale);
  const fraction = text.slice(text.length - scale).replace(/0+$/, '');
  return `${negative ? '-' : ''}${whole}${fraction === '' ? '' : `.${fraction}`}`;
}

function boolOf(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') return { true: true, '1': true, false: false, '0': false }[value];
  const n = integerOf(value);
  return n === 0n ? false : n === 1n ? true : undefined;
}

function millisOf(value: unknown): number | undefined {
  if (value instanceof Date) return value.getTime();
  if (typeof value !== 'string') return undefined;
  const match =
    /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?(Z|[+-]\d{2}:\d{2})?)?$/.exec(
      value,
    );
  if (match === null) return undefined;
  const [year, month, day, hour, minute, second] = match
    .slice(1, 7)
    .map((part) => Number(part ?? 0)) as number[];
  const ms = Date.UTC(
    year as number,
    (month as number) - 1,
    day,
    hour,
    minute,
    second,
    Number((match[7] ?? '').padEnd(3, '0')),
  );
  const back = new Date(ms);
  if (back.getUTCDate() !== day || back.getUTCMonth() !== (month as number) - 1) return undefined;
  const zone = match[8];
  if (zone === undefined || zone === 'Z') return ms;
  const offset = (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) * 60_000;
  return zone[0] === '+' ? ms - offset : ms + offset;
}

function dateOf(value: unknown): string | undefined {
  const ms = millisOf(value);
  if (ms === undefined || ms < 0 || ms >= Date.UTC(2149, 5, 7)) return undefined;
  return new Date(ms).toISOString().slice(0, 10);
}

function dateTimeOf(value: unknown): string | undefined {
  const ms = millisOf(value);
  if (ms === undefined || ms < Date.UTC(1900, 0, 1) || ms >= Date.UTC(2300, 0, 1)) return undefined;
  return new Date(ms).toISOString().slice(0, 23).replace('T', ' ');
}

function uuidOf(value: unknown): string | undefined {
  if (typeof value === 'string')
    return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value)
      ? value.toLowerCase()
      : undefined;
  if (typeOf(value) !== 'Binary') return undefined;
  const binary = value as Binary;
  if ((binary.sub_type !== 4 && binary.sub_type !== 3) || binary.length() !== 16) return undefined;
  const hex = Buffer.from(binary.buffer.subarray(0, 16)).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** How many of the pool's values documents hold at `path` (the generated documents share the pool's objects). */
export function poolValuesAt(documents: readonly Document[], path: string): number {
  const seen = new Set<number>();
  for (const document of documents)
    seen.add(POOL.findIndex((entry) => entry.value === valueAt(document, path)));
  seen.delete(-1);
  return seen.size;
}

import {
  type BsonKind,
  binaryParts,
  bsonKind,
  longToBigInt,
  objectIdHex,
  regexOptionsFromJsFlags,
  timestampParts,
} from './bson-kind.js';
import { UnsupportedValueError } from './errors.js';

/**
 * MongoDB refuses documents nested deeper than 100 levels; anything deeper did not come from a
 * server (or is a cycle), so the writer stops instead of overflowing the stack.
 */
export const MAX_NESTING_DEPTH = 200;

/**
 * ClickHouse settings the destination must use when it inserts `doc` into a JSON column (and
 * when it reads it back): without escaping, a key containing a dot is read as a nested path, so
 * `{"a.b":1}` and `{"a":{"b":1}}` would collide and an insert holding both fails. Date inference
 * is off because it is decided per insert from the first value of a path: the same date text
 * would land as DateTime64 in one insert and as String in the next.
 */
export const CLICKHOUSE_JSON_SETTINGS: Readonly<Record<string, number>> = Object.freeze({
  json_type_escape_dots_in_keys: 1,
  input_format_try_infer_dates: 0,
  input_format_try_infer_datetimes: 0,
});

/** How values render where `doc` (ClickPipes-compatible) and `_id` (equality-preserving) differ. */
export interface JsonStyle {
  /** Doubles keep a ".0" and int/long/double of one value render alike only when false. */
  canonicalNumbers: boolean;
  /** MinKey/MaxKey render as {"$minKey":1}/{"$maxKey":1} instead of {} (which an empty document also renders as). */
  distinctMinMaxKey: boolean;
}

export const DOC_STYLE: JsonStyle = Object.freeze({ canonicalNumbers: false, distinctMinMaxKey: false });
export const ID_STYLE: JsonStyle = Object.freeze({ canonicalNumbers: true, distinctMinMaxKey: true });

/** A whole document as the JSON text of the `doc` column (JSONEachRow-ready, also fine for a String column). */
export function documentToJson(doc: Record<string, unknown>): string {
  if (bsonKind(doc) !== 'document' && bsonKind(doc) !== 'DBRef') {
    throw new UnsupportedValueError(`a document must be a plain object, not ${bsonKind(doc)}`);
  }
  return valueToJson(doc, DOC_STYLE);
}

export function valueToJson(value: unknown, style: JsonStyle = DOC_STYLE): string {
  const out: string[] = [];
  write(value, style, out, 0, '');
  return out.join('');
}

const quote = (text: string): string => JSON.stringify(text);

/** Date → RFC 3339 in UTC with trailing zero milliseconds trimmed, as ClickPipes writes it. */
export function dateToIso(date: Date): string | null {
  if (Number.isNaN(date.getTime())) return null;
  return date.toISOString().replace(/\.?0+Z$/, 'Z');
}

/**
 * A double as ClickPipes writes it: integral values keep ".0" so ClickHouse infers Float64, and
 * NaN/Infinity (which JSON cannot hold) become the strings "NaN", "+Inf", "-Inf".
 */
export function doubleToJson(value: number): string {
  if (Number.isNaN(value)) return '"NaN"';
  if (value === Number.POSITIVE_INFINITY) return '"+Inf"';
  if (value === Number.NEGATIVE_INFINITY) return '"-Inf"';
  if (Object.is(value, -0)) return '-0.0';
  if (Number.isInteger(value) && Math.abs(value) < 1e21) return value.toFixed(1);
  return String(value);
}

/**
 * The exact decimal text of a number, shared by int, long, double and Decimal128 so that values
 * MongoDB holds equal (1, NumberLong(1), 1.0, NumberDecimal("1.00")) render alike.
 */
export function canonicalNumber(text: string): string {
  const match = /^([+-])?(?:(\d+)(?:\.(\d*))?|\.(\d+))(?:[eE]([+-]?\d+))?$/.exec(text.trim());
  if (match === null) {
    const lower = text.trim().toLowerCase();
    if (lower === 'nan' || lower === '-nan') return 'NaN';
    if (/^\+?inf(inity)?$/.test(lower)) return 'Infinity';
    if (/^-inf(inity)?$/.test(lower)) return '-Infinity';
    throw new UnsupportedValueError(`not a number: ${text}`);
  }
  const [, sign, intPart = '', fracPart = '', fracOnly, exponent = '0'] = match;
  const fraction = fracOnly ?? fracPart;
  let digits = (intPart + fraction).replace(/^0+/, '');
  let exp = Number(exponent) - fraction.length;
  if (digits === '') return '0';
  const trailing = /0*$/.exec(digits)?.[0].length ?? 0;
  digits = digits.slice(0, digits.length - trailing);
  exp += trailing;
  const negative = sign === '-' ? '-' : '';
  const plainLength = exp >= 0 ? digits.length + exp : Math.max(digits.length, -exp + 1) + 1;
  if (plainLength > 64) {
    const mantissa = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${negative}${mantissa}e${exp + digits.length - 1}`;
  }
  if (exp >= 0) return negative + digits + '0'.repeat(exp);
  const point = digits.length + exp;
  if (point > 0) return `${negative}${digits.slice(0, point)}.${digits.slice(point)}`;
  return `${negative}0.${'0'.repeat(-point)}${digits}`;
}

function jsNumberText(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? 'Infinity' : '-Infinity';
  // BigInt gives the exact digits of a large integral double, which String() would round.
  return canonicalNumber(Number.isInteger(value) ? BigInt(value).toString() : String(value));
}

function numberJson(value: number, isDouble: boolean, style: JsonStyle): string {
  if (style.canonicalNumbers) {
    const text = jsNumberText(value);
    return Number.isFinite(value) ? text : quote(text);
  }
  if (isDouble || !Number.isSafeInteger(value)) return doubleToJson(value);
  return String(value);
}

/** The value rendered (recursively for documents, arrays, DBRefs and Code with a scope) into `out`. */
function write(value: unknown, style: JsonStyle, out: string[], depth: number, path: string): void {
  if (depth > MAX_NESTING_DEPTH) {
    throw new UnsupportedValueError(
      `document nests deeper than ${MAX_NESTING_DEPTH} levels at ${path || '(root)'}`,
    );
  }
  const kind = bsonKind(value);
  switch (kind) {
    case 'document':
      writeDocument(value as object, style, out, depth, path);
      return;
    case 'array':
      writeArray(value as unknown[], style, out, depth, path);
      return;
    case 'DBRef':
      writeDbRef(value as DbRefLike, style, out, depth, path);
      return;
    case 'Code':
      writeCode(value as CodeLike, style, out, depth, path);
      return;
    default:
      out.push(scalarJson(kind, value, style, path));
  }
}

function writeDocument(doc: object, style: JsonStyle, out: string[], depth: number, path: string): void {
  out.push('{');
  let first = true;
  for (const key of Object.keys(doc)) {
    if (!first) out.push(',');
    first = false;
    out.push(quote(key), ':');
    write((doc as Record<string, unknown>)[key], style, out, depth + 1, `${path}.${key}`);
  }
  out.push('}');
}

function writeArray(items: unknown[], style: JsonStyle, out: string[], depth: number, path: string): void {
  out.push('[');
  for (let index = 0; index < items.length; index++) {
    if (index > 0) out.push(',');
    write(items[index], style, out, depth + 1, `${path}[${index}]`);
  }
  out.push(']');
}

interface DbRefLike {
  collection: string;
  oid: unknown;
  db?: string;
  fields?: Record<string, unknown>;
}

/** A DBRef renders as the document it is stored as: `$ref`, `$id`, `$db`, then its other fields. */
function writeDbRef(ref: DbRefLike, style: JsonStyle, out: string[], depth: number, path: string): void {
  const asDocument: Record<string, unknown> = { $ref: ref.collection, $id: ref.oid };
  if (ref.db) asDocument.$db = ref.db;
  writeDocument({ ...asDocument, ...(ref.fields ?? {}) }, style, out, depth, path);
}

interface CodeLike {
  code: unknown;
  scope?: unknown;
}

/** Code is its text; Code with a scope is `{"Code", "Scope"}`. */
function writeCode(code: CodeLike, style: JsonStyle, out: string[], depth: number, path: string): void {
  if (code.scope === null || code.scope === undefined) {
    out.push(quote(String(code.code)));
    return;
  }
  out.push(`{"Code":${quote(String(code.code))},"Scope":`);
  write(code.scope, style, out, depth + 1, `${path}.Scope`);
  out.push('}');
}

/** The JSON text of a value that holds no other value. */
function scalarJson(kind: BsonKind, value: unknown, style: JsonStyle, path: string): string {
  switch (kind) {
    case 'null':
      return 'null';
    case 'undefined':
      return '{}';
    case 'MinKey':
      return style.distinctMinMaxKey ? '{"$minKey":1}' : '{}';
    case 'MaxKey':
      return style.distinctMinMaxKey ? '{"$maxKey":1}' : '{}';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'string':
      return quote(value as string);
    case 'BSONSymbol':
      return quote(String((value as { value?: unknown }).value ?? value));
    case 'number':
      // A plain number may be an int32 or a double (the driver promotes both); integral ones read as integers.
      return numberJson(value as number, false, style);
    case 'Int32':
      return numberJson(Number((value as { value: unknown }).value), false, style);
    case 'Double':
      return numberJson(Number((value as { value: unknown }).value), true, style);
    case 'bigint':
      return (value as bigint).toString();
    case 'Long':
      return longToBigInt(value).toString();
    case 'Decimal128':
      return decimal128Json(String(value), style);
    case 'ObjectId':
      return quote(objectIdHex(value));
    case 'Date':
      return dateJson(value as Date);
    case 'RegExp':
      return regexJson((value as RegExp).source, regexOptionsFromJsFlags((value as RegExp).flags));
    case 'BSONRegExp':
      return regexJson((value as { pattern: string }).pattern, (value as { options: string }).options);
    case 'Timestamp':
      return timestampJson(timestampParts(value));
    case 'Binary':
      return binaryJson(binaryParts(value));
    case 'Bytes':
      return binaryJson({ subtype: 0, bytes: value as Uint8Array });
    default:
      throw new UnsupportedValueError(
        `cannot map ${describe(value)} at ${path || '(root)'} to JSON: it is not a BSON value`,
      );
  }
}

/** A string in `doc` (its exact text); a number in `_id`, canonical so equal values render alike. */
function decimal128Json(text: string, style: JsonStyle): string {
  if (!style.canonicalNumbers) return quote(text);
  const canonical = canonicalNumber(text);
  return /^-?[I]|^N/.test(canonical) ? quote(canonical) : canonical;
}

function dateJson(date: Date): string {
  const iso = dateToIso(date);
  return iso === null ? 'null' : quote(iso);
}

function regexJson(pattern: string, options: string): string {
  return `{"Pattern":${quote(pattern)},"Options":${quote(options)}}`;
}

function timestampJson({ t, i }: { t: number; i: number }): string {
  return `{"T":${t},"I":${i}}`;
}

function binaryJson({ subtype, bytes }: { subtype: number; bytes: Uint8Array }): string {
  const base64 = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  return `{"Subtype":${subtype},"Data":"${base64}"}`;
}

function describe(value: unknown): string {
  const tag = (value as { _bsontype?: unknown } | null)?._bsontype;
  if (typeof tag === 'string') return `a BSON ${tag}`;
  if (typeof value === 'object' && value !== null)
    return `an instance of ${value.constructor?.name ?? 'unknown'}`;
  return `a ${typeof value}`;
}

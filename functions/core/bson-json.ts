import {
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

function writeNumber(value: number, isDouble: boolean, style: JsonStyle, out: string[]): void {
  if (style.canonicalNumbers) {
    const text = jsNumberText(value);
    out.push(Number.isFinite(value) ? text : quote(text));
  } else if (isDouble || !Number.isSafeInteger(value)) out.push(doubleToJson(value));
  else out.push(String(value));
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

function write(value: unknown, style: JsonStyle, out: string[], depth: number, path: string): void {
  if (depth > MAX_NESTING_DEPTH) {
    throw new UnsupportedValueError(
      `document nests deeper than ${MAX_NESTING_DEPTH} levels at ${path || '(root)'}`,
    );
  }
  const kind = bsonKind(value);
  switch (kind) {
    case 'null':
      out.push('null');
      return;
    case 'undefined':
    case 'MinKey':
    case 'MaxKey':
      if (style.distinctMinMaxKey && kind !== 'undefined')
        out.push(kind === 'MinKey' ? '{"$minKey":1}' : '{"$maxKey":1}');
      else out.push('{}');
      return;
    case 'boolean':
      out.push(value ? 'true' : 'false');
      return;
    case 'string':
      out.push(quote(value as string));
      return;
    case 'BSONSymbol':
      out.push(quote(String((value as { value?: unknown }).value ?? value)));
      return;
    case 'number':
      // A plain number may be an int32 or a double (the driver promotes both); integral ones read as integers.
      writeNumber(value as number, false, style, out);
      return;
    case 'Int32':
      writeNumber(Number((value as { value: unknown }).value), false, style, out);
      return;
    case 'Double':
      writeNumber(Number((value as { value: unknown }).value), true, style, out);
      return;
    case 'bigint':
      out.push((value as bigint).toString());
      return;
    case 'Long':
      out.push(longToBigInt(value).toString());
      return;
    case 'Decimal128': {
      const text = String(value);
      if (!style.canonicalNumbers) out.push(quote(text));
      else {
        const canonical = canonicalNumber(text);
        out.push(/^-?[I]|^N/.test(canonical) ? quote(canonical) : canonical);
      }
      return;
    }
    case 'ObjectId':
      out.push(quote(objectIdHex(value)));
      return;
    case 'Date': {
      const iso = dateToIso(value as Date);
      out.push(iso === null ? 'null' : quote(iso));
      return;
    }
    case 'RegExp': {
      const regex = value as RegExp;
      out.push(`{"Pattern":${quote(regex.source)},"Options":${quote(regexOptionsFromJsFlags(regex.flags))}}`);
      return;
    }
    case 'BSONRegExp': {
      const regex = value as { pattern: string; options: string };
      out.push(`{"Pattern":${quote(regex.pattern)},"Options":${quote(regex.options)}}`);
      return;
    }
    case 'Timestamp': {
      const { t, i } = timestampParts(value);
      out.push(`{"T":${t},"I":${i}}`);
      return;
    }
    case 'Binary':
    case 'Bytes': {
      const { subtype, bytes } =
        kind === 'Bytes' ? { subtype: 0, bytes: value as Uint8Array } : binaryParts(value);
      const base64 = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
      out.push(`{"Subtype":${subtype},"Data":"${base64}"}`);
      return;
    }
    case 'Code': {
      const code = value as { code: unknown; scope?: unknown };
      if (code.scope === null || code.scope === undefined) out.push(quote(String(code.code)));
      else {
        out.push(`{"Code":${quote(String(code.code))},"Scope":`);
        write(code.scope, style, out, depth + 1, `${path}.Scope`);
        out.push('}');
      }
      return;
    }
    case 'DBRef': {
      const ref = value as {
        collection: string;
        oid: unknown;
        db?: string;
        fields?: Record<string, unknown>;
      };
      const asDocument: Record<string, unknown> = { $ref: ref.collection, $id: ref.oid };
      if (ref.db) asDocument.$db = ref.db;
      writeDocument({ ...asDocument, ...(ref.fields ?? {}) }, style, out, depth, path);
      return;
    }
    case 'array': {
      const items = value as unknown[];
      out.push('[');
      for (let index = 0; index < items.length; index++) {
        if (index > 0) out.push(',');
        write(items[index], style, out, depth + 1, `${path}[${index}]`);
      }
      out.push(']');
      return;
    }
    case 'document':
      writeDocument(value as object, style, out, depth, path);
      return;
    default:
      throw new UnsupportedValueError(
        `cannot map ${describe(value)} at ${path || '(root)'} to JSON: it is not a BSON value`,
      );
  }
}

function describe(value: unknown): string {
  const tag = (value as { _bsontype?: unknown } | null)?._bsontype;
  if (typeof tag === 'string') return `a BSON ${tag}`;
  if (typeof value === 'object' && value !== null)
    return `an instance of ${value.constructor?.name ?? 'unknown'}`;
  return `a ${typeof value}`;
}

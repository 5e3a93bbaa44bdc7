/**
 * The ClickHouse types a typed column may have (docs/table-schema.md, "Typed columns"), parsed
 * from the text a user writes into a small tree the converters switch on.
 */

export const SCALAR_KINDS = [
  'String',
  'Int32',
  'Int64',
  'UInt64',
  'Float64',
  'Decimal',
  'Bool',
  'Date',
  'DateTime64',
  'UUID',
] as const;
export type ScalarKind = (typeof SCALAR_KINDS)[number];

export interface ScalarType {
  kind: ScalarKind;
  /** Nullable(T): a value that does not convert is NULL instead of the type's default. */
  nullable: boolean;
  /** LowCardinality(String) or LowCardinality(Nullable(String)): a storage choice, converted as String. */
  lowCardinality: boolean;
  /** Decimal(P,S) only. */
  precision: number;
  scale: number;
}

export interface ArrayType {
  kind: 'Array';
  element: ScalarType;
}

export type ColumnType = ScalarType | ArrayType;

/** Decimal(P,S): ClickHouse's own bounds. */
export const MAX_DECIMAL_PRECISION = 76;

const DECIMAL = /^Decimal\((\d{1,2}),\s?(\d{1,2})\)$/;
const PLAIN: Readonly<Record<string, ScalarKind>> = {
  String: 'String',
  Int32: 'Int32',
  Int64: 'Int64',
  UInt64: 'UInt64',
  Float64: 'Float64',
  Bool: 'Bool',
  Date: 'Date',
  'DateTime64(3)': 'DateTime64',
  UUID: 'UUID',
};

/** Why a type is refused, or the parsed type. */
export type ParsedType = { ok: true; type: ColumnType } | { ok: false; reason: string };

const refuse = (reason: string): ParsedType => ({ ok: false, reason });

function scalar(kind: ScalarKind, nullable = false, lowCardinality = false): ScalarType {
  return { kind, nullable, lowCardinality, precision: 0, scale: 0 };
}

function parseBase(text: string): ScalarType | string {
  const plain = PLAIN[text];
  if (plain !== undefined) return scalar(plain);
  const decimal = DECIMAL.exec(text);
  if (decimal === null) return `${text} is not one of the supported column types`;
  const precision = Number(decimal[1]);
  const scale = Number(decimal[2]);
  if (precision < 1 || precision > MAX_DECIMAL_PRECISION) {
    return `Decimal precision must be 1 to ${MAX_DECIMAL_PRECISION}`;
  }
  if (scale > precision) return 'Decimal scale must be at most its precision';
  return { kind: 'Decimal', nullable: false, lowCardinality: false, precision, scale };
}

const inside = (text: string, wrapper: string): string | null =>
  text.startsWith(`${wrapper}(`) && text.endsWith(')') ? text.slice(wrapper.length + 1, -1) : null;

function parseElement(text: string): ScalarType | string {
  if (text === 'LowCardinality(String)') return scalar('String', false, true);
  if (text === 'LowCardinality(Nullable(String))') return scalar('String', true, true);
  if (text === 'Nullable(LowCardinality(String))') {
    return 'write LowCardinality(Nullable(String)): ClickHouse refuses Nullable(LowCardinality(String))';
  }
  const nullable = inside(text, 'Nullable');
  if (nullable === null) return parseBase(text);
  const base = parseBase(nullable);
  return typeof base === 'string' ? base : { ...base, nullable: true };
}

/** Parse a column type as written in `columns[].type`; arrays of arrays and Nullable(Array) are refused. */
export function parseColumnType(text: string): ParsedType {
  const element = inside(text, 'Array');
  if (element !== null) {
    if (element.startsWith('Array(')) return refuse('arrays of arrays are not supported');
    const parsed = parseElement(element);
    return typeof parsed === 'string'
      ? refuse(parsed)
      : { ok: true, type: { kind: 'Array', element: parsed } };
  }
  if (inside(text, 'Nullable')?.startsWith('Array(')) {
    return refuse('ClickHouse refuses Nullable(Array(T)); write Array(T) (a missing array is empty)');
  }
  const parsed = parseElement(text);
  return typeof parsed === 'string' ? refuse(parsed) : { ok: true, type: parsed };
}

function scalarSql(type: ScalarType): string {
  const base =
    type.kind === 'Decimal'
      ? `Decimal(${type.precision}, ${type.scale})`
      : type.kind === 'DateTime64'
        ? "DateTime64(3, 'UTC')"
        : type.kind;
  const nullable = type.nullable ? `Nullable(${base})` : base;
  return type.lowCardinality ? `LowCardinality(${nullable})` : nullable;
}

/** The type as the CREATE TABLE writes it: DateTime64 pinned to UTC, so values read back as written. */
export function columnTypeSql(type: ColumnType): string {
  return type.kind === 'Array' ? `Array(${scalarSql(type.element)})` : scalarSql(type);
}

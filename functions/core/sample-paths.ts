import { bsonKind } from './bson-kind.js';

/**
 * What a sample of documents holds, path by path (`POST /sources/sample`, docs/table-schema.md
 * "Seeing what a collection holds"). Documents arrive as the driver decodes them without promoting
 * numbers (Int32, Double, Long and Decimal128 keep their classes), so every BSON type is told apart.
 *
 * Paths are dotted. An array is reported whole at its own path (its elements' types counted in
 * `elementTypes`) and through its first element at `<path>.0`, the way a typed column names an
 * element by index; other indexes are not walked, or one array of a thousand elements would
 * report a thousand paths.
 */

/** BSON types by the names MongoDB's `$type` uses; `uuid` is binData of subtype 4. */
export type SampledType =
  | 'double'
  | 'string'
  | 'object'
  | 'array'
  | 'binData'
  | 'uuid'
  | 'undefined'
  | 'objectId'
  | 'bool'
  | 'date'
  | 'null'
  | 'regex'
  | 'dbPointer'
  | 'javascript'
  | 'symbol'
  | 'int'
  | 'timestamp'
  | 'long'
  | 'decimal'
  | 'minKey'
  | 'maxKey';

/** What a path's values were, over the documents that hold it. */
export interface PathStats {
  path: string;
  /** Documents in which the path exists (null included). */
  present: number;
  types: Map<SampledType, number>;
  /** For arrays: the types of their elements, counted over every element. */
  elementTypes: Map<SampledType, number>;
  /** Distinct strings seen (at the path, or among an array's elements), up to `distinctCap`; then null. */
  distinctStrings: Set<string> | null;
  /** Decimal128 values: the most digits before and after the point seen. */
  decimalDigits: { integer: number; scale: number };
}

export interface SampleLimits {
  /** Paths tracked at most; later new paths are only counted (bounds memory on wild schemas). */
  maxTrackedPaths: number;
  /** Deeper fields are not walked. */
  maxDepth: number;
  /** Distinct strings kept per path to judge LowCardinality(String). */
  distinctCap: number;
}

export const DEFAULT_SAMPLE_LIMITS: SampleLimits = { maxTrackedPaths: 2000, maxDepth: 16, distinctCap: 1000 };

/** Strings longer than this are not remembered: they make the path count as many distinct values. */
const MAX_REMEMBERED_STRING = 256;

export interface PathCollection {
  documents: number;
  paths: Map<string, PathStats>;
  /** Distinct paths seen after maxTrackedPaths was reached (not described). */
  untrackedPaths: number;
  /** Keys no dotted path can name (a dot inside, or an empty key), skipped. */
  unaddressableKeys: number;
}

export function sampledTypeOf(value: unknown): SampledType {
  const kind = bsonKind(value);
  switch (kind) {
    case 'number':
    case 'Double':
      return 'double';
    case 'Int32':
      return 'int';
    case 'bigint':
    case 'Long':
      return 'long';
    case 'boolean':
      return 'bool';
    case 'Binary':
      return (value as { sub_type?: unknown }).sub_type === 4 ? 'uuid' : 'binData';
    case 'Bytes':
      return 'binData';
    case 'RegExp':
    case 'BSONRegExp':
      return 'regex';
    case 'DBRef':
      return 'dbPointer';
    case 'Code':
      return 'javascript';
    case 'BSONSymbol':
      return 'symbol';
    case 'unsupported':
      return 'object';
    default:
      return KIND_NAMES[kind] ?? 'object';
  }
}

const KIND_NAMES: Record<string, SampledType> = {
  null: 'null',
  undefined: 'undefined',
  string: 'string',
  Decimal128: 'decimal',
  ObjectId: 'objectId',
  Date: 'date',
  Timestamp: 'timestamp',
  MinKey: 'minKey',
  MaxKey: 'maxKey',
  array: 'array',
  document: 'object',
};

/** Digits before and after the point of a Decimal128's text (`12.340`, `-1.5E+3`, `NaN`). */
export function decimalDigitsOf(text: string): { integer: number; scale: number } | null {
  const match = /^-?(\d+)(?:\.(\d+))?(?:E([+-]\d+))?$/i.exec(text);
  if (match === null) return null;
  const whole = (match[1] ?? '').replace(/^0+(?=\d)/, '');
  const fraction = match[2] ?? '';
  const exponent = Number(match[3] ?? 0);
  const digits = whole + fraction;
  const pointAt = whole.length + exponent;
  return { integer: Math.max(1, pointAt), scale: Math.max(0, digits.length - pointAt) };
}

/** Untracked paths are counted up to this many distinct ones (the answer then says "at least"). */
const MAX_COUNTED_UNTRACKED = 10_000;

/** Walks every document once and gathers each path's statistics, within `limits`. */
export function collectPaths(
  documents: Iterable<unknown>,
  limits: SampleLimits = DEFAULT_SAMPLE_LIMITS,
): PathCollection {
  const walk = new PathWalk(limits);
  for (const document of documents) walk.addDocument(document);
  return walk.result();
}

class PathWalk {
  private documents = 0;
  private readonly paths = new Map<string, PathStats>();
  private readonly untracked = new Set<string>();
  private unaddressableKeys = 0;

  constructor(private readonly limits: SampleLimits) {}

  addDocument(document: unknown): void {
    this.documents += 1;
    if (bsonKind(document) === 'document') this.walkFields(document as Record<string, unknown>, '', 1);
  }

  result(): PathCollection {
    return {
      documents: this.documents,
      paths: this.paths,
      untrackedPaths: this.untracked.size,
      unaddressableKeys: this.unaddressableKeys,
    };
  }

  private walkFields(document: Record<string, unknown>, prefix: string, depth: number): void {
    for (const [key, value] of Object.entries(document)) {
      // A key with a dot (allowed since MongoDB 5.0) or an empty key cannot be named by a dotted path.
      if (key === '' || key.includes('.')) {
        this.unaddressableKeys += 1;
        continue;
      }
      this.record(prefix === '' ? key : `${prefix}.${key}`, value, depth);
    }
  }

  private record(path: string, value: unknown, depth: number): void {
    const stats = this.statsFor(path);
    if (stats === null) return;
    stats.present += 1;
    const type = sampledTypeOf(value);
    bump(stats.types, type);
    this.noteValue(stats, type, value);
    if (depth >= this.limits.maxDepth) return;
    if (type === 'object' && bsonKind(value) === 'document') {
      this.walkFields(value as Record<string, unknown>, path, depth + 1);
    }
    if (type !== 'array') return;
    const elements = value as unknown[];
    for (const element of elements) {
      const elementType = sampledTypeOf(element);
      bump(stats.elementTypes, elementType);
      this.noteValue(stats, elementType, element);
    }
    if (elements.length > 0) this.record(`${path}.0`, elements[0], depth + 1);
  }

  private statsFor(path: string): PathStats | null {
    const known = this.paths.get(path);
    if (known !== undefined) return known;
    if (this.paths.size >= this.limits.maxTrackedPaths) {
      if (this.untracked.size < MAX_COUNTED_UNTRACKED) this.untracked.add(path);
      return null;
    }
    const stats: PathStats = {
      path,
      present: 0,
      types: new Map(),
      elementTypes: new Map(),
      distinctStrings: new Set(),
      decimalDigits: { integer: 0, scale: 0 },
    };
    this.paths.set(path, stats);
    return stats;
  }

  private noteValue(stats: PathStats, type: SampledType, value: unknown): void {
    if (type === 'string') rememberString(stats, value as string, this.limits.distinctCap);
    if (type === 'decimal') {
      const digits = decimalDigitsOf(String(value));
      if (digits === null) return;
      stats.decimalDigits.integer = Math.max(stats.decimalDigits.integer, digits.integer);
      stats.decimalDigits.scale = Math.max(stats.decimalDigits.scale, digits.scale);
    }
  }
}

function rememberString(stats: PathStats, value: string, cap: number): void {
  const distinct = stats.distinctStrings;
  if (distinct === null || distinct.has(value)) return;
  if (value.length > MAX_REMEMBERED_STRING || distinct.size >= cap) stats.distinctStrings = null;
  else distinct.add(value);
}

function bump(counts: Map<SampledType, number>, type: SampledType): void {
  counts.set(type, (counts.get(type) ?? 0) + 1);
}

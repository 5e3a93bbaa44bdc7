import type { PathCollection, PathStats, SampledType } from './sample-paths.js';

/**
 * From a sample's path statistics to the answer of `POST /sources/sample`: per path the BSON
 * types seen and their share, how often it is present, and a typed column to paste into a table
 * mapping's `columns` (docs/table-schema.md, "Seeing what a collection holds").
 */

export interface SuggestedColumn {
  path: string;
  name: string;
  type: string;
}

export interface TypeShare {
  type: SampledType;
  count: number;
  /** Of the documents holding the path (for elementTypes: of all elements). */
  share: number;
}

export interface PathReport {
  path: string;
  /** Documents of the sample that hold the path (null included). */
  present: number;
  presentShare: number;
  types: TypeShare[];
  /** Arrays only: the types of their elements. */
  elementTypes?: TypeShare[];
  /** Distinct strings seen, or null when more than the sample tracks (or a string was long). */
  distinctStrings?: number | null;
  /** Null when no typed column fits; `note` says why. */
  suggestedColumn: SuggestedColumn | null;
  note?: string;
}

export interface SampleReport {
  documents: number;
  pathsFound: number;
  paths: PathReport[];
  /** True when more paths were found (or seen past the tracking bound) than reported. */
  pathsTruncated: boolean;
  unaddressableKeys: number;
  suggestedColumns: SuggestedColumn[];
}

/** A kind that is this share of a path's non-null values decides its type; the rest count as mismatches. */
const DOMINANT_SHARE = 0.95;
/** LowCardinality(String) when a path repeats its values this much (distinct values × 10 ≤ strings). */
const LOW_CARDINALITY_REPEATS = 10;
const MAX_NAME_LENGTH = 120;
const ABSENT_KINDS: readonly SampledType[] = ['null', 'undefined'];
const NUMERIC_KINDS: readonly SampledType[] = ['int', 'long', 'double', 'decimal'];

type Suggestion = { type: string } | { note: string };

const FIXED_TYPES: Partial<Record<SampledType, string>> = {
  objectId: 'String',
  bool: 'Bool',
  date: 'DateTime64(3)',
  uuid: 'UUID',
};

/** Decimal(P,S) wide enough for the digits seen; P is 18, 38 or 76 (ClickHouse's storage sizes). */
export function decimalTypeFor(digits: { integer: number; scale: number }): string | null {
  const needed = digits.integer + digits.scale;
  const precision = [18, 38, 76].find((size) => needed <= size);
  return precision === undefined ? null : `Decimal(${precision},${digits.scale})`;
}

function numericType(kinds: ReadonlyMap<SampledType, number>, stats: PathStats): Suggestion {
  if (kinds.has('decimal')) {
    const type = decimalTypeFor(stats.decimalDigits);
    return type === null ? { note: 'decimals wider than Decimal(76,S): leave them in doc' } : { type };
  }
  if (kinds.has('double')) return { type: 'Float64' };
  return { type: kinds.has('long') ? 'Int64' : 'Int32' };
}

function stringType(stats: PathStats, strings: number): Suggestion {
  const distinct = stats.distinctStrings;
  const repeats = distinct !== null && distinct.size * LOW_CARDINALITY_REPEATS <= strings;
  return { type: repeats ? 'LowCardinality(String)' : 'String' };
}

function kindType(kind: SampledType, counts: ReadonlyMap<SampledType, number>, stats: PathStats): Suggestion {
  if (NUMERIC_KINDS.includes(kind)) return numericType(new Map([[kind, 1]]), stats);
  if (kind === 'string') return stringType(stats, counts.get('string') ?? 0);
  const fixed = FIXED_TYPES[kind];
  if (fixed !== undefined) return { type: fixed };
  if (kind === 'object') return { note: 'a document: its fields are reported at their own paths' };
  return { note: `no typed column takes ${kind} values: leave them in doc` };
}

/** The column type of values with these counts of non-null kinds. */
function scalarType(counts: ReadonlyMap<SampledType, number>, stats: PathStats): Suggestion {
  const kinds = [...counts.keys()];
  if (kinds.length === 0) return { note: 'only null or missing in the sample' };
  if (kinds.every((kind) => NUMERIC_KINDS.includes(kind))) return numericType(counts, stats);
  const total = [...counts.values()].reduce((sum, count) => sum + count, 0);
  const [dominant, count] = [...counts].sort((a, b) => b[1] - a[1])[0] as [SampledType, number];
  if (count >= total * DOMINANT_SHARE) return kindType(dominant, counts, stats);
  return {
    note: `mixed types (${kinds.join(', ')}): leave it in doc, or choose a type and count mismatches`,
  };
}

function withoutAbsent(counts: ReadonlyMap<SampledType, number>): Map<SampledType, number> {
  return new Map([...counts].filter(([kind]) => !ABSENT_KINDS.includes(kind)));
}

function nullableType(type: string): string {
  if (type === 'LowCardinality(String)') return 'LowCardinality(Nullable(String))';
  return `Nullable(${type})`;
}

function arrayType(stats: PathStats): Suggestion {
  const elements = withoutAbsent(stats.elementTypes);
  if (elements.size === 0) return { note: 'only empty arrays (or arrays of null) in the sample' };
  if (elements.has('array')) return { note: 'arrays of arrays: name an element by index (<path>.0)' };
  const element = scalarType(elements, stats);
  if ('note' in element) return { note: `array elements: ${element.note}` };
  const hasNull = elements.size < stats.elementTypes.size;
  return { type: `Array(${hasNull ? nullableType(element.type) : element.type})` };
}

/** A path's suggested type: Nullable when the sample saw it missing or null (an Array is empty instead). */
export function suggestType(stats: PathStats, documents: number): Suggestion {
  if (stats.path === '_id') return { note: 'the _id column holds it already' };
  const kinds = withoutAbsent(stats.types);
  const arrays = kinds.get('array') ?? 0;
  const total = [...kinds.values()].reduce((sum, count) => sum + count, 0);
  if (arrays > 0 && arrays >= total * DOMINANT_SHARE) return arrayType(stats);
  const suggestion = scalarType(kinds, stats);
  if ('note' in suggestion) return suggestion;
  const mayBeAbsent = stats.present < documents || kinds.size < stats.types.size;
  return mayBeAbsent ? { type: nullableType(suggestion.type) } : suggestion;
}

const RESERVED = /^(_id|doc|_peerdb_.*)$/;

/** A strict identifier from a path (`customer.city` → `customer_city`), unique among `taken`. */
export function columnNameFor(path: string, taken: Set<string>): string {
  let base = path.replace(/[^A-Za-z0-9_]/g, '_');
  if (!/^[A-Za-z_]/.test(base)) base = `c_${base}`;
  if (RESERVED.test(base)) base = `field_${base.replace(/^_+/, '')}`;
  base = base.slice(0, MAX_NAME_LENGTH);
  let name = base;
  for (let suffix = 2; taken.has(name); suffix += 1) name = `${base}_${suffix}`;
  taken.add(name);
  return name;
}

function shares(counts: ReadonlyMap<SampledType, number>, of: number): TypeShare[] {
  return [...counts]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([type, count]) => ({ type, count, share: of === 0 ? 0 : round(count / of) }));
}

function round(share: number): number {
  return Math.round(share * 10_000) / 10_000;
}

function pathReport(stats: PathStats, documents: number, taken: Set<string>): PathReport {
  const suggestion = suggestType(stats, documents);
  const elements = [...stats.elementTypes.values()].reduce((sum, count) => sum + count, 0);
  const strings = (stats.types.get('string') ?? 0) + (stats.elementTypes.get('string') ?? 0);
  return {
    path: stats.path,
    present: stats.present,
    presentShare: documents === 0 ? 0 : round(stats.present / documents),
    types: shares(stats.types, stats.present),
    ...(stats.types.has('array') ? { elementTypes: shares(stats.elementTypes, elements) } : {}),
    ...(strings > 0 ? { distinctStrings: stats.distinctStrings?.size ?? null } : {}),
    suggestedColumn:
      'type' in suggestion
        ? { path: stats.path, name: columnNameFor(stats.path, taken), type: suggestion.type }
        : null,
    ...('note' in suggestion ? { note: suggestion.note } : {}),
  };
}

/**
 * The report of a sample: the `maxPaths` paths present in the most documents (ties by path),
 * listed by path so nested fields sit under their parent; their suggested columns in that order.
 */
export function sampleReport(collection: PathCollection, maxPaths: number): SampleReport {
  const all = [...collection.paths.values()];
  const kept = [...all]
    .sort((a, b) => b.present - a.present || compareText(a.path, b.path))
    .slice(0, maxPaths)
    .sort((a, b) => compareText(a.path, b.path));
  const taken = new Set<string>();
  const paths = kept.map((stats) => pathReport(stats, collection.documents, taken));
  return {
    documents: collection.documents,
    pathsFound: all.length + collection.untrackedPaths,
    paths,
    pathsTruncated: kept.length < all.length || collection.untrackedPaths > 0,
    unaddressableKeys: collection.unaddressableKeys,
    suggestedColumns: paths.flatMap((path) => (path.suggestedColumn ? [path.suggestedColumn] : [])),
  };
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

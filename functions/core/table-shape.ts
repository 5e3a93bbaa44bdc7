/**
 * A table's shape (docs/table-schema.md, "Typed columns"): its typed columns and excluded fields,
 * compiled once per mapping into what the transcoder needs to fill the columns and leave the
 * excluded fields out of `doc` in its one pass over each document's BSON.
 */
import { T_ARRAY, T_NULL, T_UNDEFINED, valueEnd } from './bson-transcode-check.js';
import { readInt32 } from './bson-transcode-scalars.js';
import { type JsonSink, writeAscii } from './bson-transcode-sink.js';
import { FatalError } from './errors.js';
import { defaultText, writeScalar } from './table-shape-convert.js';
import type { TypedColumnSetting, TypeMismatchAction } from './table-shape-settings.js';
import { buildShapeTrie, type ShapeNode } from './table-shape-trie.js';
import { type ColumnType, columnTypeSql, parseColumnType, type ScalarType } from './table-shape-types.js';

export interface ShapeColumn {
  name: string;
  path: string;
  /** As the user wrote it. */
  typeText: string;
  type: ColumnType;
  /** As the CREATE TABLE writes it. */
  sql: string;
  /** `,"<name>":` as bytes, copied before the value. */
  prefix: Uint8Array;
}

export interface TableShape {
  columns: readonly ShapeColumn[];
  excludedFields: readonly string[];
  onTypeMismatch: TypeMismatchAction;
  root: ShapeNode;
}

/** What of a table mapping decides its shape (settings.tableMappings[] entries have it). */
export interface ShapeSettings {
  columns?: readonly TypedColumnSetting[];
  excludedFields?: readonly string[];
  onTypeMismatch?: TypeMismatchAction;
}

/** A value at a column's path is of a BSON type the column's type does not take, under `onTypeMismatch: 'fail'`. */
export class TypeMismatchError extends FatalError {
  constructor(
    readonly documentId: string,
    readonly path: string,
    readonly bsonType: string,
    readonly column: string,
    readonly columnType: string,
  ) {
    super(
      `document _id ${documentId}: ${path} holds a BSON ${bsonType} that does not convert to ${columnType} ` +
        `(column ${column}; onTypeMismatch is fail)`,
    );
  }
}

/** Compiles validated settings (settings.ts checked every path, name and type) into a shape. */
export function compileTableShape(settings: ShapeSettings): TableShape {
  const columns = (settings.columns ?? []).map((column) => {
    const parsed = parseColumnType(column.type);
    if (!parsed.ok) throw new FatalError(`column ${column.name}: ${parsed.reason}`);
    return {
      name: column.name,
      path: column.path,
      typeText: column.type,
      type: parsed.type,
      sql: columnTypeSql(parsed.type),
      prefix: new TextEncoder().encode(`,${JSON.stringify(column.name)}:`),
    };
  });
  const excludedFields = settings.excludedFields ?? [];
  return {
    columns,
    excludedFields,
    onTypeMismatch: settings.onTypeMismatch ?? 'null',
    root: buildShapeTrie(
      columns.map((column) => column.path),
      excludedFields,
    ),
  };
}

const compiled = new WeakMap<object, TableShape | null>();

/**
 * The shape of a table mapping as the pipe's settings hold it (`settings.tableMappings[i]`, or
 * any object with its columns / excludedFields / onTypeMismatch), compiled once per object;
 * null when it has neither columns nor excluded fields (the transcoder's plain, faster path).
 */
export function tableShapeOf(mapping: ShapeSettings): TableShape | null {
  let shape = compiled.get(mapping);
  if (shape === undefined) {
    const plain = (mapping.columns ?? []).length === 0 && (mapping.excludedFields ?? []).length === 0;
    shape = plain ? null : compileTableShape(mapping);
    compiled.set(mapping, shape);
  }
  return shape;
}

/** A collection as a table mapping (or its store record) names it. */
interface CollectionRef {
  sourceDatabaseName: string;
  sourceCollection: string;
}

/**
 * The shape of the table a pipe's settings map `mapping`'s collection to (the settings hold the
 * columns; the store's table record does not), or null when it has none. Compiled once per
 * settings entry, so calling it per batch is cheap.
 */
export function tableShapeFor(
  settings: { tableMappings: readonly (ShapeSettings & CollectionRef)[] },
  mapping: CollectionRef,
): TableShape | null {
  const entry = settings.tableMappings.find(
    (candidate) =>
      candidate.sourceDatabaseName === mapping.sourceDatabaseName &&
      candidate.sourceCollection === mapping.sourceCollection,
  );
  return entry === undefined ? null : tableShapeOf(entry);
}

/** The names of a shape's typed columns, as an insert names them (EncodedInsertBatch.columns). */
export function shapeColumnNames(shape: TableShape | null): string[] {
  return shape === null ? [] : shape.columns.map((column) => column.name);
}

/**
 * One run of a shape over rows (a batch): where each column's value was found in the document
 * being written, and the mismatches counted so far. The engine reads `mismatchCounts()` after
 * the batch.
 */
export class ShapeRun {
  /** BSON type of each column's value in the current document; 0 when missing. */
  readonly types: Uint8Array;
  /** Offset of each column's value in the current document. */
  readonly at: Int32Array;
  readonly mismatches: Float64Array;

  constructor(readonly shape: TableShape) {
    this.types = new Uint8Array(shape.columns.length);
    this.at = new Int32Array(shape.columns.length);
    this.mismatches = new Float64Array(shape.columns.length);
  }

  /** Mismatches per column name since the run began (columns with none left out). */
  mismatchCounts(): Record<string, number> {
    const counts: Record<string, number> = {};
    this.shape.columns.forEach((column, index) => {
      const count = this.mismatches[index] as number;
      if (count > 0) counts[column.name] = count;
    });
    return counts;
  }
}

/** A value of a column's path that did not convert, raised under `onTypeMismatch: 'fail'`. */
export class ColumnMismatch extends Error {
  constructor(
    readonly column: ShapeColumn,
    readonly bsonType: number,
  ) {
    super(`${column.path} does not convert to ${column.typeText}`);
  }
}

/** Appends `,"name":value` for every column, from the places the document's write recorded. */
export function writeColumns(sink: JsonSink, src: Uint8Array, run: ShapeRun): void {
  const columns = run.shape.columns;
  for (let index = 0; index < columns.length; index++) {
    const column = columns[index] as ShapeColumn;
    const prefix = column.prefix;
    sink.ensure(prefix.length);
    const buf = sink.buf;
    let o = sink.pos;
    // A byte loop: TypedArray#set costs more than it copies for a column name's few bytes.
    for (let k = 0; k < prefix.length; k++) buf[o++] = prefix[k] as number;
    sink.pos = o;
    const type = run.types[index] as number;
    const at = run.at[index] as number;
    if (column.type.kind === 'Array') writeArrayColumn(sink, src, run, index, type, at);
    else writeScalarColumn(sink, src, run, index, column.type, type, at);
  }
}

function writeScalarColumn(
  sink: JsonSink,
  src: Uint8Array,
  run: ShapeRun,
  index: number,
  column: ScalarType,
  type: number,
  at: number,
): void {
  if (type === 0 || type === T_NULL || type === T_UNDEFINED)
    writeAscii(sink, column.nullable ? 'null' : defaultText(column));
  else if (!writeScalar(sink, src, type, at, column)) {
    mismatch(run, index, type);
    writeAscii(sink, column.nullable ? 'null' : defaultText(column));
  }
}

function writeArrayColumn(
  sink: JsonSink,
  src: Uint8Array,
  run: ShapeRun,
  index: number,
  type: number,
  at: number,
): void {
  const column = run.shape.columns[index] as ShapeColumn;
  const element = (column.type as { element: ScalarType }).element;
  if (type !== T_ARRAY) {
    if (type !== 0 && type !== T_NULL && type !== T_UNDEFINED) mismatch(run, index, type);
    writeAscii(sink, '[]');
    return;
  }
  const end = at + readInt32(src, at) - 1;
  sink.rawByte(0x5b);
  for (let p = at + 4, first = true; p < end; first = false) {
    const elementType = src[p] as number;
    let q = p + 1;
    while (src[q] !== 0) q++;
    if (!first) sink.rawByte(0x2c);
    writeScalarColumn(sink, src, run, index, element, elementType, q + 1);
    p = elementEnd(src, elementType, q + 1, end);
  }
  sink.rawByte(0x5d);
}

function mismatch(run: ShapeRun, index: number, type: number): void {
  run.mismatches[index] = (run.mismatches[index] as number) + 1;
  if (run.shape.onTypeMismatch === 'fail')
    throw new ColumnMismatch(run.shape.columns[index] as ShapeColumn, type);
}

function elementEnd(src: Uint8Array, type: number, at: number, end: number): number {
  const next = valueEnd(src, type, at, end);
  if (next < 0 || next > end) throw new RangeError('corrupt array bson');
  return next;
}

/** MongoDB's names of the BSON types (as `$type` takes them), for mismatch messages. */
export const BSON_TYPE_NAMES: Readonly<Record<number, string>> = {
  1: 'double',
  2: 'string',
  3: 'object',
  4: 'array',
  5: 'binData',
  6: 'undefined',
  7: 'objectId',
  8: 'bool',
  9: 'date',
  10: 'null',
  11: 'regex',
  12: 'dbPointer',
  13: 'javascript',
  14: 'symbol',
  15: 'javascriptWithScope',
  16: 'int',
  17: 'timestamp',
  18: 'long',
  19: 'decimal',
  255: 'minKey',
  127: 'maxKey',
};

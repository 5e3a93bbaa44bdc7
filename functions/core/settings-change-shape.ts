import { z } from 'zod';
import { type FieldError, InvalidSettingsError } from './errors.js';
import { friendlyIssueMessage, toFieldErrors } from './field-errors.js';
import { type PipeSettings, parseSettings, type TableMapping, tableMappingSchema } from './settings.js';
import { tableKeyOf } from './table-key.js';
import { quoteIdentifier, type TypedColumnSql } from './table-schema.js';
import { excludedFieldsSchema, typedColumnsSchema, typeMismatchSchema } from './table-shape-settings.js';
import { type ColumnType, parseColumnType, type ScalarType } from './table-shape-types.js';

/**
 * Changing a table's shape on a pipe that runs (`PATCH /pipes/{id}` with `tableMappingsToChange`,
 * docs/settings.md "Changing a table's shape"). A new column list or new excluded fields reach
 * old rows only by reloading the table, so such a change resyncs that table alone (a `_resync`
 * table in the new shape, loaded while CDC keeps writing, then swapped in). `onTypeMismatch`
 * alone changes no row already written and applies from the next CDC run.
 */

export const tableShapePatchSchema = z
  .strictObject({
    sourceDatabaseName: z.string().min(1).max(64).describe('MongoDB database of the collection.'),
    sourceCollection: z.string().min(1).max(255).describe('A collection the pipe replicates.'),
    columns: typedColumnsSchema
      .optional()
      .describe(
        "The table's new typed columns, replacing the current list ([] removes them all); kept when left out.",
      ),
    excludedFields: excludedFieldsSchema
      .optional()
      .describe(
        'The new excluded paths, replacing the current list ([] excludes nothing); kept when left out.',
      ),
    onTypeMismatch: typeMismatchSchema.optional(),
  })
  .meta({
    id: 'TableShapeChange',
    description:
      "A table's new shape. A change of columns or excludedFields resyncs the table alone into the new shape " +
      'while CDC keeps running; a change of onTypeMismatch alone applies from the next CDC run.',
  });
export type TableShapePatch = z.output<typeof tableShapePatchSchema>;

export interface TableShapeChange {
  settings: PipeSettings;
  /** Tables (keys) whose columns or excluded fields change: each needs a resync into the new shape. */
  reshaped: string[];
  /** Tables whose onTypeMismatch alone changes. */
  mismatchOnly: string[];
}

const SHAPE_FIELDS = ['columns', 'excludedFields', 'onTypeMismatch'] as const;

/** The mapping with the patch's fields; an empty list is stored as no list (the plain table again). */
function patched(mapping: TableMapping, patch: TableShapePatch): TableMapping {
  const next: Record<string, unknown> = { ...mapping };
  for (const field of SHAPE_FIELDS) if (patch[field] !== undefined) next[field] = patch[field];
  for (const field of ['columns', 'excludedFields'] as const) {
    if (Array.isArray(next[field]) && (next[field] as unknown[]).length === 0) delete next[field];
  }
  return next as TableMapping;
}

const sameJson = (a: unknown, b: unknown): boolean => JSON.stringify(a ?? []) === JSON.stringify(b ?? []);

/**
 * Apply shape patches to the pipe's settings. Each patch names a mapping of the settings and is
 * checked with the mapping it makes (the columns' rules, exclusions against column paths) at
 * `tableMappingsToChange[i]`; a column keeping its name must keep a type the live table can
 * still take until the swap.
 */
export function applyTableShapeChanges(
  current: PipeSettings,
  patches: readonly TableShapePatch[],
): TableShapeChange {
  const errors: FieldError[] = [];
  const mappings = [...current.tableMappings];
  const reshaped: string[] = [];
  const mismatchOnly: string[] = [];
  patches.forEach((patch, index) => {
    const key = tableKeyOf(patch);
    const at = mappings.findIndex((mapping) => tableKeyOf(mapping) === key);
    const path = `tableMappingsToChange[${index}]`;
    const mapping = mappings[at];
    if (mapping === undefined) {
      errors.push({ path: `${path}.sourceCollection`, message: `the pipe has no table ${key}` });
      return;
    }
    const next = patched(mapping, patch);
    const checked = tableMappingSchema.safeParse(next, { error: friendlyIssueMessage });
    if (!checked.success) {
      errors.push(...toFieldErrors(checked.error.issues, ['tableMappingsToChange', index]));
      return;
    }
    errors.push(...retypeErrors(mapping, next, path));
    mappings[at] = next;
    if (!sameJson(mapping.columns, next.columns) || !sameJson(mapping.excludedFields, next.excludedFields)) {
      reshaped.push(key);
    } else if ((mapping.onTypeMismatch ?? 'null') !== (next.onTypeMismatch ?? 'null')) mismatchOnly.push(key);
  });
  if (errors.length > 0) throw new InvalidSettingsError(errors);
  return {
    settings: parseSettings({ ...current, tableMappings: mappings }, ['settings']),
    reshaped,
    mismatchOnly,
  };
}

/**
 * Until the swap, CDC writes the new shape's rows to the live table too (so it stays fresh):
 * ClickHouse skips the columns that table lacks and fills the ones the rows lack with defaults,
 * but a column present in both under another type must parse the new values.
 */
function retypeErrors(before: TableMapping, after: TableMapping, path: string): FieldError[] {
  const old = new Map((before.columns ?? []).map((column) => [column.name, column.type]));
  return (after.columns ?? []).flatMap((column, index) => {
    const oldType = old.get(column.name);
    if (oldType === undefined || liveColumnTakes(oldType, column.type)) return [];
    return [
      {
        path: `${path}.columns[${index}].type`,
        message:
          `column ${column.name} would change from ${oldType} to ${column.type}, which the live table's column ` +
          'cannot take until the swap: give the column a new name (the old one leaves with the old table)',
      },
    ];
  });
}

const NUMBER_KINDS: readonly ScalarType['kind'][] = ['Int32', 'Int64', 'UInt64', 'Float64', 'Decimal'];

function scalarTakes(old: ScalarType, next: ScalarType): boolean {
  if (old.kind === 'String') return true;
  if (old.kind === 'Float64') return NUMBER_KINDS.includes(next.kind);
  if (old.kind === 'Int64' && next.kind === 'Int32') return true;
  if (old.kind !== next.kind) return false;
  if (old.kind !== 'Decimal') return true;
  return next.scale <= old.scale && next.precision - next.scale <= old.precision - old.scale;
}

/**
 * Whether a live column of type `oldText` parses every value a column of type `newText` writes:
 * a String takes any value's text, a Float64 any number, an Int64 an Int32, a wider Decimal a
 * narrower one; Nullable and LowCardinality only change storage (a NULL becomes the default).
 */
export function liveColumnTakes(oldText: string, newText: string): boolean {
  if (oldText === newText) return true;
  const old = parseColumnType(oldText);
  const next = parseColumnType(newText);
  if (!old.ok || !next.ok) return false;
  return typeTakes(old.type, next.type);
}

function typeTakes(old: ColumnType, next: ColumnType): boolean {
  if (old.kind === 'Array' || next.kind === 'Array') {
    if (old.kind === 'Array' && next.kind === 'Array') return scalarTakes(old.element, next.element);
    return old.kind !== 'Array' && old.kind === 'String';
  }
  return scalarTakes(old, next);
}

/** The ALTER that gives a live table the typed columns it lacks: metadata only, no row rewritten. */
export function addColumnsSql(
  ref: { database: string; table: string },
  columns: readonly TypedColumnSql[],
): string {
  const adds = columns.map(
    (column) => `ADD COLUMN IF NOT EXISTS ${quoteIdentifier(column.name)} ${column.sql}`,
  );
  return `ALTER TABLE ${quoteIdentifier(ref.database)}.${quoteIdentifier(ref.table)} ${adds.join(', ')}`;
}

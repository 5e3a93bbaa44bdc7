import { z } from 'zod';
import { parseColumnType } from './table-shape-types.js';

/**
 * The per-mapping settings of typed columns (docs/table-schema.md, "Typed columns"):
 * `columns`, `excludedFields` and `onTypeMismatch`. Kept apart from settings.ts so the rules
 * about paths live next to each other.
 */

export const TYPE_MISMATCH_ACTIONS = ['null', 'fail'] as const;
export type TypeMismatchAction = (typeof TYPE_MISMATCH_ACTIONS)[number];

export const MAX_COLUMNS = 500;
export const MAX_EXCLUDED_FIELDS = 1000;
const MAX_PATH_LENGTH = 1024;
/** MongoDB nests documents at most 100 levels. */
const MAX_PATH_SEGMENTS = 100;
const MAX_COLUMN_NAME_LENGTH = 128;
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Names the table already has; `_peerdb_` is ClickPipes' prefix for its own columns. */
const RESERVED_NAMES = ['_id', 'doc'];
const RESERVED_PREFIX = '_peerdb_';

/** A dotted path: non-empty segments; a segment of digits also addresses an array element. */
export const fieldPathSchema = z
  .string()
  .min(1, { error: 'path must not be empty', abort: true })
  .max(MAX_PATH_LENGTH, { error: `path must be at most ${MAX_PATH_LENGTH} characters long` })
  .refine((path) => path.split('.').every((segment) => segment.length > 0), {
    error: 'path must be field names separated by single dots, with no empty segment',
  })
  .refine((path) => path.split('.').length <= MAX_PATH_SEGMENTS, {
    error: `path must have at most ${MAX_PATH_SEGMENTS} segments`,
  })
  .refine((path) => !path.includes('\0'), { error: 'path must not contain a NUL character' });

const columnName = z
  .string()
  .min(1, { error: 'column name must not be empty', abort: true })
  .max(MAX_COLUMN_NAME_LENGTH, {
    error: `column name must be at most ${MAX_COLUMN_NAME_LENGTH} characters long`,
  })
  .regex(IDENTIFIER, {
    error:
      'column name must start with a letter or underscore and contain only letters, digits and underscores',
  })
  .refine((name) => !RESERVED_NAMES.includes(name) && !name.startsWith(RESERVED_PREFIX), {
    error: 'column names _id, doc and _peerdb_* are reserved for the columns every table has',
  });

const columnType = z.string().superRefine((text, ctx) => {
  const parsed = parseColumnType(text);
  if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.reason });
});

export const typedColumnSchema = z
  .strictObject({
    path: fieldPathSchema.describe(
      'Dotted path into the document, e.g. customer.city; a numeric segment addresses an array element (lines.0.sku).',
    ),
    name: columnName.describe(
      'ClickHouse column name: letters, digits and underscores, not starting with a digit; not _id, doc or _peerdb_*.',
    ),
    type: columnType.describe(
      'ClickHouse type: String, LowCardinality(String), Int32, Int64, UInt64, Float64, Decimal(P,S), Bool, Date, ' +
        'DateTime64(3), UUID, Nullable(T) of those, LowCardinality(Nullable(String)), or Array(T) of any of them.',
    ),
  })
  .meta({
    id: 'TypedColumn',
    description:
      'A ClickHouse column filled at ingest from one path of each document (docs/table-schema.md).',
  });
export type TypedColumnSetting = z.infer<typeof typedColumnSchema>;

const isUnder = (path: string, prefix: string): boolean => path === prefix || path.startsWith(`${prefix}.`);

export const typedColumnsSchema = z
  .array(typedColumnSchema)
  .max(MAX_COLUMNS, { error: `at most ${MAX_COLUMNS} typed columns per table` })
  .superRefine((columns, ctx) => {
    const seen = new Map<string, number>();
    columns.forEach((column, index) => {
      const first = seen.get(column.name);
      if (first === undefined) seen.set(column.name, index);
      else {
        ctx.addIssue({
          code: 'custom',
          path: [index, 'name'],
          message: `column ${column.name} is already defined by columns[${first}]`,
        });
      }
    });
  });

export const excludedFieldsSchema = z
  .array(fieldPathSchema)
  .max(MAX_EXCLUDED_FIELDS, { error: `at most ${MAX_EXCLUDED_FIELDS} excluded fields per table` })
  .superRefine((paths, ctx) => {
    paths.forEach((path, index) => {
      if (isUnder(path, '_id')) {
        ctx.addIssue({ code: 'custom', path: [index], message: '_id is the row key and cannot be excluded' });
      }
      const covering = paths.findIndex(
        (other, at) => at !== index && isUnder(path, other) && (other !== path || at < index),
      );
      if (covering !== -1) {
        ctx.addIssue({
          code: 'custom',
          path: [index],
          message: `${path} is already excluded by excludedFields[${covering}]`,
        });
      }
    });
  });

/** A path with its array indexes left out: an excluded field reaches into every element of an array. */
const withoutIndexes = (path: string): string =>
  path
    .split('.')
    .filter((segment) => !/^\d+$/.test(segment))
    .join('.');

/**
 * A column may not read an excluded field, nor a document or array that holds one: either way the
 * excluded value would reach ClickHouse, which excludedFields promises never happens. Array
 * indexes are left out of both paths before comparing (`lines.1` holds `lines.secret`), which
 * also refuses a few pairs that could not meet (`lines.1.secret` beside `lines.0.secret`).
 */
export function columnExclusionIssues(
  columns: readonly TypedColumnSetting[],
  excluded: readonly string[],
): { index: number; message: string }[] {
  const issues: { index: number; message: string }[] = [];
  columns.forEach((column, index) => {
    const read = withoutIndexes(column.path);
    const clash = excluded.find((path) => {
      const left = withoutIndexes(path);
      return isUnder(read, left) || isUnder(left, read);
    });
    if (clash === undefined) return;
    issues.push({
      index,
      message: isUnder(read, withoutIndexes(clash))
        ? `path ${column.path} is excluded by excludedFields entry ${clash}`
        : `path ${column.path} holds the excluded field ${clash}, which the column would write`,
    });
  });
  return issues;
}

export const typeMismatchSchema = z
  .enum(TYPE_MISMATCH_ACTIONS)
  .describe(
    'What a value that does not convert to its column type does: null (the default: NULL, or the type default ' +
      'for a non-Nullable column, counted per column in the pipe status) or fail (the table stops, naming the ' +
      'document _id, the path and the BSON type).',
  );

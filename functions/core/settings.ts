import { z } from 'zod';
import { InvalidSettingsError } from './errors.js';
import { friendlyIssueMessage, toFieldErrors } from './field-errors.js';
import { qualifiedTableName, tableKeyOf } from './table-key.js';
import {
  columnExclusionIssues,
  excludedFieldsSchema,
  typedColumnsSchema,
  typeMismatchSchema,
} from './table-shape-settings.js';

export const REPLICATION_MODES = ['cdc', 'snapshot', 'cdc_only'] as const;
export const READ_PREFERENCES = [
  'primary',
  'primaryPreferred',
  'secondary',
  'secondaryPreferred',
  'nearest',
] as const;
export const OPERATION_TYPES = ['insert', 'update', 'replace', 'delete'] as const;

/** Suffix of the shadow table a resync loads before the swap; user tables may not end with it. */
export const RESYNC_SUFFIX = '_resync';
/** Suffix under which the swap's rename fallback sets the old rows aside until it drops them. */
export const SWAPPED_OUT_SUFFIX = '_swapped_out';
/**
 * Every suffix the product gives tables of its own next to a pipe's table (`<table><suffix>`),
 * with what it is for. A target table may not end with one: the product would create, swap or
 * drop a table of that name beside the mapping's own.
 */
export const RESERVED_TABLE_SUFFIXES = [RESYNC_SUFFIX, SWAPPED_OUT_SUFFIX] as const;
const RESERVED_SUFFIX_USE: Readonly<Record<(typeof RESERVED_TABLE_SUFFIXES)[number], string>> = {
  [RESYNC_SUFFIX]: 'resync tables',
  [SWAPPED_OUT_SUFFIX]: 'resync swaps',
};
/** Longest target table name, leaving room for the longest reserved suffix within ClickHouse's practical limit. */
export const MAX_TABLE_NAME_LENGTH = 120;

const CLICKHOUSE_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Characters MongoDB refuses in a database name on any platform, plus the NUL byte. */
const MONGO_DB_FORBIDDEN = /[/\\. "$*<>:|?\0]/;
const MONGO_SYSTEM_DATABASES = ['admin', 'local', 'config'];
const CLICKHOUSE_SYSTEM_DATABASES = ['system', 'information_schema', 'INFORMATION_SCHEMA'];
const MONGO_MAX_DB_BYTES = 63;
const MONGO_MAX_NAMESPACE_BYTES = 255;

const utf8Length = (text: string): number => Buffer.byteLength(text, 'utf8');

const wholeNumber = (min: number, max: number, what: string) =>
  z
    .number()
    .int({ error: `${what} must be a whole number` })
    .min(min, { error: `${what} must be at least ${min}` })
    .max(max, { error: `${what} must be at most ${max}` });

export const clickHouseIdentifier = (what: string, maxLength: number) =>
  z
    .string()
    .min(1, { error: `${what} must not be empty`, abort: true })
    .max(maxLength, { error: `${what} must be at most ${maxLength} characters long` })
    .regex(CLICKHOUSE_IDENTIFIER, {
      error: `${what} must start with a letter or underscore and contain only letters, digits and underscores`,
    });

/** A ClickHouse database a pipe may write to: a strict identifier, never a system database. */
export const clickHouseDatabaseName = clickHouseIdentifier('database name', 128).refine(
  (name) => !CLICKHOUSE_SYSTEM_DATABASES.includes(name),
  { error: 'system and information_schema are ClickHouse system databases' },
);

const mongoDatabaseName = z
  .string()
  .min(1, { error: 'database name must not be empty', abort: true })
  .refine((name) => utf8Length(name) <= MONGO_MAX_DB_BYTES, {
    error: `database name must be at most ${MONGO_MAX_DB_BYTES} bytes long`,
  })
  .refine((name) => !MONGO_DB_FORBIDDEN.test(name), {
    error: 'database name must not contain / \\ . space " $ * < > : | ? or a NUL character',
  })
  .refine((name) => !MONGO_SYSTEM_DATABASES.includes(name), {
    error: 'admin, local and config are MongoDB system databases and cannot be replicated',
  });

const mongoCollectionName = z
  .string()
  .min(1, { error: 'collection name must not be empty', abort: true })
  .refine((name) => !name.includes('$') && !name.includes('\0'), {
    error: 'collection name must not contain $ or a NUL character',
  })
  .refine((name) => !name.startsWith('system.'), {
    error: 'collections named system.* are internal to MongoDB and cannot be replicated',
  });

/**
 * The API document is generated from these schemas (functions/api/document.ts): every field says
 * what it is with `.describe()`, and a few schemas are named with `.meta({ id })`. Neither changes
 * what parses.
 */
export const tableMappingSchema = z
  .strictObject({
    sourceDatabaseName: mongoDatabaseName.describe(
      `MongoDB database of the collection: at most ${MONGO_MAX_DB_BYTES} bytes, none of / \\ . space " $ * < > : | ? ` +
        'or NUL, and not admin, local or config (system databases).',
    ),
    sourceCollection: mongoCollectionName.describe(
      'MongoDB collection to replicate: no $ or NUL, not system.*; database and collection name together ' +
        `at most ${MONGO_MAX_NAMESPACE_BYTES} bytes.`,
    ),
    targetTable: clickHouseIdentifier('table name', MAX_TABLE_NAME_LENGTH)
      .superRefine((name, ctx) => {
        const suffix = RESERVED_TABLE_SUFFIXES.find((reserved) => name.endsWith(reserved));
        if (suffix === undefined) return;
        ctx.addIssue({
          code: 'custom',
          message: `table name must not end with ${suffix}: that suffix is reserved for ${RESERVED_SUFFIX_USE[suffix]}`,
        });
      })
      .describe(
        'ClickHouse table the collection replicates to: letters, digits and underscores, not starting with ' +
          `a digit; must not end with ${RESERVED_TABLE_SUFFIXES.join(' or ')} (reserved for the tables of resyncs).`,
      ),
    targetDatabase: clickHouseDatabaseName
      .optional()
      .describe(
        "ClickHouse database of the table; the destination's database when left out. Not system or " +
          'information_schema.',
      ),
    columns: typedColumnsSchema
      .optional()
      .describe(
        'Typed columns filled at ingest from paths of each document, beside _id and doc (docs/table-schema.md); ' +
          'names unique, none reading an excluded field.',
      ),
    excludedFields: excludedFieldsSchema
      .optional()
      .describe(
        'Dotted paths left out of doc and never written anywhere (size, privacy); not _id, each path once.',
      ),
    onTypeMismatch: typeMismatchSchema.optional(),
  })
  .superRefine((mapping, ctx) => {
    for (const issue of columnExclusionIssues(mapping.columns ?? [], mapping.excludedFields ?? [])) {
      ctx.addIssue({ code: 'custom', path: ['columns', issue.index, 'path'], message: issue.message });
    }
    const namespace = tableKeyOf(mapping);
    if (utf8Length(namespace) > MONGO_MAX_NAMESPACE_BYTES) {
      ctx.addIssue({
        code: 'custom',
        path: ['sourceCollection'],
        message: `database and collection name together must be at most ${MONGO_MAX_NAMESPACE_BYTES} bytes`,
      });
    }
  })
  .meta({ id: 'TableMapping', description: 'One collection and the ClickHouse table it replicates to.' });
export type TableMapping = z.infer<typeof tableMappingSchema>;

export const tableMappingsSchema = z
  .array(tableMappingSchema)
  .min(1, { error: 'list at least one collection to replicate' })
  .max(1000, { error: 'at most 1000 collections per pipe' })
  .superRefine((mappings, ctx) => {
    const targets = new Map<string, number>();
    const sources = new Map<string, number>();
    mappings.forEach((mapping, index) => {
      const target = qualifiedTableName({
        database: mapping.targetDatabase ?? '',
        table: mapping.targetTable,
      });
      const source = tableKeyOf(mapping);
      const targetFirst = targets.get(target);
      if (targetFirst !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: [index, 'targetTable'],
          message: `table ${mapping.targetTable} is already the target of tableMappings[${targetFirst}]: each table takes one collection`,
        });
      } else targets.set(target, index);
      const sourceFirst = sources.get(source);
      if (sourceFirst !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: [index, 'sourceCollection'],
          message: `collection ${source} is already mapped by tableMappings[${sourceFirst}]`,
        });
      } else sources.set(source, index);
    });
  });

/** The settings of docs/settings.md; each description there says the same in more words. */
export const pipeSettingsSchema = z
  .strictObject({
    replicationMode: z
      .enum(REPLICATION_MODES)
      .default('cdc')
      .describe(
        'cdc: initial load, then continuous change data capture. snapshot: initial load only, then ' +
          'Completed. cdc_only: no initial load, only the changes from now on. Fixed at creation.',
      ),
    syncIntervalSeconds: wholeNumber(1, 86_400, 'sync interval')
      .default(60)
      .describe(
        'How CDC follows the change stream. 60 and above: a CDC run starts on a schedule of this interval ' +
          '(rounded up to whole minutes) and drains until caught up. 1 to 59: a run stays on the stream and ' +
          'inserts and commits every that many seconds (seconds of lag, a function always running).',
      ),
    pullBatchSize: wholeNumber(1, 1_000_000, 'pull batch size')
      .default(100_000)
      .describe(
        'Most change events one CDC batch reads before it inserts them and commits its resume point; a run ' +
          'makes as many batches as it needs.',
      ),
    snapshotNumRowsPerPartition: wholeNumber(1_000, 100_000_000, 'rows per partition')
      .default(250_000)
      .describe('Target rows per partition of the initial load.'),
    snapshotNumberOfParallelTables: wholeNumber(1, 16, 'parallel tables')
      .default(1)
      .describe('Tables of the initial load loaded at the same time.'),
    initialLoadParallelism: wholeNumber(1, 32, 'initial load parallelism')
      .default(4)
      .describe('Partitions of one table loaded at the same time.'),
    deleteOnMerge: z
      .boolean()
      .default(false)
      .describe(
        "Create the destination tables with ReplacingMergeTree's clean-up enabled, so merges physically " +
          'remove rows whose latest version is a delete. Queries with FINAL see the same rows either way: ' +
          'this only saves space.',
      ),
    useJsonNativeFormat: z
      .boolean()
      .default(true)
      .describe(
        'The doc column is a ClickHouse JSON column (true) or a String column holding the same JSON text ' +
          '(false). Fixed at creation.',
      ),
    readPreference: z
      .enum(READ_PREFERENCES)
      .default('primary')
      .describe(
        'Which replica set members serve the snapshot reads (docs/settings.md says why primary is the default).',
      ),
    tableMappings: tableMappingsSchema.describe(
      'Which collections replicate to which tables: 1 to 1000 mappings, each collection and each target ' +
        'table at most once. Changed with tableMappingsToAdd / tableMappingsToRemove, not by a settings update.',
    ),
    autoResyncOnHistoryLoss: z
      .boolean()
      .default(false)
      .describe(
        'When the resume point has fallen off the oplog, resync the pipe automatically instead of stopping in ' +
          'Failed. Off by default: a resync reloads every table.',
      ),
    excludedOperationTypes: z
      .array(z.enum(OPERATION_TYPES))
      .max(3, { error: 'excluding every operation type would replicate nothing after the snapshot' })
      .refine((types) => new Set(types).size === types.length, { error: 'list each operation type once' })
      .default([])
      .meta({
        description:
          'Change events of these types are not replicated (["delete"] keeps deleted documents in ' +
          'ClickHouse); each type at most once, not all four.',
        uniqueItems: true,
      }),
    snapshotBatchMaxRows: wholeNumber(1, 1_000_000, 'snapshot batch rows')
      .default(50_000)
      .describe(
        'A snapshot chunk inserts once it holds this many rows or snapshotBatchMaxBytes of documents (BSON), ' +
          'whichever comes first.',
      ),
    snapshotBatchMaxBytes: wholeNumber(1_048_576, 268_435_456, 'snapshot batch bytes')
      .default(33_554_432)
      .describe(
        'A snapshot chunk inserts once it holds this many bytes of documents (BSON, as read from MongoDB) or snapshotBatchMaxRows rows, ' +
          "whichever comes first: bounds a chunk's memory whatever the size of the documents.",
      ),
    cdcTimeBudgetSeconds: wholeNumber(30, 840, 'CDC time budget')
      .default(840)
      .describe(
        "Longest one CDC run goes on (within the function's 15 minutes) before it ends and, with work left " +
          'or in continuous mode, hands over to the next run. Each batch commits its own resume point.',
      ),
  })
  .meta({
    id: 'Settings',
    description:
      "A pipe's settings (docs/settings.md). Only tableMappings is required; every other setting has the " +
      'default shown, filled in when the pipe is created.',
  });

/** Settings with every default filled in: what the pipe store keeps. */
export type PipeSettings = z.output<typeof pipeSettingsSchema>;
/** Settings as a user sends them: everything but tableMappings may be left out. */
export type PipeSettingsInput = z.input<typeof pipeSettingsSchema>;
export type SettingName = keyof PipeSettings;

/** Validate settings (at `prefix` in the caller's input) and fill defaults, or throw InvalidSettingsError. */
export function parseSettings(input: unknown, prefix: readonly PropertyKey[] = []): PipeSettings {
  const result = pipeSettingsSchema.safeParse(input, { error: friendlyIssueMessage });
  if (!result.success) throw new InvalidSettingsError(toFieldErrors(result.error.issues, prefix));
  return result.data;
}

/** The defaults of every setting that has one, for docs and the API's GET of a new pipe form. */
export function settingDefaults(): Omit<PipeSettings, 'tableMappings'> {
  const { tableMappings: _ignored, ...defaults } = pipeSettingsSchema.parse({
    tableMappings: [{ sourceDatabaseName: 'd', sourceCollection: 'c', targetTable: 't' }],
  });
  return defaults;
}

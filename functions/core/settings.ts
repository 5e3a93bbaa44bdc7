import { z } from 'zod';
import { InvalidSettingsError } from './errors.js';
import { friendlyIssueMessage, toFieldErrors } from './field-errors.js';
import { qualifiedTableName, tableKeyOf } from './table-key.js';

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

export const tableMappingSchema = z
  .strictObject({
    sourceDatabaseName: mongoDatabaseName,
    sourceCollection: mongoCollectionName,
    targetTable: clickHouseIdentifier('table name', MAX_TABLE_NAME_LENGTH).superRefine((name, ctx) => {
      const suffix = RESERVED_TABLE_SUFFIXES.find((reserved) => name.endsWith(reserved));
      if (suffix === undefined) return;
      ctx.addIssue({
        code: 'custom',
        message: `table name must not end with ${suffix}: that suffix is reserved for ${RESERVED_SUFFIX_USE[suffix]}`,
      });
    }),
    targetDatabase: clickHouseDatabaseName.optional(),
  })
  .superRefine((mapping, ctx) => {
    const namespace = tableKeyOf(mapping);
    if (utf8Length(namespace) > MONGO_MAX_NAMESPACE_BYTES) {
      ctx.addIssue({
        code: 'custom',
        path: ['sourceCollection'],
        message: `database and collection name together must be at most ${MONGO_MAX_NAMESPACE_BYTES} bytes`,
      });
    }
  });
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

export const pipeSettingsSchema = z.strictObject({
  replicationMode: z.enum(REPLICATION_MODES).default('cdc'),
  syncIntervalSeconds: wholeNumber(1, 86_400, 'sync interval').default(60),
  pullBatchSize: wholeNumber(1, 1_000_000, 'pull batch size').default(100_000),
  snapshotNumRowsPerPartition: wholeNumber(1_000, 100_000_000, 'rows per partition').default(250_000),
  snapshotNumberOfParallelTables: wholeNumber(1, 16, 'parallel tables').default(1),
  initialLoadParallelism: wholeNumber(1, 32, 'initial load parallelism').default(4),
  deleteOnMerge: z.boolean().default(false),
  useJsonNativeFormat: z.boolean().default(true),
  readPreference: z.enum(READ_PREFERENCES).default('primary'),
  tableMappings: tableMappingsSchema,
  autoResyncOnHistoryLoss: z.boolean().default(false),
  excludedOperationTypes: z
    .array(z.enum(OPERATION_TYPES))
    .max(3, { error: 'excluding every operation type would replicate nothing after the snapshot' })
    .refine((types) => new Set(types).size === types.length, { error: 'list each operation type once' })
    .default([]),
  snapshotBatchMaxRows: wholeNumber(1, 1_000_000, 'snapshot batch rows').default(50_000),
  snapshotBatchMaxBytes: wholeNumber(1_048_576, 268_435_456, 'snapshot batch bytes').default(33_554_432),
  cdcTimeBudgetSeconds: wholeNumber(30, 840, 'CDC time budget').default(840),
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

import { z } from '@hono/zod-openapi';
import { PIPE_STATES } from '../../core/lifecycle.js';
import { pipeSettingsSchema } from '../../core/settings.js';
import { LIFECYCLE_OPERATIONS } from '../../ports/lifecycle.js';
import { TABLE_STATES, TABLE_STOP_REASONS } from '../../ports/pipe-store.js';
import { cdcStatusSchema, sourceHealthSchema } from './cdc-view.js';
import { dateTime, orNull } from './shared.js';

export const pipeStateSchema = z
  .enum(PIPE_STATES)
  .openapi('PipeState', { description: "The pipe's lifecycle state (docs/lifecycle.md)." });

/** The commands a pipe accepts, as views and refusals list them (delete is always among them). */
export const API_COMMANDS = ['pause', 'resume', 'resync', 'addTables', 'removeTables', 'delete'] as const;
export type ApiCommand = (typeof API_COMMANDS)[number];
export const commandSchema = z.enum(API_COMMANDS).openapi('Command');

/**
 * Settings as stored (every default filled in at creation): the core's schema, which names itself
 * `Settings` (zod's own `.meta({ id })`) so that requests and views share one component.
 */
export const settingsSchema = pipeSettingsSchema;

export const tableSchema = z
  .strictObject({
    tableKey: z.string().openapi({ description: '<database>.<collection>: how commands name the table.' }),
    sourceDatabaseName: z.string(),
    sourceCollection: z.string(),
    targetTable: z.string(),
    state: z.enum(TABLE_STATES),
    stopReason: z.enum(TABLE_STOP_REASONS).nullable(),
    stopMessage: z.string().nullable(),
    progress: z.strictObject({
      documentsCopied: z.number().int().min(0),
      documentsEstimated: z.number().int().min(0),
      partitionsDone: z.number().int().min(0),
      partitionsTotal: z.number().int().min(0),
    }),
    typeMismatches: z.record(z.string(), z.number().int().min(0)).openapi({
      description:
        "Values of the table's typed columns that did not convert, per column name (snapshot and CDC; " +
        'docs/table-schema.md); {} when none did.',
    }),
    updatedAt: dateTime,
  })
  .openapi('Table');

export const lastErrorSchema = z
  .strictObject({ name: z.string(), message: z.string(), at: dateTime })
  .nullable()
  .openapi('LastError');

export const pipeSummarySchema = z
  .strictObject({
    id: z.string(),
    name: z.string(),
    state: pipeStateSchema,
    createdAt: dateTime,
    updatedAt: dateTime,
    lastError: lastErrorSchema,
  })
  .openapi('PipeSummary');

/** Credentials never appear: a URI is shown with its password masked, a secret by its ARN. */
export const sourceViewSchema = z
  .strictObject({
    uri: z.string().optional().openapi({ description: 'Local deployments only; credentials masked.' }),
    secretArn: z
      .string()
      .optional()
      .openapi({ description: 'The Secrets Manager secret holding the connection string.' }),
    health: orNull(sourceHealthSchema).openapi({ description: 'Null before the first CDC run.' }),
  })
  .openapi('SourceView', { description: "The pipe's source as stored (credentials masked) and its health." });

export const destinationViewSchema = z
  .strictObject({
    kind: z.string().optional(),
    url: z.string().optional(),
    database: z.string().optional(),
    username: z.string().optional(),
    secretArn: z.string().optional(),
  })
  .openapi('DestinationView');

const pipeShape = {
  ...pipeSummarySchema.shape,
  version: z.number().int().min(1).openapi({ description: 'Counts state changes.' }),
  settings: settingsSchema,
  source: sourceViewSchema,
  destination: destinationViewSchema,
  tables: z.array(tableSchema),
  cdc: cdcStatusSchema,
  allowedCommands: z.array(commandSchema),
};

export const pipeSchema = z.strictObject(pipeShape).openapi('Pipe');

export const acceptedPipeSchema = z
  .strictObject({
    ...pipeShape,
    operation: z.enum(LIFECYCLE_OPERATIONS),
    executionId: z
      .string()
      .nullable()
      .openapi({
        description:
          'The Step Functions execution ARN (a local id locally); null when a repeated create found the ' +
          'pipe past Provisioning.',
      }),
  })
  .openapi('AcceptedPipe');

export const settingsChangedSchema = z
  .strictObject({ ...pipeShape, changedSettings: z.array(z.string()) })
  .openapi('SettingsChanged');

export type PipeView = z.output<typeof pipeSchema>;
export type PipeSummaryView = z.output<typeof pipeSummarySchema>;
export type TableView = z.output<typeof tableSchema>;
export type SourceView = z.output<typeof sourceViewSchema>;
export type DestinationView = z.output<typeof destinationViewSchema>;

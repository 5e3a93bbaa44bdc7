import { z } from '@hono/zod-openapi';
import { createPipeRequestSchema } from '../../core/create-request.js';
import { friendlyIssueMessage, toFieldErrors } from '../../core/field-errors.js';
import { pipeSettingsSchema, tableMappingsSchema } from '../../core/settings.js';
import { tableShapePatchSchema } from '../../core/settings-change-shape.js';
import { BadRequestError } from '../errors.js';
import { pipeStateSchema } from './pipe-view.js';

/**
 * What requests may carry. Each schema here is the one its parser runs, and the OpenAPI document
 * is generated from the same object, so the two cannot disagree.
 */

/** Pipe ids the store can hold; anything else cannot name a pipe (a 404, not a 400). */
export const pipeIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/)
  .openapi({ param: { name: 'id', in: 'path' } });

export const pipeIdParams = z.object({ id: pipeIdSchema });

/** Printable ASCII without spaces, at most 200 characters. */
export const idempotencyKeySchema = z
  .string()
  .regex(/^[\x21-\x7e]{1,200}$/)
  .openapi({
    description: 'The same key with the same request returns the same result; with another request, 409.',
  });

export const idempotencyKeyHeader = z.object({ 'Idempotency-Key': idempotencyKeySchema.optional() });

/** The API-level commands of `PATCH /pipes/{id}/state`; table changes go through `PATCH /pipes/{id}`. */
export const STATE_COMMANDS = ['pause', 'resume', 'resync'] as const;
export type StateCommand = (typeof STATE_COMMANDS)[number];

/** `<database>.<collection>`, as the pipe view lists each table's `tableKey`. */
const tableKey = z
  .string()
  .min(3, { error: 'must be a table key <database>.<collection>' })
  .max(400)
  .regex(/^[^.]+\..+$/, { error: 'must be a table key <database>.<collection>' });

const tableKeys = z
  .array(tableKey)
  .min(1, { error: 'list at least one table' })
  .max(1000)
  .refine((keys) => new Set(keys).size === keys.length, { error: 'list each table once' });

export const stateCommandSchema = z
  .strictObject({
    command: z.enum(STATE_COMMANDS).openapi({
      description: 'pause or resume the pipe, or resync it: reload every table, or only those in tables.',
    }),
    tables: tableKeys
      .optional()
      .openapi({ description: 'resync only: the table keys to resync; the whole pipe when absent.' }),
  })
  .superRefine((body, ctx) => {
    if (body.tables !== undefined && body.command !== 'resync') {
      ctx.addIssue({ code: 'custom', path: ['tables'], message: 'only resync takes a list of tables' });
    }
  })
  .openapi('StateCommand');
export type StateCommandBody = z.output<typeof stateCommandSchema>;

const collectionRef = z.strictObject({
  sourceDatabaseName: z
    .string()
    .min(1)
    .max(64)
    .openapi({ description: 'MongoDB database of the collection.' }),
  sourceCollection: z.string().min(1).max(255).openapi({ description: 'A collection the pipe replicates.' }),
});

const PATCH_KINDS = [
  'tableMappingsToAdd',
  'tableMappingsToRemove',
  'tableMappingsToChange',
  'settings',
] as const;

/** What the first parse of `PATCH /pipes/{id}` checks; mappings and settings are parsed once the pipe is read. */
const pipePatchShape = {
  tableMappingsToAdd: z.array(z.unknown()).min(1, { error: 'list at least one table mapping' }).optional(),
  tableMappingsToRemove: z
    .array(collectionRef)
    .min(1, { error: 'list at least one table' })
    .optional()
    .openapi({
      description: 'Collections to stop replicating (removeTables); a pipe keeps at least one table.',
    }),
  tableMappingsToChange: z
    .array(z.unknown())
    .min(1, { error: 'list at least one table to change' })
    .max(1000)
    .optional(),
  dropTables: z.boolean().optional().openapi({
    description: 'With tableMappingsToRemove: also drop the ClickHouse tables (kept by default).',
  }),
  settings: z.record(z.string(), z.unknown()).optional(),
};

/**
 * One change per request: each kind runs a different machine (or none), and a request that did
 * half of its work before a refusal would leave the caller guessing which half.
 */
export const pipePatchSchema = z.strictObject(pipePatchShape).superRefine((body, ctx) => {
  const kinds = PATCH_KINDS.filter((kind) => body[kind] !== undefined);
  if (kinds.length !== 1) {
    ctx.addIssue({
      code: 'custom',
      path: [],
      message:
        'send exactly one of tableMappingsToAdd, tableMappingsToRemove, tableMappingsToChange or settings per request',
    });
  }
  if (body.dropTables !== undefined && body.tableMappingsToRemove === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['dropTables'],
      message: 'only applies with tableMappingsToRemove',
    });
  }
});
export type PipePatchBody = z.output<typeof pipePatchSchema>;

/**
 * The patch as documented: the first parse's fields, with the schemas that parse the new mappings
 * (the core's tableMappingsSchema) and the settings (the core's settings, merged over the pipe's).
 */
export const pipePatchDocument = z
  .strictObject({
    ...pipePatchShape,
    tableMappingsToAdd: tableMappingsSchema.optional().openapi({
      description:
        'Collections to start replicating (addTables), checked by the same rules as settings.tableMappings ' +
        "together with the pipe's current mappings.",
    }),
    tableMappingsToChange: z.array(tableShapePatchSchema).min(1).max(1000).optional().openapi({
      description:
        'Tables whose shape changes (columns, excludedFields, onTypeMismatch): a new column list or new excluded fields resync each such table alone into its new shape while CDC keeps running (202); onTypeMismatch alone applies from the next CDC run (200).',
    }),
    settings: pipeSettingsSchema.partial().optional().openapi('SettingsUpdate', {
      description: 'Any settings to change (only while Paused); unknown names are refused.',
    }),
  })
  .openapi('PipePatch', {
    description:
      'Exactly one of tableMappingsToAdd, tableMappingsToRemove, tableMappingsToChange or settings.',
  });

/**
 * The body of `POST /pipes`, parsed by the core's parseCreatePipeRequest (docs/settings.md). Named
 * with zod's own `.meta` (the core's schemas may be made before @hono/zod-openapi adds `.openapi`).
 */
export const createPipeRequestDocument = createPipeRequestSchema.meta({
  id: 'CreatePipeRequest',
  description: 'A new pipe: its unique name, where it reads from and writes to, and its settings.',
});

const pageLimit = z
  .string()
  .regex(/^\d+$/, { error: 'must be a whole number' })
  .transform(Number)
  .pipe(z.number().int().min(1).max(1000))
  .openapi({ description: 'Items per page, 1 to 1000.' });

const nextToken = z.string().min(1).max(4096).openapi({ description: 'The nextToken of the previous page.' });

export const listPipesQuerySchema = z.strictObject({
  state: pipeStateSchema.optional(),
  limit: pageLimit.optional(),
  nextToken: nextToken.optional(),
});

export const historyQuerySchema = z.strictObject({
  limit: pageLimit.optional(),
  nextToken: nextToken.optional(),
});

/** Validates with the core's plain-English messages; field paths are prefixed with where the input came from. */
export function parseWith<T extends z.ZodType>(
  schema: T,
  input: unknown,
  prefix: readonly PropertyKey[] = [],
): z.output<T> {
  const result = schema.safeParse(input, { error: friendlyIssueMessage });
  if (!result.success) throw new BadRequestError(toFieldErrors(result.error.issues, prefix));
  return result.data;
}

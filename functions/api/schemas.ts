import { z } from 'zod';
import { friendlyIssueMessage, toFieldErrors } from '../core/field-errors.js';
import { PIPE_STATES } from '../core/lifecycle.js';
import { BadRequestError } from './errors.js';

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
  .strictObject({ command: z.enum(STATE_COMMANDS), tables: tableKeys.optional() })
  .superRefine((body, ctx) => {
    if (body.tables !== undefined && body.command !== 'resync') {
      ctx.addIssue({ code: 'custom', path: ['tables'], message: 'only resync takes a list of tables' });
    }
  });
export type StateCommandBody = z.output<typeof stateCommandSchema>;

const collectionRef = z.strictObject({
  sourceDatabaseName: z.string().min(1).max(64),
  sourceCollection: z.string().min(1).max(255),
});

/**
 * One change per request: each kind runs a different machine (or none), and a request that did
 * half of its work before a refusal would leave the caller guessing which half.
 */
export const pipePatchSchema = z
  .strictObject({
    tableMappingsToAdd: z.array(z.unknown()).min(1, { error: 'list at least one table mapping' }).optional(),
    tableMappingsToRemove: z.array(collectionRef).min(1, { error: 'list at least one table' }).optional(),
    dropTables: z.boolean().optional(),
    settings: z.record(z.string(), z.unknown()).optional(),
  })
  .superRefine((body, ctx) => {
    const kinds = (['tableMappingsToAdd', 'tableMappingsToRemove', 'settings'] as const).filter(
      (kind) => body[kind] !== undefined,
    );
    if (kinds.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: [],
        message: 'send exactly one of tableMappingsToAdd, tableMappingsToRemove or settings per request',
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

const pageLimit = z
  .string()
  .regex(/^\d+$/, { error: 'must be a whole number' })
  .transform(Number)
  .pipe(z.number().int().min(1).max(1000));

export const listPipesQuerySchema = z.strictObject({
  state: z.enum(PIPE_STATES).optional(),
  limit: pageLimit.optional(),
  nextToken: z.string().min(1).max(4096).optional(),
});

export const historyQuerySchema = z.strictObject({
  limit: pageLimit.optional(),
  nextToken: z.string().min(1).max(4096).optional(),
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

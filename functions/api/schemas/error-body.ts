import { z } from '@hono/zod-openapi';
import { commandSchema, pipeStateSchema } from './pipe-view.js';
import { orNull } from './shared.js';

export const fieldErrorSchema = z
  .strictObject({
    path: z.string().openapi({
      description:
        'Where the problem is in what was sent, e.g. settings.tableMappings[0].targetTable; empty for the ' +
        'whole body.',
    }),
    message: z.string(),
  })
  .openapi('FieldError');

export const errorBodySchema = z
  .strictObject({
    error: z.strictObject({
      name: z.string().openapi({
        description: "The error's name, e.g. InvalidSettingsError, PipeNotFoundError, CommandRefusedError.",
      }),
      message: z.string(),
      fieldErrors: z
        .array(fieldErrorSchema)
        .optional()
        .openapi({ description: '400 and 403: one entry per broken rule.' }),
      currentState: orNull(pipeStateSchema)
        .optional()
        .openapi({ description: '409 for refused commands: the state the pipe is in now.' }),
      allowedCommands: z
        .array(commandSchema)
        .optional()
        .openapi({ description: '409 for refused commands: what the pipe accepts now.' }),
    }),
  })
  .openapi('Error');

export type ErrorBody = z.output<typeof errorBodySchema>;
export type ErrorDetail = ErrorBody['error'];

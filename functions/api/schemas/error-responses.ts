import { z } from '@hono/zod-openapi';
import { type ErrorBody, errorBodySchema } from './error-body.js';

interface ErrorResponseDoc {
  description: string;
  example?: ErrorBody;
  headers?: z.ZodObject;
}

const NOT_OWNED =
  'secret arn:aws:secretsmanager:eu-west-1:123456789012:secret:mongo-clickhouse-pipes/shop-AbCdEf does not ' +
  'list arn:aws:sts::123456789012:assumed-role/Analyst/s among its owners';

/** What each error status means, for every operation that can answer it (docs/api.md "Errors"). */
const ERROR_RESPONSES = {
  400: {
    description: 'The input broke one or more rules; each is listed with its field path.',
    example: {
      error: {
        name: 'InvalidSettingsError',
        message:
          'invalid settings: settings.tableMappings[0].targetTable: table name must start with a letter or ' +
          'underscore and contain only letters, digits and underscores',
        fieldErrors: [
          {
            path: 'settings.tableMappings[0].targetTable',
            message:
              'table name must start with a letter or underscore and contain only letters, digits and underscores',
          },
        ],
      },
    },
  },
  403: {
    description:
      'The caller may not name a secret of the request: its owner tag (mongo-clickhouse-pipes:owners) does ' +
      'not list the caller; fieldErrors says which (docs/security.md).',
    example: {
      error: {
        name: 'SecretNotOwnedError',
        message: `secrets not usable by this caller: source.secretArn: ${NOT_OWNED}`,
        fieldErrors: [{ path: 'source.secretArn', message: NOT_OWNED }],
      },
    },
  },
  404: {
    description: 'No pipe with this id.',
    example: { error: { name: 'PipeNotFoundError', message: 'pipe 3f1c… does not exist' } },
  },
  409: {
    description:
      "The pipe's state refuses the command (commands during transitional states are refused, not " +
      'queued), or the create request clashes with an earlier one.',
    example: {
      error: {
        name: 'CommandRefusedError',
        message: 'cannot pause a pipe in state Provisioning; allowed now: delete',
        currentState: 'Provisioning',
        allowedCommands: ['delete'],
      },
    },
  },
  413: { description: 'The body is larger than 1 MiB.' },
  415: { description: 'The body is not declared as application/json.' },
  500: {
    description: 'Unexpected failure; details are logged, not returned.',
    example: {
      error: { name: 'InternalError', message: 'internal error: the request could not be completed' },
    },
  },
  503: {
    description: 'A dependency is briefly unavailable or throttled; retry after Retry-After seconds.',
    headers: z.object({ 'Retry-After': z.string().openapi({ description: 'Seconds to wait.' }) }),
  },
} satisfies Record<number, ErrorResponseDoc>;

export type ErrorStatus = keyof typeof ERROR_RESPONSES;

/** Every route may fail unexpectedly (500) or meet a briefly unavailable dependency (503). */
const ANY_ROUTE: readonly ErrorStatus[] = [500, 503];

/** The documented error answers of an operation: the statuses it names, plus 500 and 503. */
export function errorResponses(...statuses: ErrorStatus[]) {
  return Object.fromEntries(
    [...statuses, ...ANY_ROUTE].map((status) => {
      const { example, ...doc }: ErrorResponseDoc = ERROR_RESPONSES[status];
      const content = { 'application/json': { schema: errorBodySchema, ...(example ? { example } : {}) } };
      return [status, { ...doc, content }];
    }),
  );
}

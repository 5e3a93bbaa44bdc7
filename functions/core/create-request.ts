import { z } from 'zod';
import { InvalidSettingsError } from './errors.js';
import { friendlyIssueMessage, toFieldErrors } from './field-errors.js';
import { clickHouseDatabaseName, pipeSettingsSchema } from './settings.js';

const PIPE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/;

const secretArn = z.string().regex(SECRET_ARN, {
  error: 'must be a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>)',
});

const MONGO_URI = /^mongodb(\+srv)?:\/\/[^/?#]+/;

/** The document shows the rule as a pattern; the refine (and its message) is what parses. */
const mongoUri = z
  .string()
  .max(4096, { error: 'connection string must be at most 4096 characters long' })
  .refine((uri) => MONGO_URI.test(uri), {
    error:
      'must be a MongoDB connection string starting with mongodb:// or mongodb+srv:// followed by a host',
  })
  .meta({ pattern: MONGO_URI.source });

const httpUrl = z.string().refine(
  (url) => {
    try {
      const parsed = new URL(url);
      return (parsed.protocol === 'http:' || parsed.protocol === 'https:') && parsed.hostname !== '';
    } catch {
      return false;
    }
  },
  { error: 'must be an http:// or https:// URL of the ClickHouse HTTP interface' },
);

const sourceSchema = z
  .union(
    [
      z.strictObject({
        uri: mongoUri.describe(
          'MongoDB connection string: mongodb:// or mongodb+srv:// followed by a host, at most 4096 ' +
            'characters. Local runtime only (in the cloud, secretArn); views show it with credentials masked.',
        ),
      }),
      z.strictObject({
        secretArn: secretArn.describe(
          'Secrets Manager secret holding the MongoDB connection string (required in the cloud).',
        ),
      }),
    ],
    { error: 'give either uri (a MongoDB connection string) or secretArn (where that string is stored)' },
  )
  .meta({
    id: 'Source',
    description: 'The MongoDB deployment to replicate from: its connection string, or the secret holding it.',
  });

const destinationDatabase = clickHouseDatabaseName.describe(
  'ClickHouse database the pipe writes to (a table mapping may name another with targetDatabase): ' +
    'letters, digits and underscores, not starting with a digit; not system or information_schema.',
);

/**
 * With a secret, the ClickHouse endpoint comes from the secret alone: a URL in the request could
 * send the secret's credentials to a host of the caller's choosing (docs/security.md).
 */
const destinationSchema = z
  .union(
    [
      z.strictObject({
        url: httpUrl.describe('The ClickHouse HTTP interface: an http:// or https:// URL with a host.'),
        database: destinationDatabase,
        username: z
          .string()
          .min(1, { error: 'username must not be empty' })
          .max(128)
          .describe('ClickHouse user.'),
        password: z
          .string()
          .max(1024)
          .describe(
            "The user's password, which may be empty. Local runtime only (in the cloud, secretArn); never shown " +
              'in views.',
          ),
      }),
      z
        .strictObject({
          database: destinationDatabase,
          secretArn: secretArn.describe(
            'Secrets Manager secret holding the ClickHouse "url", "username" and "password".',
          ),
          url: z
            .string()
            .optional()
            .describe('Refused: with secretArn the ClickHouse URL comes from the secret alone.'),
        })
        .refine((destination) => destination.url === undefined, {
          path: ['url'],
          error:
            'the ClickHouse URL comes from the secret (store it there as "url"): a URL beside secretArn is refused',
        })
        .transform(({ database, secretArn }) => ({ database, secretArn }))
        .describe('The secret holds the endpoint and its credentials: the URL comes from the secret alone.'),
    ],
    { error: 'give url, database, username and password, or database and secretArn' },
  )
  .meta({
    id: 'Destination',
    description:
      'The ClickHouse to write to: its URL, user and password, or a database and the secret holding the rest. ' +
      'Optional when the deployment has a default destination (the embedded ClickHouse locally, ' +
      'DEFAULT_DESTINATION in the cloud).',
  });

export const createPipeRequestSchema = z.strictObject({
  name: z
    .string()
    .min(1, { error: 'name must not be empty', abort: true })
    .max(64, { error: 'name must be at most 64 characters long' })
    .regex(PIPE_NAME, {
      error: 'name must start with a letter or digit and contain only letters, digits, ".", "_" and "-"',
    })
    .describe(
      'Unique per deployment: starts with a letter or digit, then letters, digits, ".", "_" or "-". ' +
        'Without an Idempotency-Key, a repeated create with the same name and request returns the same pipe.',
    ),
  source: sourceSchema,
  destination: destinationSchema.optional(),
  settings: pipeSettingsSchema,
});

export type CreatePipeRequest = z.output<typeof createPipeRequestSchema>;
export type CreatePipeRequestInput = z.input<typeof createPipeRequestSchema>;

/**
 * Unions report one issue per branch; the user gets the branch that got furthest, so a typo in
 * `secretArn` is reported on that field and not as "matches no shape".
 */
function flattenUnionIssues(issues: readonly z.core.$ZodIssue[]): z.core.$ZodIssue[] {
  return issues.flatMap((issue) => {
    if (issue.code !== 'invalid_union' || issue.errors.length === 0) return [issue];
    const best = [...issue.errors].sort((a, b) => a.length - b.length || depth(b) - depth(a))[0] ?? [];
    const onlyMissingFields = best.every(
      (inner) => inner.code === 'invalid_type' && inner.input === undefined,
    );
    if (onlyMissingFields) return [issue];
    return flattenUnionIssues(best.map((inner) => ({ ...inner, path: [...issue.path, ...inner.path] })));
  });
}

function depth(issues: readonly z.core.$ZodIssue[]): number {
  return Math.max(0, ...issues.map((issue) => issue.path.length));
}

export function parseCreatePipeRequest(input: unknown): CreatePipeRequest {
  const result = createPipeRequestSchema.safeParse(input, { error: friendlyIssueMessage });
  if (!result.success) throw new InvalidSettingsError(toFieldErrors(flattenUnionIssues(result.error.issues)));
  return result.data;
}

/**
 * The body of `POST /preflight`: the parts of a create request the checks read (where to read,
 * where to write, which collections to which tables), by the very schemas a create uses.
 */
export const preflightRequestSchema = z.strictObject({
  source: createPipeRequestSchema.shape.source,
  destination: createPipeRequestSchema.shape.destination,
  tableMappings: pipeSettingsSchema.shape.tableMappings,
});

export type PreflightRequest = z.output<typeof preflightRequestSchema>;

export function parsePreflightRequest(input: unknown): PreflightRequest {
  const result = preflightRequestSchema.safeParse(input, { error: friendlyIssueMessage });
  if (!result.success) throw new InvalidSettingsError(toFieldErrors(flattenUnionIssues(result.error.issues)));
  return result.data;
}

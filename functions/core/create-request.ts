import { z } from 'zod';
import { InvalidSettingsError } from './errors.js';
import { friendlyIssueMessage, toFieldErrors } from './field-errors.js';
import { clickHouseDatabaseName, pipeSettingsSchema } from './settings.js';

const PIPE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/;

const secretArn = z.string().regex(SECRET_ARN, {
  error: 'must be a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>)',
});

const mongoUri = z
  .string()
  .max(4096, { error: 'connection string must be at most 4096 characters long' })
  .refine((uri) => /^mongodb(\+srv)?:\/\/[^/?#]+/.test(uri), {
    error:
      'must be a MongoDB connection string starting with mongodb:// or mongodb+srv:// followed by a host',
  });

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

const sourceSchema = z.union([z.strictObject({ uri: mongoUri }), z.strictObject({ secretArn })], {
  error: 'give either uri (a MongoDB connection string) or secretArn (where that string is stored)',
});

/**
 * With a secret, the ClickHouse endpoint comes from the secret alone: a URL in the request could
 * send the secret's credentials to a host of the caller's choosing (docs/security.md).
 */
const destinationSchema = z.union(
  [
    z.strictObject({
      url: httpUrl,
      database: clickHouseDatabaseName,
      username: z.string().min(1, { error: 'username must not be empty' }).max(128),
      password: z.string().max(1024),
    }),
    z
      .strictObject({ database: clickHouseDatabaseName, secretArn, url: z.string().optional() })
      .refine((destination) => destination.url === undefined, {
        path: ['url'],
        error:
          'the ClickHouse URL comes from the secret (store it there as "url"): a URL beside secretArn is refused',
      })
      .transform(({ database, secretArn }) => ({ database, secretArn })),
  ],
  { error: 'give url, database, username and password, or database and secretArn' },
);

export const createPipeRequestSchema = z.strictObject({
  name: z
    .string()
    .min(1, { error: 'name must not be empty', abort: true })
    .max(64, { error: 'name must be at most 64 characters long' })
    .regex(PIPE_NAME, {
      error: 'name must start with a letter or digit and contain only letters, digits, ".", "_" and "-"',
    }),
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

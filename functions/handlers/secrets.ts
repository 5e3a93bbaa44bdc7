import { createHash } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { z } from 'zod';
import { classifyAwsError } from '../core/classify.js';
import { parseDestinationRecord } from '../core/destination-record.js';
import { FatalError } from '../core/errors.js';
import { type AllowedHosts, ANY_HOST, hostAllowed, mongoHostsOf, urlHostOf } from '../core/hosts.js';
import { traced } from './observability.js';

/** Reads a Secrets Manager secret's string. Injectable so tests never reach AWS. */
export type SecretReader = (secretArn: string) => Promise<string>;

export interface ClickHouseCredentials {
  url: string;
  username?: string;
  password?: string;
}

export interface ResolvedDestination extends ClickHouseCredentials {
  /** The pipe's default ClickHouse database, when the record names one. */
  database?: string;
}

/** A secret names which pipe setting it is missing from, never its value. */
export class MissingConnectionError extends FatalError {}

/** A secret whose content is not what the pipe needs: the message names the field, never a value. */
export class MalformedSecretError extends FatalError {}

/** The pipe would reach a host the deployment does not allow (docs/security.md): nothing is sent to it. */
export class HostNotAllowedError extends FatalError {}

/**
 * Secrets are read through Powertools' provider, cached for this long per container: a CDC run
 * every minute does not call Secrets Manager every minute, and a rotated secret is picked up
 * within the cache's age.
 */
export const SECRET_MAX_AGE_SECONDS = 300;

/**
 * A SecretReader on Secrets Manager through Powertools' provider and its cache (one per
 * container). Without a client it builds one, traced (X-Ray) like every AWS client of the handlers.
 */
export function cachedSecretReader(
  client?: SecretsManagerClient,
  maxAgeSeconds = SECRET_MAX_AGE_SECONDS,
): SecretReader {
  let provider: SecretsProvider | undefined;
  return async (secretArn) => {
    provider ??= new SecretsProvider({ awsSdkV3Client: client ?? traced(new SecretsManagerClient({})) });
    let value: unknown;
    try {
      value = await provider.get(secretArn, { maxAge: maxAgeSeconds });
    } catch (error) {
      // The provider wraps the SDK's error; its name (throttling, access denied…) is what classifies it.
      const sdkError =
        error instanceof Error && error.name === 'GetParameterError' && error.cause instanceof Error
          ? error.cause
          : error;
      throw classifyAwsError(sdkError, 'secretsmanager', {
        operation: 'GetSecretValue',
        resource: secretArn,
      });
    }
    if (typeof value !== 'string') throw new MalformedSecretError(`secret ${secretArn} has no string value`);
    return value;
  };
}

export const secretsManagerReader: SecretReader = cachedSecretReader();

const sourceRecord = z.union([
  z.object({ uri: z.string().min(1) }),
  z.object({ secretArn: z.string().min(1) }),
  z.object({}),
]);

/**
 * A source secret holds the URI itself or `{"uri": "mongodb://…"}`, with `caBundle` (PEM) when
 * the server's certificate chains to a CA the runtime does not trust, as Amazon DocumentDB's
 * (its global-bundle.pem) does.
 */
const sourceSecret = z.union([
  z.string().regex(/^mongodb(\+srv)?:\/\//),
  z.object({
    uri: z.string().regex(/^mongodb(\+srv)?:\/\//),
    caBundle: z.string().includes('-----BEGIN CERTIFICATE-----').optional(),
  }),
]);

/**
 * The driver reads a CA bundle from a file (`tlsCAFile`), so the secret's bundle is written to
 * the function's temporary directory under its digest (the same bundle, the same file and the
 * same cached client) and named in the URI, with `tls=true`.
 */
function withCaBundle(uri: string, caBundle: string, secretArn: string): string {
  if (/[?&]tlsCAFile=/i.test(uri))
    throw new MalformedSecretError(
      `secret ${secretArn} gives a CA bundle both as caBundle and as tlsCAFile in its uri: keep one`,
    );
  const digest = createHash('sha256').update(caBundle).digest('hex').slice(0, 32);
  const path = join(tmpdir(), `mongodb-ca-${digest}.pem`);
  if (!existsSync(path)) writeFileSync(path, caBundle, { mode: 0o600 });
  const options = `tls=true&tlsCAFile=${encodeURIComponent(path)}`;
  if (uri.includes('?')) return `${uri}&${options}`;
  // mongodb://hosts[/db]: the options follow the path, which must then be there.
  const hasPath = uri.slice(uri.indexOf('//') + 2).includes('/');
  return `${uri}${hasPath ? '' : '/'}?${options}`;
}
/** A destination secret holds the endpoint and the credentials: `{"url", "username", "password"}`. */
const destinationSecret = z.object({
  url: z.string().regex(/^https?:\/\/[^/]/),
  username: z.string().min(1),
  password: z.string(),
});

interface Defaults {
  mongoUri?: string;
  clickhouse?: ClickHouseCredentials;
  secrets?: SecretReader;
  /** Hosts the pipes may reach; absent: any (the local runtime). */
  allowedHosts?: AllowedHosts;
}

function parseSecretJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Which fields of a secret were missing or wrong, by name only: values never appear. */
function wrongFields(error: z.ZodError): string {
  // A union (the URI itself, or an object holding it) reports its branches' issues inside its own.
  const issues = error.issues.flatMap((issue) =>
    issue.code === 'invalid_union'
      ? issue.errors.flat().map((inner) => ({ ...inner, path: [...issue.path, ...inner.path] }))
      : [issue],
  );
  const fields = new Set(issues.flatMap((issue) => (issue.path.length > 0 ? [issue.path.join('.')] : [])));
  return fields.size > 0
    ? `field ${[...fields].join(', ')} is missing or malformed`
    : 'its value has the wrong shape';
}

export async function resolveSourceUri(source: unknown, defaults: Defaults): Promise<string> {
  const parsed = sourceRecord.safeParse(source ?? {});
  const record = parsed.success ? parsed.data : {};
  let uri: string | undefined;
  if ('uri' in record) uri = record.uri;
  else if ('secretArn' in record) {
    const reader = defaults.secrets ?? secretsManagerReader;
    const secret = sourceSecret.safeParse(parseSecretJson(await reader(record.secretArn)));
    if (!secret.success)
      throw new MalformedSecretError(
        `secret ${record.secretArn} must hold a MongoDB connection string, or {"uri": "mongodb://…"}: ${wrongFields(secret.error)}`,
      );
    if (typeof secret.data === 'string') uri = secret.data;
    else
      uri = secret.data.caBundle
        ? withCaBundle(secret.data.uri, secret.data.caBundle, record.secretArn)
        : secret.data.uri;
  } else uri = defaults.mongoUri;
  if (!uri)
    throw new MissingConnectionError(
      'the pipe names no source (uri or secretArn) and no default is configured',
    );
  const allowed = defaults.allowedHosts ?? ANY_HOST;
  const refused = mongoHostsOf(uri).filter((host) => !hostAllowed(host, allowed.source));
  if (refused.length > 0)
    throw new HostNotAllowedError(
      `source host ${refused.join(', ')} is not among this deployment's allowed source hosts`,
    );
  return uri;
}

/**
 * The pipe's ClickHouse endpoint and credentials. With a secret, the URL comes from the secret
 * alone: a different URL in the pipe record would send the secret's credentials elsewhere.
 */
export async function resolveDestination(
  destination: unknown,
  defaults: Defaults,
): Promise<ResolvedDestination> {
  const record = parseDestinationRecord(destination);
  let credentials: ClickHouseCredentials | undefined = record.url
    ? { url: record.url, username: record.username ?? undefined, password: record.password ?? undefined }
    : defaults.clickhouse;
  if (record.secretArn) {
    const reader = defaults.secrets ?? secretsManagerReader;
    const secret = destinationSecret.safeParse(parseSecretJson(await reader(record.secretArn)));
    if (!secret.success)
      throw new MalformedSecretError(
        `secret ${record.secretArn} must hold {"url", "username", "password"} of the ClickHouse endpoint: ${wrongFields(secret.error)}`,
      );
    if (record.url && record.url !== secret.data.url)
      throw new HostNotAllowedError(
        `the pipe names a ClickHouse URL other than its secret's: the endpoint of ${record.secretArn} comes from the secret only`,
      );
    credentials = secret.data;
  }
  if (!credentials)
    throw new MissingConnectionError('the pipe names no destination url and no default is configured');
  const host = urlHostOf(credentials.url);
  if (host === null || !hostAllowed(host, (defaults.allowedHosts ?? ANY_HOST).destination))
    throw new HostNotAllowedError(
      `destination host ${host ?? credentials.url} is not among this deployment's allowed destination hosts`,
    );
  return { ...credentials, ...(record.database ? { database: record.database } : {}) };
}

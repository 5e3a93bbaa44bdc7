import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { z } from 'zod';
import { FatalError } from '../core/errors.js';

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

let sharedClient: SecretsManagerClient | undefined;

export const secretsManagerReader: SecretReader = async (secretArn) => {
  sharedClient ??= new SecretsManagerClient({});
  const result = await sharedClient.send(new GetSecretValueCommand({ SecretId: secretArn }));
  if (typeof result.SecretString !== 'string')
    throw new MissingConnectionError(`secret ${secretArn} has no string value`);
  return result.SecretString;
};

const sourceRecord = z.union([
  z.object({ uri: z.string().min(1) }),
  z.object({ secretArn: z.string().min(1) }),
  z.object({}),
]);

const destinationRecord = z.object({
  url: z.string().min(1).optional(),
  database: z.string().min(1).optional(),
  username: z.string().optional(),
  password: z.string().optional(),
  secretArn: z.string().min(1).optional(),
});

/** A source secret holds the URI itself or `{"uri": "..."}`. */
const sourceSecret = z.union([z.object({ uri: z.string().min(1) }), z.string().min(1)]);
/** A destination secret holds `{"username": "...", "password": "..."}` (and optionally `url`). */
const destinationSecret = z.object({
  username: z.string().optional(),
  password: z.string().optional(),
  url: z.string().optional(),
});

interface Defaults {
  mongoUri?: string;
  clickhouse?: ClickHouseCredentials;
  secrets?: SecretReader;
}

function parseSecretJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export async function resolveSourceUri(source: unknown, defaults: Defaults): Promise<string> {
  const parsed = sourceRecord.safeParse(source ?? {});
  const record = parsed.success ? parsed.data : {};
  if ('uri' in record) return record.uri;
  if ('secretArn' in record) {
    const reader = defaults.secrets ?? secretsManagerReader;
    const secret = sourceSecret.safeParse(parseSecretJson(await reader(record.secretArn)));
    if (!secret.success)
      throw new MissingConnectionError(`secret ${record.secretArn} holds no MongoDB connection string`);
    return typeof secret.data === 'string' ? secret.data : secret.data.uri;
  }
  if (defaults.mongoUri) return defaults.mongoUri;
  throw new MissingConnectionError(
    'the pipe names no source (uri or secretArn) and no default is configured',
  );
}

export async function resolveDestination(
  destination: unknown,
  defaults: Defaults,
): Promise<ResolvedDestination> {
  const parsed = destinationRecord.safeParse(destination ?? {});
  const record = parsed.success ? parsed.data : {};
  let credentials: ClickHouseCredentials | undefined = record.url
    ? { url: record.url, username: record.username, password: record.password }
    : defaults.clickhouse;
  if (record.secretArn) {
    const reader = defaults.secrets ?? secretsManagerReader;
    const secret = destinationSecret.safeParse(parseSecretJson(await reader(record.secretArn)));
    if (!secret.success)
      throw new MissingConnectionError(
        `secret ${record.secretArn} holds no ClickHouse username and password`,
      );
    const url = record.url ?? secret.data.url ?? credentials?.url;
    if (!url) throw new MissingConnectionError('the pipe names no ClickHouse url');
    credentials = { url, username: secret.data.username, password: secret.data.password };
  }
  if (!credentials)
    throw new MissingConnectionError('the pipe names no destination url and no default is configured');
  return { ...credentials, ...(record.database ? { database: record.database } : {}) };
}

import { z } from 'zod';

/**
 * A pipe's stored destination record: what the create request named (url, database, username and
 * password; or database and secretArn) or the deployment's default destination. The pipe store
 * keeps it opaque (`PipeRecord.destination: unknown`); this is the one reading of it.
 */
const destinationRecordSchema = z.object({
  url: z.string().min(1).optional(),
  database: z.string().min(1).optional(),
  username: z.string().optional(),
  password: z.string().optional(),
  secretArn: z.string().min(1).optional(),
});

export interface DestinationRecord {
  /** The ClickHouse HTTP endpoint; null with a secret (the endpoint comes from the secret) or a default. */
  url: string | null;
  /** The database of mappings that name no targetDatabase; null when the record names none. */
  database: string | null;
  username: string | null;
  password: string | null;
  /** The Secrets Manager secret holding `{url, username, password}`. */
  secretArn: string | null;
}

/**
 * Reads a stored destination record. One that does not have this shape (never written by a
 * create, which validates it) reads as naming nothing: the runtime's defaults apply.
 */
export function parseDestinationRecord(value: unknown): DestinationRecord {
  const parsed = destinationRecordSchema.safeParse(value ?? {});
  const record = parsed.success ? parsed.data : {};
  return {
    url: record.url ?? null,
    database: record.database ?? null,
    username: record.username ?? null,
    password: record.password ?? null,
    secretArn: record.secretArn ?? null,
  };
}

/**
 * How request documents are decoded. Doubles stay `Double` and int64 stays `Long`, so a value
 * written as 1.0 is not read back as int32 1 (the `bson` package would otherwise turn both into
 * the JS number 1 and re-encode it as int32). Int32 values become JS numbers, which is what
 * command parameters (`limit`, `batchSize`, sort directions) and query engines expect.
 */
import { BSON, type Document } from 'bson';

const RAW_NUMBERS = { promoteValues: false } as const;

function promoteInt32(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  const tag = (value as { _bsontype?: string })._bsontype;
  if (tag === 'Int32') return (value as { value: number }).value;
  if (tag !== undefined) return value;
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index += 1) value[index] = promoteInt32(value[index]);
    return value;
  }
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) record[key] = promoteInt32(record[key]);
  return record;
}

export function decodeDocument(bytes: Uint8Array): Document {
  return promoteInt32(BSON.deserialize(bytes, RAW_NUMBERS)) as Document;
}

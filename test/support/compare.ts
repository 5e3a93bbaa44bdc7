import { createHash } from 'node:crypto';
import type { Document, MongoClient } from 'mongodb';
import type { ClickHouseDestination } from '../../functions/adapters/clickhouse/destination.js';
import { DESERIALIZE_OPTIONS } from '../../functions/adapters/mongodb/snapshot-source.js';
import { documentToJson } from '../../functions/core/bson-json.js';
import { renderDocumentId } from '../../functions/core/document-id.js';

/** JSON text parsed and written back with keys sorted at every level: key order is not content. */
export function canonicalJson(text: string): string {
  const sortKeys = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(sortKeys);
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(
        Object.keys(value)
          .sort()
          .map((key) => [key, sortKeys((value as Record<string, unknown>)[key])]),
      );
    }
    return value;
  };
  return JSON.stringify(sortKeys(JSON.parse(text)));
}

export function hashOf(text: string): string {
  return createHash('sha256').update(canonicalJson(text)).digest('hex');
}

export interface Comparison {
  table: string;
  mongoCount: number;
  /** Live rows of ClickHouse FINAL, duplicates included. */
  clickhouseCount: number;
  missing: string[];
  /** Live in ClickHouse, absent from MongoDB (a delete not applied). */
  extra: string[];
  different: string[];
  /** `_id`s live more than once in FINAL. */
  duplicated: string[];
}

/** What an equal comparison of `table` with `count` documents looks like. */
export function equalComparison(table: string, count: number): Comparison {
  return {
    table,
    mongoCount: count,
    clickhouseCount: count,
    missing: [],
    extra: [],
    different: [],
    duplicated: [],
  };
}

/**
 * A MongoDB collection against the live rows of ClickHouse FINAL (`_peerdb_is_deleted = 0`),
 * by rendered `_id` and the SHA-256 of each document's canonical JSON.
 */
export async function compareCollection(
  mongo: MongoClient,
  destination: ClickHouseDestination,
  source: { db: string; coll: string },
  target: { database: string; table: string },
): Promise<Comparison> {
  const expected = new Map<string, string>();
  for await (const document of mongo.db(source.db).collection(source.coll).find({}, DESERIALIZE_OPTIONS)) {
    expected.set(renderDocumentId((document as Document)._id), hashOf(documentToJson(document as Document)));
  }
  const rows = await destination.readLiveRows(target);
  const seen = new Map<string, number>();
  const actual = new Map<string, string>();
  for (const row of rows) {
    seen.set(row._id, (seen.get(row._id) ?? 0) + 1);
    actual.set(row._id, hashOf(row.doc));
  }
  return {
    table: target.table,
    mongoCount: expected.size,
    clickhouseCount: rows.length,
    missing: [...expected.keys()].filter((id) => !actual.has(id)),
    extra: [...actual.keys()].filter((id) => !expected.has(id)),
    different: [...expected]
      .filter(([id, hash]) => actual.has(id) && actual.get(id) !== hash)
      .map(([id]) => id),
    duplicated: [...seen].filter(([, count]) => count > 1).map(([id]) => id),
  };
}

/**
 * Key layout of the single table (see docs/pipe-store.md). User-supplied parts (names, table
 * keys, lease names) are URI-encoded so a '#' inside them can never be mistaken for a separator
 * and a prefix query for one table cannot match another.
 */
import { qualifiedTableName } from '../../core/table-key.js';

export interface ItemKey {
  PK: string;
  SK: string;
}

const encode = (part: string): string => encodeURIComponent(part);

/** Zero-padded so lexical order is numeric order. */
export const padNumber = (value: number, width: number): string => String(value).padStart(width, '0');

export const pipePartition = (pipeId: string): string => `PIPE#${pipeId}`;

export const pipeKey = (pipeId: string): ItemKey => ({ PK: pipePartition(pipeId), SK: 'PIPE' });

export const HISTORY_PREFIX = 'HISTORY#';
export const historyKey = (pipeId: string, version: number): ItemKey => ({
  PK: pipePartition(pipeId),
  SK: `${HISTORY_PREFIX}${padNumber(version, 10)}`,
});

export const TABLE_PREFIX = 'TABLE#';
export const tableMappingKey = (pipeId: string, tableKey: string): ItemKey => ({
  PK: pipePartition(pipeId),
  SK: `${TABLE_PREFIX}${encode(tableKey)}`,
});

export const planKey = (pipeId: string, tableKey: string): ItemKey => ({
  PK: pipePartition(pipeId),
  SK: `PLAN#${encode(tableKey)}`,
});

export const partitionPrefix = (tableKey: string): string => `PART#${encode(tableKey)}#`;
export const partitionKey = (pipeId: string, tableKey: string, index: number): ItemKey => ({
  PK: pipePartition(pipeId),
  SK: `${partitionPrefix(tableKey)}${padNumber(index, 6)}`,
});

export const resumeKey = (pipeId: string): ItemKey => ({ PK: pipePartition(pipeId), SK: 'RESUME' });
export const startPointKey = (pipeId: string): ItemKey => ({ PK: pipePartition(pipeId), SK: 'START' });
export const cdcRunKey = (pipeId: string): ItemKey => ({ PK: pipePartition(pipeId), SK: 'CDCRUN' });
/** The recent CDC history: a ring of slots, one per minute, so it never grows past its length. */
export const CDC_SAMPLE_PREFIX = 'CDCSAMPLE#';
export const cdcSampleKey = (pipeId: string, slot: number): ItemKey => ({
  PK: pipePartition(pipeId),
  SK: `${CDC_SAMPLE_PREFIX}${padNumber(slot, 4)}`,
});
export const leaseKey = (pipeId: string, name: string): ItemKey => ({
  PK: pipePartition(pipeId),
  SK: `LEASE#${encode(name)}`,
});

export const nameClaimKey = (name: string): ItemKey => ({ PK: `CLAIM#NAME#${encode(name)}`, SK: 'CLAIM' });
export const idempotencyClaimKey = (key: string): ItemKey => ({
  PK: `CLAIM#KEY#${encode(key)}`,
  SK: 'CLAIM',
});

/**
 * The one claim on a destination table, outside every pipe's partition so pipes can race for it.
 * Keyed by `<database>.<table>`: unambiguous, the settings refuse a dot in either name.
 */
export const tableClaimKey = (database: string, table: string): ItemKey => ({
  PK: `CLAIM#TABLE#${encode(qualifiedTableName({ database, table }))}`,
  SK: 'CLAIM',
});

/** The pipe's own note of a claim it holds, so its delete finds and releases every claim. */
export const OWNED_TABLE_PREFIX = 'OWNS#';
export const ownedTableKey = (pipeId: string, database: string, table: string): ItemKey => ({
  PK: pipePartition(pipeId),
  SK: `${OWNED_TABLE_PREFIX}${encode(qualifiedTableName({ database, table }))}`,
});

export const ALL_PIPES_PARTITION = 'PIPES';
export const statePartition = (state: string): string => `STATE#${state}`;
/** Sort key of both pipe indexes: creation time, then id to break ties. */
export const creationSortKey = (createdAt: number, pipeId: string): string =>
  `${padNumber(createdAt, 15)}#${pipeId}`;

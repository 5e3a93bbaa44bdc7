import { z } from 'zod';
import { PIPE_EVENTS, PIPE_STATES } from '../../core/lifecycle.js';
import { CorruptStoreItemError } from '../../core/store-errors.js';
import {
  type HistoryEntry,
  type LeaseRecord,
  type PartitionRecord,
  type PipeRecord,
  type ResumePointRecord,
  type StartPointRecord,
  TABLE_STATES,
  TABLE_STOP_REASONS,
  type TableMappingRecord,
} from '../../ports/pipe-store.js';
import type { Item } from './context.js';

/**
 * Items read back are parsed, not cast: a malformed item (hand edit, older layout) surfaces as a
 * named error at the read instead of as undefined deep inside a handler.
 */

const count = z.number().int().nonnegative();
const state = z.enum(PIPE_STATES);
const clusterTime = z.object({ seconds: count, increment: count });

export const historyEntrySchema = z.object({
  version: z.number().int().positive(),
  from: state.nullable(),
  to: state,
  event: z.enum(PIPE_EVENTS),
  reason: z.string(),
  actor: z.string(),
  at: count,
  requestId: z.string().optional(),
});

const pipeItem = z.object({
  id: z.string(),
  name: z.string(),
  state,
  settingsJson: z.string(),
  sourceJson: z.string(),
  destinationJson: z.string(),
  createdAt: count,
  updatedAt: count,
  lastError: z.object({ name: z.string(), message: z.string(), at: count }).nullable().optional(),
  version: z.number().int().positive(),
  idempotencyKey: z.string().nullable().optional(),
  requestHash: z.string(),
  lastChange: historyEntrySchema,
});

const tableItem = z.object({
  pipeId: z.string(),
  tableKey: z.string(),
  sourceDatabaseName: z.string(),
  sourceCollection: z.string(),
  targetTable: z.string(),
  state: z.enum(TABLE_STATES),
  stopReason: z.enum(TABLE_STOP_REASONS).nullable().optional(),
  stopMessage: z.string().nullable().optional(),
  documentsCopied: count,
  documentsEstimated: count,
  partitionsDone: count,
  partitionsTotal: count,
  snapshotMismatchesJson: z.string().optional(),
  updatedAt: count,
});

/** CDC's mismatch count of a column is an attribute of its own, so a batch can ADD to it. */
export const CDC_MISMATCH_PREFIX = 'cdcMismatch.';

const partitionItem = z.object({
  pipeId: z.string(),
  tableKey: z.string(),
  index: count,
  boundsJson: z.string(),
  checkpoint: z.string().nullable(),
  rowsCopied: count,
  seq: count,
  done: z.boolean(),
  typeMismatchesJson: z.string().optional(),
  pendingBatch: z
    .object({ seq: z.number().int().positive(), start: z.string().nullable(), end: z.string() })
    .optional(),
  /** Absent on partitions saved before plan ids. */
  planId: z.string().optional(),
  updatedAt: count,
});

const resumeItem = z.object({
  token: z.string().nullable(),
  clusterTime,
  fence: count,
  committedAt: count,
  lagMs: count.optional(),
});

const startItem = z.object({
  token: z.string().nullable(),
  clusterTime: clusterTime.nullable(),
  recordedAt: count,
});

const leaseItem = z.object({ name: z.string(), holder: z.string(), fence: count, expiresAt: count });

const claimItem = z.object({
  pipeId: z.string(),
  requestHash: z.string(),
  deleting: z.boolean().optional(),
});

function parse<T>(schema: z.ZodType<T>, item: Item): T {
  const result = schema.safeParse(item);
  if (!result.success) {
    throw new CorruptStoreItemError(`${String(item.PK)}/${String(item.SK)}`, z.prettifyError(result.error));
  }
  return result.data;
}

export type PipeItem = z.infer<typeof pipeItem>;
export type ClaimItem = z.infer<typeof claimItem>;

export const parsePipeItem = (item: Item): PipeItem => parse(pipeItem, item);
export const parseClaim = (item: Item): ClaimItem => parse(claimItem, item);
export const parseHistoryEntry = (item: Item): HistoryEntry => parse(historyEntrySchema, item);

export function pipeRecordOf(item: PipeItem): PipeRecord {
  return {
    id: item.id,
    name: item.name,
    state: item.state,
    settings: JSON.parse(item.settingsJson),
    source: JSON.parse(item.sourceJson),
    destination: JSON.parse(item.destinationJson),
    createdAt: item.createdAt,
    updatedAt: item.updatedAt,
    lastError: item.lastError ?? null,
    version: item.version,
    idempotencyKey: item.idempotencyKey ?? null,
  };
}

export const toPipeRecord = (item: Item): PipeRecord => pipeRecordOf(parsePipeItem(item));

export function toTableMapping(item: Item): TableMappingRecord {
  const parsed = parse(tableItem, item);
  return {
    pipeId: parsed.pipeId,
    tableKey: parsed.tableKey,
    sourceDatabaseName: parsed.sourceDatabaseName,
    sourceCollection: parsed.sourceCollection,
    targetTable: parsed.targetTable,
    state: parsed.state,
    stopReason: parsed.stopReason ?? null,
    stopMessage: parsed.stopMessage ?? null,
    progress: {
      documentsCopied: parsed.documentsCopied,
      documentsEstimated: parsed.documentsEstimated,
      partitionsDone: parsed.partitionsDone,
      partitionsTotal: parsed.partitionsTotal,
    },
    ...withMismatches(typeMismatchesOf(parsed.snapshotMismatchesJson, item)),
    updatedAt: parsed.updatedAt,
  };
}

const withMismatches = (counts: Record<string, number>): { typeMismatches?: Record<string, number> } =>
  Object.keys(counts).length === 0 ? {} : { typeMismatches: counts };

/** The snapshot's counts (summed from the partitions) plus CDC's, per column. */
function typeMismatchesOf(snapshotJson: string | undefined, item: Item): Record<string, number> {
  const counts: Record<string, number> = snapshotJson === undefined ? {} : JSON.parse(snapshotJson);
  for (const [name, value] of Object.entries(item)) {
    if (!name.startsWith(CDC_MISMATCH_PREFIX) || typeof value !== 'number') continue;
    const column = name.slice(CDC_MISMATCH_PREFIX.length);
    counts[column] = (counts[column] ?? 0) + value;
  }
  return counts;
}

export function toPartition(item: Item): PartitionRecord {
  const { boundsJson, typeMismatchesJson, pendingBatch, ...rest } = parse(partitionItem, item);
  const partition: PartitionRecord = { ...rest, bounds: JSON.parse(boundsJson) };
  if (typeMismatchesJson !== undefined) partition.typeMismatches = JSON.parse(typeMismatchesJson);
  if (pendingBatch !== undefined) partition.pending = pendingBatch;
  return partition;
}

/** The resume item exists before the first commit (a takeover fences it), so "no token yet" is null. */
export function toResumePoint(item: Item): ResumePointRecord | null {
  if (item.committedAt === undefined) return null;
  return parse(resumeItem, item);
}

export const toStartPoint = (item: Item): StartPointRecord => parse(startItem, item);
export const toLease = (item: Item): LeaseRecord => parse(leaseItem, item);

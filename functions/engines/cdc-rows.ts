import { encodeChangeLines, type TableChange } from '../core/change-lines.js';
import type { ChunkBuffers, EncodedLines } from '../core/snapshot-lines.js';
import { namespaceKey, qualifiedTableName } from '../core/table-key.js';
import { resyncTableName } from '../core/table-schema.js';
import { ShapeRun, shapeColumnNames, type TypeMismatchError, tableShapeFor } from '../core/table-shape.js';
import type { TableRef } from '../ports/destination.js';
import type { TableMappingRecord, TableState, TableStopReason } from '../ports/pipe-store.js';
import type { ClusterTime, SourceChangeEvent, StoppedTable } from '../ports/source.js';
import { type PipeContext, tableRefOf } from './table-context.js';

/** Tables whose live destination table takes change rows. */
export const CDC_TABLE_STATES: readonly TableState[] = ['Snapshot', 'Replicating', 'Resync'];

/**
 * Where a table's change rows go: its live table, and while it is in Resync first the
 * `<table>_resync` being loaded, then the live table, so the live table stays fresh until the
 * swap and the table swapped in misses nothing written during its load. `_resync` comes first
 * so that, whenever the swap's EXCHANGE falls between the two inserts, one of them lands in the
 * loaded table (docs/engines.md).
 */
export function cdcTargetsOf(state: TableState, live: TableRef): TableRef[] {
  if (!CDC_TABLE_STATES.includes(state)) return [];
  if (state !== 'Resync') return [live];
  return [{ database: live.database, table: resyncTableName(live.table) }, live];
}

export interface BatchCut {
  /** The events applied by this run. */
  kept: SourceChangeEvent[];
  /** Trailing events left for the next run (see holdBackTrailingTransaction). */
  heldBack: number;
}

/**
 * Leaves the events that share the batch's last cluster time for the next run, unless that is
 * every event. Events of one transaction share a cluster time and so a `_peerdb_version`; equal
 * versions are settled by insertion order, and a replay after a crash may cut the batch at a
 * different place. Applying a transaction only as a whole (its last event per `_id` always
 * inside the same insert) makes every insert of a given (`_id`, version) carry the same row,
 * whatever the order replays land in. A transaction larger than a whole batch is the one case
 * that still spans runs; see docs/engines.md.
 */
export function holdBackTrailingTransaction(events: readonly SourceChangeEvent[]): BatchCut {
  const last = events.at(-1);
  if (!last) return { kept: [], heldBack: 0 };
  let cut = events.length;
  while (cut > 0 && sameClusterTime((events[cut - 1] as SourceChangeEvent).clusterTime, last.clusterTime))
    cut -= 1;
  if (cut === 0) return { kept: [...events], heldBack: 0 };
  return { kept: events.slice(0, cut), heldBack: events.length - cut };
}

function sameClusterTime(a: ClusterTime, b: ClusterTime): boolean {
  return a.seconds === b.seconds && a.increment === b.increment;
}

export interface TableLines {
  /** The mapping the rows belong to (its source collection's key). */
  tableKey: string;
  /** The tables the body goes to: the live one, and first its `_resync` table during a resync. */
  refs: TableRef[];
  lines: EncodedLines;
  /** The typed columns the lines carry (EncodedInsertBatch.columns). */
  columns: string[];
  /** The shape's mismatches in these lines, per column (counted under `onTypeMismatch: 'null'`). */
  mismatches: Record<string, number>;
  /** A value that stops the table under `onTypeMismatch: 'fail'`: the body is not sent. */
  stopped: TypeMismatchError | null;
}

interface CdcTarget {
  tableKey: string;
  refs: TableRef[];
  shape: ShapeRun | undefined;
}

/**
 * The insert bodies of a batch (its rows collapsed per `_id`), one per target table (only tables
 * that take CDC rows), each with its table's shape; a table in Resync gets the same body for its
 * `_resync` table and its live one.
 */
export function linesByTable(
  events: readonly SourceChangeEvent[],
  mappings: readonly TableMappingRecord[],
  context: PipeContext,
  buffers?: ChunkBuffers,
): TableLines[] {
  const targets = new Map<string, { qualified: string; target: CdcTarget }>();
  for (const mapping of mappings) {
    const live = tableRefOf(context, mapping);
    const refs = cdcTargetsOf(mapping.state, live);
    if (refs.length === 0) continue;
    const shape = tableShapeFor(context.settings, mapping);
    const target = {
      tableKey: mapping.tableKey,
      refs,
      shape: shape === null ? undefined : new ShapeRun(shape),
    };
    targets.set(mapping.tableKey, { qualified: qualifiedTableName(live), target });
  }
  const changes: TableChange<CdcTarget>[] = [];
  for (const event of events) {
    const found = targets.get(namespaceKey(event.ns));
    if (found === undefined) continue;
    const { qualified, target } = found;
    changes.push({ table: target, tableKey: qualified, change: event, shape: target.shape });
  }
  const native = context.tableOptions.useJsonNativeFormat;
  return encodeChangeLines(changes, native, buffers).map(({ table, lines, mismatch }) => ({
    tableKey: table.tableKey,
    refs: table.refs,
    lines,
    columns: shapeColumnNames(table.shape?.shape ?? null),
    mismatches: table.shape?.mismatchCounts() ?? {},
    stopped: mismatch,
  }));
}

const STOP_REASONS: Record<string, TableStopReason> = {
  drop: 'dropped',
  rename: 'renamed',
  dropDatabase: 'databaseDropped',
  invalidate: 'invalidated',
};

export function stopReasonOf(stopped: StoppedTable): TableStopReason {
  return STOP_REASONS[stopped.operationType] ?? 'invalidated';
}

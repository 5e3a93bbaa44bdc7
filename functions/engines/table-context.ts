import { parseDestinationRecord } from '../core/destination-record.js';
import { FatalError } from '../core/errors.js';
import { type PipeSettings, parseSettings } from '../core/settings.js';
import { tableKeyOf } from '../core/table-key.js';
import type { TableOptions } from '../core/table-schema.js';
import type { TableRef } from '../ports/destination.js';
import type { PipeRecord, PipeStore, TableMappingRecord } from '../ports/pipe-store.js';
import type { SourceNamespace } from '../ports/source.js';

/** A pipe as the engines use it: its validated settings and where its tables live. */
export interface PipeContext {
  pipeId: string;
  settings: PipeSettings;
  tableOptions: TableOptions;
  /** The destination's database, used by mappings that name no targetDatabase. */
  defaultDatabase: string | null;
}

/** The step names a table the pipe does not map (a removed table, or a caller's mistake). */
export class TableNotMappedError extends FatalError {
  constructor(
    readonly pipeId: string,
    readonly tableKey: string,
  ) {
    super(`pipe ${pipeId} has no table mapping ${tableKey}`);
  }
}

/** Neither the mapping nor the pipe's destination says which ClickHouse database to write to. */
export class MissingTargetDatabaseError extends FatalError {
  constructor(
    readonly pipeId: string,
    readonly tableKey: string,
  ) {
    super(
      `pipe ${pipeId}: table ${tableKey} has no targetDatabase and the pipe's destination names no database`,
    );
  }
}

export async function loadPipeContext(
  store: Pick<PipeStore, 'getPipe'>,
  pipeId: string,
): Promise<PipeContext> {
  return contextOfPipe(await store.getPipe(pipeId));
}

export function contextOfPipe(pipe: PipeRecord): PipeContext {
  const pipeId = pipe.id;
  const settings = parseSettings(pipe.settings, ['settings']);
  return {
    pipeId,
    settings,
    tableOptions: {
      useJsonNativeFormat: settings.useJsonNativeFormat,
      deleteOnMerge: settings.deleteOnMerge,
    },
    defaultDatabase: parseDestinationRecord(pipe.destination).database,
  };
}

export function namespaceOf(mapping: TableMappingRecord): SourceNamespace {
  return { db: mapping.sourceDatabaseName, coll: mapping.sourceCollection };
}

/** Where a mapping's ClickHouse table lives: the settings' targetDatabase, else the destination's database. */
export function targetDatabaseOf(
  context: Pick<PipeContext, 'pipeId' | 'settings' | 'defaultDatabase'>,
  mapping: Readonly<{ sourceDatabaseName: string; sourceCollection: string }>,
): string {
  const configured = context.settings.tableMappings.find(
    (entry) =>
      entry.sourceDatabaseName === mapping.sourceDatabaseName &&
      entry.sourceCollection === mapping.sourceCollection,
  );
  const database = configured?.targetDatabase ?? context.defaultDatabase;
  if (!database) throw new MissingTargetDatabaseError(context.pipeId, tableKeyOf(mapping));
  return database;
}

/** The live destination table of a mapping. */
export function tableRefOf(context: PipeContext, mapping: TableMappingRecord): TableRef {
  return { database: targetDatabaseOf(context, mapping), table: mapping.targetTable };
}

export async function loadTable(
  store: Pick<PipeStore, 'getTableMapping'>,
  pipeId: string,
  tableKey: string,
): Promise<TableMappingRecord> {
  const mapping = await store.getTableMapping(pipeId, tableKey);
  if (!mapping) throw new TableNotMappedError(pipeId, tableKey);
  return mapping;
}

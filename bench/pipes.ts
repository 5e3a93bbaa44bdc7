/**
 * A pipe in the store for one collection, as the Setup task leaves it: the table mapped, the
 * destination table created and the CDC start point recorded (cf. test/e2e/harness.ts setUpPipe).
 */
import type { MongoClient } from 'mongodb';
import { MongoChangeSource } from '../functions/adapters/mongodb/change-source.js';
import type { PipeSettingsInput } from '../functions/core/settings.js';
import { tableOptionsFor } from '../functions/core/table-schema.js';
import type { TypedColumnSetting } from '../functions/core/table-shape-settings.js';
import type { TableState } from '../functions/ports/pipe-store.js';
import { silentLog } from '../test/support/log.js';
import { DESTINATION_DATABASE, type World } from './world.js';

export interface BenchPipe {
  pipeId: string;
  /** `<database>.<collection>` */
  tableKey: string;
  db: string;
  coll: string;
  target: string;
  changeSource: MongoChangeSource;
}

let sequence = 0;

export function changeSourceFor(mongo: MongoClient, db: string, coll: string): MongoChangeSource {
  return new MongoChangeSource(mongo, { namespaces: [{ db, coll }], log: silentLog });
}

export async function createBenchPipe(
  world: World,
  table: { db: string; coll: string; target: string; state?: TableState; columns?: TypedColumnSetting[] },
  settings: Partial<PipeSettingsInput> = {},
): Promise<BenchPipe> {
  sequence += 1;
  const mapping = {
    sourceDatabaseName: table.db,
    sourceCollection: table.coll,
    targetTable: table.target,
    ...(table.columns === undefined ? {} : { columns: table.columns }),
  };
  const { pipe } = await world.store.createPipe({
    id: `bench-${table.target}-${process.pid}-${sequence}`,
    name: `bench-${table.target}-${sequence}`,
    settings: { tableMappings: [mapping], ...settings },
    source: { kind: 'mongodb' },
    destination: { kind: 'clickhouse', database: DESTINATION_DATABASE },
    actor: 'bench',
  });
  await world.store.putTableMapping(
    pipe.id,
    { sourceDatabaseName: table.db, sourceCollection: table.coll, targetTable: table.target },
    table.state ?? 'Snapshot',
  );
  await world.destination.createTable(
    { database: DESTINATION_DATABASE, table: table.target },
    tableOptionsFor(
      { useJsonNativeFormat: settings.useJsonNativeFormat ?? true, deleteOnMerge: false },
      mapping,
    ),
  );
  const changeSource = changeSourceFor(world.mongo, table.db, table.coll);
  await world.store.recordStartPoint(pipe.id, await changeSource.captureStartPoint());
  return {
    pipeId: pipe.id,
    tableKey: `${table.db}.${table.coll}`,
    db: table.db,
    coll: table.coll,
    target: table.target,
    changeSource,
  };
}

import { DynamoPipeStore } from '../../functions/adapters/dynamodb/store.js';
import type { DestinationRow } from '../../functions/core/rows.js';
import type { PipeSettingsInput } from '../../functions/core/settings.js';
import type { Clock } from '../../functions/ports/clock.js';
import type {
  Destination,
  InsertBatch,
  InsertResult,
  SwapMethod,
  TableRef,
} from '../../functions/ports/destination.js';
import type { PipeStore, TableState } from '../../functions/ports/pipe-store.js';
import type { LocalDynamo } from '../support/dynalite.js';

/** A clock the test moves by hand (and that can move itself on every read). */
export class ManualClock implements Clock {
  constructor(
    public current = Date.UTC(2026, 10, 22, 2, 0, 0),
    public stepPerRead = 0,
  ) {}
  now = (): number => {
    const value = this.current;
    this.current += this.stepPerRead;
    return value;
  };
}

let sequence = 0;
export function uniqueId(prefix: string): string {
  sequence += 1;
  return `${prefix}-${sequence}-${process.pid}`;
}

export function newStore(dynamo: LocalDynamo, clock: Clock = { now: () => Date.now() }): DynamoPipeStore {
  return new DynamoPipeStore({ client: dynamo.newClient(), tableName: dynamo.tableName, now: clock.now });
}

export interface TableSpec {
  db: string;
  coll: string;
  target: string;
  state?: TableState;
}

/** Creates a pipe with the given tables mapped and returns its id. */
export async function createPipeWithTables(
  store: PipeStore,
  tables: readonly TableSpec[],
  settings: Partial<PipeSettingsInput> = {},
  destination: Record<string, unknown> = { kind: 'clickhouse', database: 'default' },
): Promise<string> {
  const { pipe } = await store.createPipe({
    id: uniqueId('pipe'),
    name: uniqueId('name'),
    settings: {
      tableMappings: tables.map((table) => ({
        sourceDatabaseName: table.db,
        sourceCollection: table.coll,
        targetTable: table.target,
      })),
      ...settings,
    },
    source: { kind: 'mongodb' },
    destination,
    actor: 'test',
  });
  for (const table of tables) {
    await store.putTableMapping(
      pipe.id,
      { sourceDatabaseName: table.db, sourceCollection: table.coll, targetTable: table.target },
      table.state ?? 'Snapshot',
    );
  }
  return pipe.id;
}

/**
 * An in-memory ReplacingMergeTree stand-in for the engine unit tests: keeps every insert, drops
 * a repeated deduplication token like ClickHouse does, and answers the FINAL view.
 */
export class MemoryDestination
  implements Pick<Destination, 'insertRows' | 'createResyncTable' | 'swapResyncTable'>
{
  readonly inserts: { table: string; rows: DestinationRow[]; token: string }[] = [];
  readonly attemptedTokens: string[] = [];
  readonly tables = new Map<string, DestinationRow[]>();
  private readonly tokens = new Set<string>();
  constructor(private readonly log: string[] = []) {}

  async insertRows(batch: InsertBatch): Promise<InsertResult> {
    const rows: DestinationRow[] = [];
    for await (const row of batch.rows) rows.push(row);
    this.log.push(`insert:${batch.table}:${rows.length}`);
    this.attemptedTokens.push(batch.deduplicationToken);
    const key = `${batch.database}.${batch.table}\u0000${batch.deduplicationToken}`;
    if (this.tokens.has(key)) return { rows: rows.length, bytes: 0 };
    this.tokens.add(key);
    this.inserts.push({ table: batch.table, rows, token: batch.deduplicationToken });
    this.tables.set(batch.table, [...(this.tables.get(batch.table) ?? []), ...rows]);
    return { rows: rows.length, bytes: 0 };
  }

  async createResyncTable(ref: TableRef): Promise<string> {
    this.log.push(`createResync:${ref.table}`);
    this.tables.set(`${ref.table}_resync`, []);
    return `${ref.table}_resync`;
  }

  async swapResyncTable(ref: TableRef): Promise<SwapMethod> {
    this.log.push(`swap:${ref.table}`);
    const loaded = this.tables.get(`${ref.table}_resync`);
    if (loaded === undefined) return 'already-swapped';
    this.tables.set(ref.table, loaded);
    this.tables.delete(`${ref.table}_resync`);
    return 'exchange';
  }

  /** Latest version per `_id` (ties: last inserted), live rows only. */
  final(table: string): Map<string, DestinationRow> {
    const latest = new Map<string, DestinationRow>();
    for (const row of this.tables.get(table) ?? []) {
      const previous = latest.get(row._id);
      if (!previous || row._peerdb_version >= previous._peerdb_version) latest.set(row._id, row);
    }
    for (const [id, row] of latest) if (row._peerdb_is_deleted === 1) latest.delete(id);
    return latest;
  }
}

/** Wraps a store so calls are logged and one named method can be made to throw once. */
export function instrumentStore<T extends object>(
  store: T,
  log: string[],
): T & { failNext(method: string): void } {
  const failing = new Set<string>();
  const proxy = new Proxy(store, {
    get(target, property, receiver) {
      if (property === 'failNext') return (method: string) => failing.add(method);
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== 'function' || typeof property !== 'string') return value;
      return async (...args: unknown[]) => {
        if (failing.delete(property)) {
          log.push(`crash:${property}`);
          throw new Error(`injected crash before ${property}`);
        }
        log.push(property);
        return (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
      };
    },
  });
  return proxy as T & { failNext(method: string): void };
}

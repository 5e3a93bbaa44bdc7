import { DynamoPipeStore } from '../../functions/adapters/dynamodb/store.js';
import type { DestinationRow } from '../../functions/core/rows.js';
import type { PipeSettingsInput } from '../../functions/core/settings.js';
import type { Clock } from '../../functions/ports/clock.js';
import type {
  Destination,
  EncodedInsertBatch,
  InsertBatch,
  InsertResult,
  StreamedInsertBatch,
  SwapMethod,
  TableRef,
} from '../../functions/ports/destination.js';
import type { PipeStore, TableState } from '../../functions/ports/pipe-store.js';
import type {
  ChangeBatch,
  ChangeBatchRequest,
  ChangeSource,
  SourceChangeEvent,
  StoppedTable,
} from '../../functions/ports/source.js';
import type { LocalDynamo } from '../support/dynalite.js';
import { rowsOfBody } from '../support/encoded-rows.js';
import { rawChangeEvent } from '../support/raw-change-events.js';

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
  implements
    Pick<
      Destination,
      | 'insertRows'
      | 'insertEncoded'
      | 'insertStreamed'
      | 'createResyncTable'
      | 'swapResyncTable'
      | 'dropSwappedOutTable'
    >
{
  readonly inserts: { table: string; rows: DestinationRow[]; token: string }[] = [];
  readonly attemptedTokens: string[] = [];
  readonly tables = new Map<string, DestinationRow[]>();
  private readonly tokens = new Set<string>();
  /** Live tables swapped in whose old rows still wait in `_resync` (the ClickHouse marker). */
  private readonly swappedIn = new Set<string>();
  constructor(private readonly log: string[] = []) {}

  async insertRows(batch: InsertBatch): Promise<InsertResult> {
    const rows: DestinationRow[] = [];
    for await (const row of batch.rows) rows.push(row);
    return this.keep(batch, rows);
  }

  /** An encoded body is read back into rows (what ClickHouse would parse). */
  async insertEncoded(batch: EncodedInsertBatch): Promise<InsertResult> {
    const rows = rowsOfBody(batch.table, batch.body);
    if (rows.length !== batch.rows)
      throw new Error(`body holds ${rows.length} rows, batch says ${batch.rows}`);
    return this.keep(batch, rows);
  }

  /**
   * A streamed body is read to its end first: one that throws inserts nothing, as ClickHouse
   * commits an insert only once its body has ended.
   */
  async insertStreamed(batch: StreamedInsertBatch): Promise<void> {
    const chunks: Uint8Array[] = [];
    for await (const chunk of batch.body) chunks.push(chunk);
    if (chunks.every((chunk) => chunk.length === 0)) return;
    this.keep(batch, rowsOfBody(batch.table, chunks));
  }

  private keep(batch: TableRef & { deduplicationToken: string }, rows: DestinationRow[]): InsertResult {
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
    if (loaded === undefined || this.swappedIn.has(ref.table)) return 'already-swapped';
    this.tables.set(`${ref.table}_resync`, this.tables.get(ref.table) ?? []);
    this.tables.set(ref.table, loaded);
    this.swappedIn.add(ref.table);
    return 'exchange';
  }

  async dropSwappedOutTable(ref: TableRef): Promise<void> {
    this.log.push(`dropSwappedOut:${ref.table}`);
    if (!this.swappedIn.delete(ref.table)) return;
    this.tables.delete(`${ref.table}_resync`);
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

export const NS = { db: 'shop', coll: 'items' };
export const FAR = Date.UTC(2030, 0, 1);

export function event(
  position: number,
  operationType: string,
  id: number,
  time: [number, number],
  fields: Record<string, unknown> = {},
): SourceChangeEvent {
  return rawChangeEvent(
    {
      ns: NS,
      operationType,
      documentKey: { _id: id },
      fullDocument: operationType === 'delete' ? null : { _id: id, ...fields },
      clusterTime: { seconds: time[0], increment: time[1] },
    },
    `tok-${position}`,
  );
}

/** Serves a fixed event list from the resume point on; tokens are `tok-<position after the event>`. */
export class ScriptedChangeSource implements Pick<ChangeSource, 'readBatch'> {
  readonly requests: ChangeBatchRequest[] = [];
  stopAfter: { position: number; table: StoppedTable } | null = null;
  onRead: (() => Promise<void>) | null = null;
  constructor(
    private readonly events: SourceChangeEvent[],
    private readonly log: string[] = [],
  ) {}

  async readBatch(request: ChangeBatchRequest): Promise<ChangeBatch> {
    this.requests.push(request);
    this.log.push('readBatch');
    await this.onRead?.();
    const token = request.resumePoint?.token ?? request.startPoint?.token ?? 'tok-0';
    const from = Number(token.split('-')[1]);
    let to = Math.min(this.events.length, from + request.maxEvents);
    const stop =
      this.stopAfter && this.stopAfter.position > from && this.stopAfter.position <= to
        ? this.stopAfter
        : null;
    if (stop) to = stop.position;
    const events = this.events.slice(from, to);
    const last = events.at(-1);
    const lastTime = last ? last.clusterTime : null;
    return {
      events,
      resumeToken: `tok-${to}`,
      resumeClusterTime: lastTime ?? { seconds: 9_000, increment: 1 },
      lastEventClusterTime: lastTime,
      tablesStopped: stop ? [stop.table] : [],
      resumedWith: request.resumePoint ? 'resume-token' : 'start-point-token',
      bytes: events.length * 100,
      endedBy: stop ? 'table-stopped' : to - from >= request.maxEvents ? 'max-events' : 'caught-up',
    };
  }
}

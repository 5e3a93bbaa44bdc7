import type { Document } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderDocumentId } from '../../functions/core/document-id.js';
import { cdcBatchTask } from '../../functions/handlers/cdc-batch.js';
import type { Destination } from '../../functions/ports/destination.js';
import {
  type ApiWorld,
  clickhouseQuery,
  compareTable,
  createRequest,
  DATABASE,
  equalWith,
  http,
  latestVersion,
  mapping,
  pumpCdc,
  startApiWorld,
  waitForState,
  waitForTransitionTo,
} from '../api-e2e/support.js';
import { type LoadCollection, seedCollections, WriteLoad } from './write-load.js';

const SEEDED = 1_500;
/** The other table's CDC inserts each `_resync` insert waits for: more than one batch cut by the swap. */
const OTHER_INSERTS_PER_HOLD = 2;
/** A hold ends here even without them, so a stopped CDC fails the assertions instead of hanging. */
const HOLD_LIMIT_MS = 60_000;
const ORDERS: LoadCollection = { db: 'shape', coll: 'orders', target: 'shape_orders', idKind: 'int' };
const CUSTOMERS: LoadCollection = {
  db: 'shape',
  coll: 'customers',
  target: 'shape_customers',
  idKind: 'objectId',
};
const FIRST_SHAPE = [
  { path: 'name', name: 'name', type: 'String' },
  { path: 'price', name: 'price', type: 'String' },
];
/**
 * The new shape: a kept column, a kept name under a new type the live String column still parses
 * until the swap, new columns at nested, missing and array paths, and `tags` excluded.
 */
const NEW_SHAPE = {
  columns: [
    { path: 'name', name: 'name', type: 'String' },
    { path: 'n', name: 'n', type: 'Int64' },
    { path: 'price', name: 'price', type: 'Float64' },
    { path: 'nested.label', name: 'label', type: 'Nullable(String)' },
    { path: 'nested.deeper.flag', name: 'flag', type: 'Nullable(Bool)' },
    { path: 'log', name: 'log', type: 'Array(Int64)' },
  ],
  excludedFields: ['tags'],
};

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The new columns of a MongoDB document, converted here as docs/table-schema.md documents (not by the product). */
function expectedColumns(document: Document): Record<string, unknown> {
  const nested = document.nested as Document | undefined;
  const deeper = nested?.deeper as Document | undefined;
  return {
    name: document.name ?? '',
    n: document.n === undefined ? '0' : String(document.n),
    price: document.price ?? 0,
    label: nested?.label ?? null,
    flag: deeper?.flag ?? null,
    log: ((document.log as number[] | undefined) ?? []).map(String),
  };
}

/** True when a key named `key` appears anywhere in a JSON value. */
function holdsKey(value: unknown, key: string): boolean {
  if (Array.isArray(value)) return value.some((item) => holdsKey(item, key));
  if (value === null || typeof value !== 'object') return false;
  return Object.entries(value).some(([name, inner]) => name === key || holdsKey(inner, key));
}

/**
 * Runs the CDC handler again and again, as the schedule would, until stopped (bounded); a run the
 * lease refuses (a swap holds it) is skipped and counted, any error is kept for the assertions.
 */
function pumpInBackground(world: ApiWorld, pipeId: string) {
  const state = { stop: false, runs: 0, skipped: 0, reasons: new Set<string>(), errors: [] as string[] };
  const done = (async () => {
    for (let run = 0; run < 5_000 && !state.stop; run += 1) {
      try {
        const deadline = Date.now() + 60_000;
        const result = await cdcBatchTask.invoke(
          world.runtime,
          { pipeId },
          { getRemainingTimeInMillis: () => deadline - Date.now() },
        );
        if (result.status === 'ran') state.runs += 1;
        else {
          state.skipped += 1;
          state.reasons.add(result.reason.replace(/\(.*\)/, '(…)'));
        }
      } catch (error) {
        state.errors.push((error as Error).message);
      }
      await pause(20);
    }
  })();
  return {
    state,
    stop: async () => {
      state.stop = true;
      await done;
    },
  };
}

/** Runs `wrap` on the destination of every connection the world's runtime opens from now on. */
function wrapDestinations(world: ApiWorld, wrap: (destination: Destination) => void): void {
  const connect = world.runtime.connect;
  world.runtime.connect = async (pipe, settings) => {
    const connections = await connect(pipe, settings);
    wrap(connections.destination);
    return connections;
  };
}

/**
 * Records every insert ClickHouse refuses, wherever it comes from (CDC runs and the machines'
 * Tasks share the world's runtime): the real adapter still does the insert. A live table that
 * could not take the new shape's rows during the resync shows here even when the run that hit it
 * ended quietly because its lease was revoked at the same moment.
 */
function recordRefusedInserts(world: ApiWorld): string[] {
  const refused: string[] = [];
  wrapDestinations(world, (destination) => {
    const noteRefusal = (table: string) => (error: unknown) => {
      const message = (error as Error).message;
      // A run the swap revoked may still try `_resync` once it is gone; it ends there and the
      // next run replays its batch (docs/engines.md): not a refusal of the shape.
      const revokedRunAfterSwap = table.endsWith('_resync') && message.includes('UNKNOWN_TABLE');
      if (!revokedRunAfterSwap) refused.push(`${table}: ${message}`);
      throw error;
    };
    const insertEncoded = destination.insertEncoded.bind(destination);
    destination.insertEncoded = (batch) => insertEncoded(batch).catch(noteRefusal(batch.table));
    const insertStreamed = destination.insertStreamed.bind(destination);
    destination.insertStreamed = (batch) => insertStreamed(batch).catch(noteRefusal(batch.table));
  });
  return refused;
}

/** Notes when each CDC insert into `target` succeeded (CDC runs insert with `insertEncoded`). */
function recordCdcInserts(world: ApiWorld, target: string): number[] {
  const doneAt: number[] = [];
  wrapDestinations(world, (destination) => {
    const insertEncoded = destination.insertEncoded.bind(destination);
    destination.insertEncoded = async (batch) => {
      const result = await insertEncoded(batch);
      if (batch.table === target) doneAt.push(Date.now());
      return result;
    };
  });
  return doneAt;
}

/**
 * Holds each snapshot insert into the reshaped table's `_resync` copy until the other table has had
 * `OTHER_INSERTS_PER_HOLD` more CDC inserts, so the resync outlasts several CDC batches however
 * slow the machine: unheld it lasts about one batch, and a batch cut by the lease revoked at the
 * swap can leave the window without any insert of the other table even when CDC never stopped.
 * A hold that reaches `HOLD_LIMIT_MS` is counted and ends the holding for the rest of the test.
 */
function holdResyncInserts(world: ApiWorld, target: string, otherInserts: number[]) {
  const holds = { held: 0, timedOut: 0 };
  wrapDestinations(world, (destination) => {
    const insertStreamed = destination.insertStreamed.bind(destination);
    destination.insertStreamed = async (batch) => {
      if (batch.table === `${target}_resync` && holds.timedOut === 0) {
        holds.held += 1;
        const wanted = otherInserts.length + OTHER_INSERTS_PER_HOLD;
        const deadline = Date.now() + HOLD_LIMIT_MS;
        while (otherInserts.length < wanted && Date.now() < deadline) await pause(50);
        if (otherInserts.length < wanted) holds.timedOut += 1;
      }
      return insertStreamed(batch);
    };
  });
  return holds;
}

describe('changing a table shape on a Running pipe under write load', () => {
  let world: ApiWorld;

  beforeAll(async () => {
    world = await startApiWorld();
  }, 120_000);
  afterAll(async () => {
    await world?.stop();
  }, 60_000);

  it('ends with the new shape, every row filled, nothing lost, the other table never stopped', async () => {
    const refusedInserts = recordRefusedInserts(world);
    const customerInserts = recordCdcInserts(world, CUSTOMERS.target);
    const holds = holdResyncInserts(world, ORDERS.target, customerInserts);
    const ids = await seedCollections(world.mongo, [ORDERS, CUSTOMERS], SEEDED);
    const created = await http(
      world,
      'POST',
      '/pipes',
      createRequest(world, 'shape', [
        { ...mapping(ORDERS.db, ORDERS.coll, ORDERS.target), columns: FIRST_SHAPE },
        mapping(CUSTOMERS.db, CUSTOMERS.coll, CUSTOMERS.target),
      ]),
    );
    expect(created.status, JSON.stringify(created.body)).toBe(202);
    const pipeId = created.body.id as string;
    await waitForState(world, pipeId, 'Running');
    await pumpCdc(world, pipeId);

    const load = new WriteLoad(world.mongo, [ORDERS, CUSTOMERS], ids, { seed: 16 });
    load.start();
    const pumping = pumpInBackground(world, pipeId);
    /** The other table, polled through the change: its state in the pipe view and its newest row version. */
    // Versions are UInt64 (seconds·2³² + increment): as Numbers, two within a second can compare equal.
    const samples: { at: number; state: string; version: bigint }[] = [];
    const resyncWindow = { from: Number.POSITIVE_INFINITY, to: Number.POSITIVE_INFINITY };
    let watching = true;
    const watch = (async () => {
      for (let poll = 0; poll < 10_000 && watching; poll += 1) {
        const view = await http(world, 'GET', `/pipes/${pipeId}`);
        const customers = view.body.tables.find(
          (table: { tableKey: string }) => table.tableKey === 'shape.customers',
        );
        const version = await clickhouseQuery(
          world,
          `SELECT max(_peerdb_version) FROM ${DATABASE}.${CUSTOMERS.target}`,
        );
        samples.push({ at: Date.now(), state: customers.state, version: BigInt(version) });
        await pause(100);
      }
    })();
    try {
      await pause(1_000);
      const before = await latestVersion(world, pipeId);
      const changed = await http(world, 'PATCH', `/pipes/${pipeId}`, {
        tableMappingsToChange: [
          { sourceDatabaseName: ORDERS.db, sourceCollection: ORDERS.coll, ...NEW_SHAPE },
        ],
      });
      expect(changed.status, JSON.stringify(changed.body)).toBe(202);
      expect(changed.body.operation).toBe('resync');
      resyncWindow.from = Date.now();
      const entered = await waitForTransitionTo(world, pipeId, before, 'Running');
      resyncWindow.to = Date.now();
      expect(entered).toEqual(['Snapshot', 'Resync', 'Running']);
      await pause(500);
    } finally {
      watching = false;
      await watch;
      await load.stop();
      await pumping.stop();
    }
    await pumpCdc(world, pipeId);
    const insertsDuring = customerInserts.filter((at) => at >= resyncWindow.from && at <= resyncWindow.to);
    console.info(
      `[e2e shape-change] load=${JSON.stringify(load.counts)} cdcRuns=${pumping.state.runs} skipped=${pumping.state.skipped} (${[...pumping.state.reasons].join('; ')}) polls=${samples.length} resync=${resyncWindow.to - resyncWindow.from} ms holds=${JSON.stringify(holds)} customerInserts=${customerInserts.length} (${insertsDuring.length} in the resync)`,
    );
    expect(pumping.state.errors).toEqual([]);
    expect(refusedInserts.slice(0, 3)).toEqual([]);

    // The other table: Replicating at every poll, and its rows kept arriving while the other was reshaped.
    expect(new Set(samples.map((sample) => sample.state))).toEqual(new Set(['Replicating']));
    expect(holds).toMatchObject({ timedOut: 0 });
    expect(holds.held).toBeGreaterThan(0);
    expect(insertsDuring.length).toBeGreaterThanOrEqual(OTHER_INSERTS_PER_HOLD);
    const during = samples.filter((sample) => sample.at >= resyncWindow.from && sample.at <= resyncWindow.to);
    expect(during.length).toBeGreaterThan(1);
    expect(during.at(-1)?.version).toBeGreaterThan(during[0]?.version ?? 0n);
    const customerCount = await world.mongo.db(CUSTOMERS.db).collection(CUSTOMERS.coll).countDocuments();
    expect(await compareTable(world, CUSTOMERS.db, CUSTOMERS.coll, CUSTOMERS.target)).toEqual(
      equalWith(customerCount),
    );

    // The reshaped table: the new columns exist and every row holds the documented conversion.
    const described = await clickhouseQuery(
      world,
      `SELECT name FROM system.columns WHERE database = '${DATABASE}' AND table = '${ORDERS.target}' FORMAT TSV`,
    );
    expect(described.split('\n')).toEqual(
      expect.arrayContaining(NEW_SHAPE.columns.map((column) => column.name)),
    );
    const text = await clickhouseQuery(
      world,
      `SELECT _id, _peerdb_version AS version, name, n, price, label, flag, log, doc FROM ${DATABASE}.${ORDERS.target} FINAL WHERE _peerdb_is_deleted = 0 FORMAT JSONEachRow`,
    );
    const rows = new Map(
      text
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .map((row) => [row._id as string, row]),
    );
    const documents = await world.mongo.db(ORDERS.db).collection(ORDERS.coll).find().toArray();
    expect(rows.size).toBe(documents.length);
    // Rows as the resync's snapshot loaded them (version 0) and rows CDC wrote since (version > 0).
    const wrong = { snapshot: [] as string[], cdc: [] as string[] };
    for (const document of documents) {
      const row = rows.get(renderDocumentId(document._id));
      const { _id, version, doc, ...read } = row ?? {};
      // 64-bit integers may come quoted or not (output_format_json_quote_64bit_integers): compared as text.
      const columns = { ...read, n: String(read.n), log: ((read.log as unknown[]) ?? []).map(String) };
      const expected = expectedColumns(document);
      const problem =
        row === undefined
          ? 'missing'
          : JSON.stringify(columns) !== JSON.stringify(expected)
            ? `${JSON.stringify(columns)} ≠ ${JSON.stringify(expected)}`
            : holdsKey(doc, 'tags')
              ? 'doc holds the excluded tags'
              : null;
      if (problem !== null)
        wrong[Number(version ?? 0) === 0 ? 'snapshot' : 'cdc'].push(`${String(document._id)}: ${problem}`);
    }
    console.info(
      `[e2e shape-change] rows=${rows.size} wrong: snapshot=${wrong.snapshot.length} cdc=${wrong.cdc.length}`,
    );
    expect(wrong.snapshot.slice(0, 5)).toEqual([]);
    expect(wrong.cdc.slice(0, 5)).toEqual([]);
    expect((await http(world, 'GET', `/pipes/${pipeId}`)).body.settings.tableMappings[0]).toMatchObject(
      NEW_SHAPE,
    );
  }, 300_000);
});

/**
 * Typed columns end to end (issue #16): a corpus of documents with every BSON type at every mapped
 * path goes through the snapshot and then CDC (inserts, updates, replaces, deletes, re-inserts)
 * into a table with typed columns and excluded fields. Every typed column in ClickHouse FINAL must
 * equal the documented conversion of the value MongoDB holds, computed by typed-columns-corpus.ts
 * (not by the product's code); mismatches are counted exactly; excluded fields appear nowhere; and
 * a query on the typed columns needs no cast.
 */
import { type ClickHouseClient, createClient } from '@clickhouse/client';
import { Decimal128, type Document, Int32, Long } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MongoChangeSource } from '../../functions/adapters/mongodb/change-source.js';
import { tableOptionsFor } from '../../functions/core/table-schema.js';
import { createPipeWithTables, type TableSpec } from '../engines/support.js';
import { silentLog } from '../support/log.js';
import {
  cdcUntilCaughtUp,
  DATABASE,
  markReplicating,
  type PipeUnderTest,
  partsOf,
  snapshotAll,
  startWorld,
  type World,
} from './harness.js';
import {
  CORPUS_COLUMNS,
  CORPUS_EXCLUDED,
  canonicalDecimal,
  corpusDocument,
  expectedColumn,
  MISSING,
  POOL,
  poolValuesAt,
  valueAt,
} from './typed-columns-corpus.js';

const CORPUS: TableSpec = { db: 'typed', coll: 'corpus', target: 'typed_corpus' };
const ORDERS: TableSpec = { db: 'typed', coll: 'orders', target: 'typed_orders' };
const CORPUS_SIZE = 1_100;
const ORDER_COUNT = 600;
const ORDER_COLUMNS = [
  { name: 'customer_city', path: 'customer.city', type: 'LowCardinality(Nullable(String))' },
  { name: 'total', path: 'total', type: 'Decimal(18,2)' },
];
const MAPPINGS = [
  {
    sourceDatabaseName: CORPUS.db,
    sourceCollection: CORPUS.coll,
    targetTable: CORPUS.target,
    columns: CORPUS_COLUMNS.map((column) => ({ ...column })),
    excludedFields: CORPUS_EXCLUDED,
  },
  {
    sourceDatabaseName: ORDERS.db,
    sourceCollection: ORDERS.coll,
    targetTable: ORDERS.target,
    columns: ORDER_COLUMNS,
  },
];
/** ClickHouse answers exact figures as text: 64-bit integers and decimals quoted, NaN and infinities too. */
const EXACT_JSON = {
  output_format_json_quote_64bit_integers: 1,
  output_format_json_quote_decimals: 1,
  output_format_json_quote_denormals: 1,
} as const;

type Row = Record<string, unknown>;

const CITIES = ['Lyon', 'Oslo', 'Kyoto'];

function orderDocument(i: number, salt = 0): Document {
  const k = i + salt;
  const doc: Document = { _id: i };
  if (k % 9 !== 8) doc.customer = k % 11 === 10 ? { city: null } : { city: CITIES[k % 3] };
  const cents = BigInt((k * 7919) % 100_000) - 20_000n;
  if (k % 4 === 0) doc.total = new Int32(Number(cents / 100n));
  else if (k % 4 === 1) doc.total = Long.fromBigInt(cents * 10n);
  else if (k % 13 !== 12) doc.total = Decimal128.fromString(canonicalDecimal(cents, 2));
  return doc;
}

describe('typed columns: snapshot and CDC into typed ClickHouse columns (simulator → engines → embedded ClickHouse)', () => {
  let world: World;
  let reader: ClickHouseClient;
  let pipe: PipeUnderTest;
  let snapshotMismatches: Record<string, number>;

  beforeAll(async () => {
    world = await startWorld();
    reader = createClient({ url: world.clickhouseUrl });
  }, 120_000);
  afterAll(async () => {
    await reader?.close();
    await world?.stop();
  });

  async function select(sql: string): Promise<Row[]> {
    const result = await reader.query({ query: sql, format: 'JSONEachRow', clickhouse_settings: EXACT_JSON });
    return result.json<Row>();
  }

  async function mongoDocuments(table: TableSpec): Promise<Document[]> {
    return world.mongo.db(table.db).collection(table.coll).find({}, { promoteValues: false }).toArray();
  }

  /** Every live row's typed columns against the conversion of MongoDB's values; returns the mismatches counted. */
  async function expectColumnsMatch(): Promise<Record<string, number>> {
    const documents = await mongoDocuments(CORPUS);
    const names = CORPUS_COLUMNS.map((column) => `\`${column.name}\``).join(', ');
    const rows = await select(
      `SELECT _id, ${names} FROM ${DATABASE}.${CORPUS.target} FINAL WHERE _peerdb_is_deleted = 0 ORDER BY _id`,
    );
    expect(rows).toHaveLength(documents.length);
    const byId = new Map(rows.map((row) => [row._id, row]));
    const mismatches: Record<string, number> = {};
    for (const document of documents) {
      const row = byId.get(document._id as string);
      for (const column of CORPUS_COLUMNS) {
        const expected = expectedColumn(column.type, valueAt(document, column.path));
        expect(row?.[column.name], `${String(document._id)} ${column.name}`).toEqual(expected.value);
        if (expected.mismatch > 0)
          mismatches[column.name] = (mismatches[column.name] ?? 0) + expected.mismatch;
      }
    }
    return mismatches;
  }

  /** No excluded key or value in any row version, in doc or in any column. */
  async function expectExcludedNowhere(): Promise<void> {
    const result = await reader.query({
      query: `SELECT * FROM ${DATABASE}.${CORPUS.target}`,
      format: 'JSONEachRow',
    });
    const text = await result.text();
    expect(text.length).toBeGreaterThan(CORPUS_SIZE * 100);
    expect(text).toContain('"kept":"kept-');
    for (const needle of ['SECRET', '"ssn"', '"secret"', '"note"'])
      expect(text.includes(needle), needle).toBe(false);
  }

  /** The no-cast query against the same aggregation in MongoDB. */
  async function expectAggregationMatches(): Promise<void> {
    const ours = await select(
      `SELECT customer_city, sum(total) AS total FROM ${DATABASE}.${ORDERS.target} FINAL ` +
        'WHERE _peerdb_is_deleted = 0 GROUP BY customer_city ORDER BY customer_city',
    );
    // MongoDB groups; the test adds each group's values exactly: the simulator's $sum (mingo) skips
    // Decimal128 values, which a real server adds.
    const theirs = await world.mongo
      .db(ORDERS.db)
      .collection(ORDERS.coll)
      .aggregate([{ $group: { _id: '$customer.city', totals: { $push: '$total' } } }], {
        promoteValues: false,
      })
      .toArray();
    const mongo = theirs
      .map((group) => ({ customer_city: group._id ?? null, total: exactSum(group.totals as unknown[]) }))
      .sort((a, b) => String(a.customer_city).localeCompare(String(b.customer_city)));
    const clickhouse = ours
      .map((group) => ({ customer_city: group.customer_city, total: canonicalOf(group.total) }))
      .sort((a, b) => String(a.customer_city).localeCompare(String(b.customer_city)));
    expect(clickhouse).toEqual(mongo);
    expect(mongo.length).toBe(CITIES.length + 1);
  }

  /** Int32, Long and Decimal128 (at most two decimals here) added exactly, as MongoDB's $sum does. */
  function exactSum(values: readonly unknown[]): string {
    let cents = 0n;
    for (const value of values) {
      if (value instanceof Int32 || value instanceof Long || value instanceof Decimal128)
        cents += centsOf(value.toString());
      else if (value !== null && value !== undefined) throw new Error(`unexpected total ${String(value)}`);
    }
    return canonicalDecimal(cents, 2);
  }

  function canonicalOf(value: unknown): string {
    return canonicalDecimal(centsOf(String(value)), 2);
  }

  /** `-12.3` → -1230n: plain decimal text with at most two decimals, in hundredths. */
  function centsOf(text: string): bigint {
    const [whole = '0', fraction = ''] = text.split('.');
    if (fraction.length > 2 || /e/i.test(text)) throw new Error(`not a two-decimal amount: ${text}`);
    return BigInt(`${whole}${fraction.padEnd(2, '0')}`);
  }

  async function storedMismatches(table: TableSpec): Promise<Record<string, number>> {
    const mapping = await world.store.getTableMapping(pipe.pipeId, `${table.db}.${table.coll}`);
    return mapping?.typeMismatches ?? {};
  }

  it('loads the snapshot into typed columns, counts every mismatch, and leaves excluded fields out', async () => {
    const started = Date.now();
    const corpus = world.mongo.db(CORPUS.db).collection<Document>(CORPUS.coll);
    const generated = Array.from({ length: CORPUS_SIZE }, (_, i) => corpusDocument(i));
    for (const column of CORPUS_COLUMNS)
      expect(poolValuesAt(generated, column.path), column.path).toBe(POOL.length);
    await corpus.insertMany(generated);
    const orders = world.mongo.db(ORDERS.db).collection(ORDERS.coll);
    await orders.insertMany(Array.from({ length: ORDER_COUNT }, (_, i) => orderDocument(i)));
    pipe = await setUpTypedPipe(world);
    const snapshot = await snapshotAll(pipe, partsOf(world, pipe));
    expect(snapshot.rows).toBe(CORPUS_SIZE + ORDER_COUNT);

    snapshotMismatches = await expectColumnsMatch();
    for (const column of CORPUS_COLUMNS.filter((c) => !['customer_city', 's', 'sku0'].includes(c.name)))
      expect(snapshotMismatches[column.name], column.name).toBeGreaterThan(0);
    expect(await storedMismatches(CORPUS)).toEqual(snapshotMismatches);
    expect(await storedMismatches(ORDERS)).toEqual({});
    await expectExcludedNowhere();
    await expectAggregationMatches();
    const view = await world.store.getTableMapping(pipe.pipeId, 'typed.corpus');
    console.info(
      `[e2e typed-columns snapshot] rows=${snapshot.rows} mismatches=${JSON.stringify(view?.typeMismatches)} ` +
        `seconds=${((Date.now() - started) / 1000).toFixed(1)}`,
    );
  }, 300_000);

  it('fills the same columns through CDC: inserts, updates, replaces, deletes (tombstones with defaults), re-inserts', async () => {
    expect(pipe, 'the snapshot test runs first').toBeDefined();
    await markReplicating(world.store, pipe);
    const parts = partsOf(world, pipe);
    const corpus = world.mongo.db(CORPUS.db).collection<Document>(CORPUS.coll);
    const orders = world.mongo.db(ORDERS.db).collection(ORDERS.coll);
    let expectedCdc: Record<string, number> = {};
    const count = async (ids: readonly number[], salt: number) => {
      expectedCdc = addCounts(expectedCdc, mismatchesOf(ids.map((i) => corpusDocument(i, salt))));
    };

    const inserted = range(CORPUS_SIZE, CORPUS_SIZE + 100);
    await corpus.insertMany(inserted.map((i) => corpusDocument(i, 0)));
    await count(inserted, 0);
    await orders.insertMany(range(ORDER_COUNT, ORDER_COUNT + 50).map((i) => orderDocument(i)));
    await cdcUntilCaughtUp(pipe, parts);

    const updated = range(0, 100);
    for (const i of updated) {
      const next = corpusDocument(i, 3);
      const { _id, ...fields } = next;
      const unset = Object.fromEntries(
        ['i64', 'flag', 'tags'].filter((key) => !(key in fields)).map((key) => [key, '']),
      );
      await corpus.updateOne({ _id: `doc-${i}` } as never, {
        $set: fields,
        ...(Object.keys(unset).length > 0 ? { $unset: unset } : {}),
      });
    }
    const afterUpdates = await world.mongo
      .db(CORPUS.db)
      .collection(CORPUS.coll)
      .find({ _id: { $in: updated.map((i) => `doc-${i}`) } as never }, { promoteValues: false })
      .toArray();
    expectedCdc = addCounts(expectedCdc, mismatchesOf(afterUpdates));
    for (const i of range(0, 60)) {
      const { _id, ...fields } = orderDocument(i, 5);
      await orders.updateOne({ _id: i as never }, { $set: fields });
    }
    await cdcUntilCaughtUp(pipe, parts);

    const replaced = range(100, 200);
    for (const i of replaced) await corpus.replaceOne({ _id: `doc-${i}` } as never, corpusDocument(i, 4));
    await count(replaced, 4);
    await cdcUntilCaughtUp(pipe, parts);

    const deleted = range(200, 300);
    await corpus.deleteMany({ _id: { $in: deleted.map((i) => `doc-${i}`) } as never });
    await orders.deleteMany({ _id: { $in: range(100, 140) } as never });
    await cdcUntilCaughtUp(pipe, parts);
    await expectTombstoneDefaults(deleted.slice(50));

    const reinserted = deleted.slice(0, 50);
    await corpus.insertMany(reinserted.map((i) => corpusDocument(i, 6)));
    await count(reinserted, 6);
    await cdcUntilCaughtUp(pipe, parts);

    await expectColumnsMatch();
    expect(await storedMismatches(CORPUS)).toEqual(addCounts(snapshotMismatches, expectedCdc));
    await expectExcludedNowhere();
    await expectAggregationMatches();
  }, 300_000);

  it('stops only the table whose value does not convert under onTypeMismatch fail, naming _id, path and BSON type', async () => {
    const strict = { db: 'typed', coll: 'strict', target: 'typed_strict' };
    const lenient = { db: 'typed', coll: 'lenient', target: 'typed_lenient' };
    const good = Array.from({ length: 30 }, (_, i) => ({ _id: i, amount: Decimal128.fromString(`${i}.50`) }));
    await world.mongo
      .db(strict.db)
      .collection(strict.coll)
      .insertMany([...good, { _id: 30, amount: 'n/a' }] as never);
    await world.mongo
      .db(lenient.db)
      .collection(lenient.coll)
      .insertMany([...good, { _id: 30, amount: 'n/a' }] as never);
    const column = { name: 'amount', path: 'amount', type: 'Decimal(18,2)' };
    const mappings = [
      {
        sourceDatabaseName: strict.db,
        sourceCollection: strict.coll,
        targetTable: strict.target,
        columns: [column],
        onTypeMismatch: 'fail',
      },
      {
        sourceDatabaseName: lenient.db,
        sourceCollection: lenient.coll,
        targetTable: lenient.target,
        columns: [column],
      },
    ];
    const failing = await setUpPipeWith(world, [strict, lenient], mappings);
    await snapshotAll(failing, partsOf(world, failing));
    const stopped = await world.store.getTableMapping(failing.pipeId, 'typed.strict');
    expect(stopped).toMatchObject({
      state: 'Stopped',
      stopReason: 'typeMismatch',
      stopMessage:
        'document _id 30: amount holds a BSON string that does not convert to Decimal(18,2) (column amount; onTypeMismatch is fail)',
    });
    const going = await world.store.getTableMapping(failing.pipeId, 'typed.lenient');
    expect(going).toMatchObject({ state: 'Snapshot', typeMismatches: { amount: 1 } });
    const [sums] = await select(
      `SELECT count() AS n, sum(amount) AS total FROM ${DATABASE}.${lenient.target} FINAL`,
    );
    expect(sums).toEqual({ n: '31', total: '450' });
  }, 120_000);

  /**
   * Deleted documents whose change had no pre-image: the tombstone's columns hold NULL or the type's
   * default. Read without FINAL, which hides an _id whose newest row is a delete.
   */
  async function expectTombstoneDefaults(ids: readonly number[]): Promise<void> {
    const names = CORPUS_COLUMNS.map((column) => `\`${column.name}\``).join(', ');
    const rows = await select(
      `SELECT _id, ${names} FROM ${DATABASE}.${CORPUS.target} WHERE _peerdb_is_deleted = 1 ` +
        `AND has([${ids.map((i) => `'doc-${i}'`).join(',')}], _id)`,
    );
    expect(rows).toHaveLength(ids.length);
    for (const row of rows)
      for (const column of CORPUS_COLUMNS)
        expect(row[column.name], `${String(row._id)} ${column.name}`).toEqual(
          expectedColumn(column.type, MISSING).value,
        );
  }
});

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, k) => from + k);
}

function addCounts(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const sums = { ...a };
  for (const [key, value] of Object.entries(b)) sums[key] = (sums[key] ?? 0) + value;
  return sums;
}

/** Mismatches of documents as written (the pool's wrappers are what MongoDB gives back) or as read. */
function mismatchesOf(documents: readonly Document[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const document of documents)
    for (const column of CORPUS_COLUMNS) {
      const { mismatch } = expectedColumn(column.type, valueAt(document, column.path));
      if (mismatch > 0) counts[column.name] = (counts[column.name] ?? 0) + mismatch;
    }
  return counts;
}

/** The pipe with typed mappings, its tables created with their columns, its CDC start point recorded. */
function setUpTypedPipe(world: World): Promise<PipeUnderTest> {
  return setUpPipeWith(world, [CORPUS, ORDERS], MAPPINGS);
}

async function setUpPipeWith(
  world: World,
  tables: TableSpec[],
  mappings: readonly Document[],
): Promise<PipeUnderTest> {
  const pipeId = await createPipeWithTables(
    world.store,
    tables,
    {
      tableMappings: mappings as never,
      snapshotBatchMaxRows: 200,
      snapshotNumRowsPerPartition: 1_000,
      pullBatchSize: 500,
    },
    { kind: 'clickhouse', database: DATABASE },
  );
  for (const [index, table] of tables.entries()) {
    const options = tableOptionsFor(
      { useJsonNativeFormat: true, deleteOnMerge: false },
      mappings[index] as never,
    );
    await world.destination.createTable({ database: DATABASE, table: table.target }, options);
  }
  const changeSource = new MongoChangeSource(world.mongo, {
    namespaces: tables.map((table) => ({ db: table.db, coll: table.coll })),
    log: silentLog,
  });
  await world.store.recordStartPoint(pipeId, await changeSource.captureStartPoint());
  return { pipeId, tables, changeSource, useJsonNativeFormat: true };
}

/**
 * Snapshot path on one core: the real snapshotChunk engine (MongoSnapshotSource's raw BSON in
 * pieces transcoded into each batch's body as it is streamed into ClickHouseDestination.insertStreamed,
 * the next batch sent while one finishes) over one
 * partition holding the whole collection, next to the two raw limits measured in the same run on
 * the same documents: the driver reading them raw (a find() cursor in _id order, raw BSON,
 * nothing else; the product reads the same order as the first batches of limited finds) and ClickHouse inserting
 * the bodies the product would send (made before timing starts) with insertEncoded and nothing
 * else, one after the other as a chunk commits them (two at a time is printed for reference).
 */
import type { Document } from 'mongodb';
import { DESERIALIZE_OPTIONS, MongoSnapshotSource } from '../functions/adapters/mongodb/snapshot-source.js';
import { decodePartitionBounds } from '../functions/core/partition-plan.js';
import { parseSettings } from '../functions/core/settings.js';
import { pieceBounds } from '../functions/engines/snapshot-batches.js';
import { snapshotChunk } from '../functions/engines/snapshot-chunk.js';
import { planTableSnapshot } from '../functions/engines/snapshot-plan.js';
import { type EncodedBatch, encodedBatches } from '../functions/engines/streamed-batch.js';
import { systemClock } from '../functions/ports/clock.js';
import type { SnapshotBatch } from '../functions/ports/source.js';
import { loadOrders, ORDER_BSON_BYTES, ORDER_COLUMNS } from './documents.js';
import {
  insertSeconds,
  newTimings,
  overlapSeconds,
  type PhaseTimings,
  timedDestination,
  timedSource,
  timedStore,
} from './instrument.js';
import { type BenchPipe, createBenchPipe } from './pipes.js';
import { profiled } from './profile.js';
import { cpuLine, MB, mbPerSecond, perSecond, seconds } from './report.js';
import { type CpuSample, cpuBetween, DESTINATION_DATABASE, settleMerges, type World } from './world.js';

export const SNAPSHOT_DB = 'bench';
export const SNAPSHOT_COLLECTION = 'orders';
/**
 * The raw read's cursor batch size. The product reads the first batch of finds limited to 2000
 * documents instead (no per-document driver objects); the cursor is the driver's plain raw read.
 */
const SOURCE_CURSOR_BATCH = 5_000;

export interface Phase {
  seconds: number;
  docs: number;
  /** BSON bytes of the documents (what the source counts). */
  bsonBytes: number;
  cpu: CpuSample;
}

export interface SnapshotFigures {
  docs: number;
  batchRows: number;
  batchBytes: number;
  product: Phase & { batches: number; timings: PhaseTimings };
  /** (a) find() returning raw BSON, undecoded: how the product reads. */
  read: Phase;
  /** The same find() decoding every document (the source's deserialize options; reference). */
  readDecoded: Phase;
  write: Phase & { jsonBytes: number; batches: number };
  /** The same bodies two at a time (reference: a chunk commits one batch at a time). */
  writeTwoInFlight: Phase;
  /** Seconds encodedBatches took over the whole collection, read beforehand (making the bodies). */
  transformSeconds: number;
  ratio: number;
  /** The product again with `--columns` typed columns, when asked for. */
  typed?: Phase & { columns: number };
}

/** Loads the collection the snapshot figures (and the memory figures) read. */
export async function loadSnapshotCollection(world: World, docs: number): Promise<void> {
  const collection = world.mongo.db(SNAPSHOT_DB).collection(SNAPSHOT_COLLECTION);
  const started = performance.now();
  await loadOrders(collection, docs);
  const wall = (performance.now() - started) / 1000;
  console.log(
    `loaded ${docs} documents of ${ORDER_BSON_BYTES} B BSON into ${SNAPSHOT_DB}.${SNAPSHOT_COLLECTION} ` +
      `in ${seconds(wall)} s (${perSecond(docs, wall)} inserts/s; setup, not a figure)`,
  );
}

async function measured<T>(
  world: World,
  run: () => Promise<T>,
): Promise<{ value: T; wall: number; cpu: CpuSample }> {
  const before = world.cpu();
  const started = performance.now();
  const value = await run();
  const wall = (performance.now() - started) / 1000;
  return { value, wall, cpu: cpuBetween(before, world.cpu()) };
}

export async function snapshotBenchmark(
  world: World,
  docs: number,
  profile = false,
  columns = 0,
): Promise<SnapshotFigures> {
  const source = new MongoSnapshotSource(world.mongo);
  const pipe = await createBenchPipe(
    world,
    { db: SNAPSHOT_DB, coll: SNAPSHOT_COLLECTION, target: 'orders_product' },
    // One partition for the whole collection: the chunk runs from the first _id to the last.
    { snapshotNumRowsPerPartition: 100_000_000 },
  );
  const settings = parseSettings((await world.store.getPipe(pipe.pipeId)).settings, ['settings']);
  const planned = await planTableSnapshot(
    { store: world.store, source },
    { pipeId: pipe.pipeId, tableKey: pipe.tableKey },
  );
  if (planned.partitions.length !== 1)
    throw new Error(`expected one partition, the plan has ${planned.partitions.length}`);
  const bounds = decodePartitionBounds((planned.partitions[0] as { bounds: string }).bounds);
  console.log(
    `settings: snapshotBatchMaxRows ${settings.snapshotBatchMaxRows}, snapshotBatchMaxBytes ` +
      `${settings.snapshotBatchMaxBytes} (the product's defaults), raw read: cursor batch ${SOURCE_CURSOR_BATCH}, ` +
      `doc column JSON; one partition (${planned.strategy})`,
  );
  const collection = world.mongo.db(SNAPSHOT_DB).collection(SNAPSHOT_COLLECTION);

  // (a) Raw read limit: the driver's cursor returning raw BSON, undecoded (and the byte count).
  await settleMerges(world);
  const rawBytes = await measured(world, async () => {
    let count = 0;
    let bytes = 0;
    const cursor = collection.find(
      {},
      { sort: { _id: 1 }, hint: { _id: 1 }, batchSize: SOURCE_CURSOR_BATCH, raw: true },
    );
    // A server reply at a time.
    while (await cursor.hasNext()) {
      for (const raw of cursor.readBufferedDocuments()) {
        bytes += (raw as unknown as Uint8Array).length;
        count += 1;
      }
    }
    await cursor.close();
    return { count, bytes };
  });
  // Reference: the driver reading and decoding the documents (the source's deserialize options),
  // as the product did before it read raw BSON.
  const decoded = await measured(world, async () => {
    let count = 0;
    const cursor = collection.find<Document>(
      {},
      { sort: { _id: 1 }, hint: { _id: 1 }, batchSize: SOURCE_CURSOR_BATCH, ...DESERIALIZE_OPTIONS },
    );
    for await (const _document of cursor) count += 1;
    return count;
  });
  if (rawBytes.value.count !== docs || decoded.value !== docs)
    throw new Error(`raw read saw ${rawBytes.value.count} / ${decoded.value} documents, expected ${docs}`);
  const bsonBytes = rawBytes.value.bytes;

  // The bodies the product would insert, in its batches, made before the write is timed: the
  // source's pieces are read first, then encodedBatches transcodes and groups them (timed alone).
  const rawTarget = 'orders_raw_write';
  const batchBounds = { maxRows: settings.snapshotBatchMaxRows, maxBytes: settings.snapshotBatchMaxBytes };
  const pieces: SnapshotBatch[] = [];
  for await (const piece of source.readPartition(
    { db: SNAPSHOT_DB, coll: SNAPSHOT_COLLECTION },
    { bounds, checkpoint: null, ...pieceBounds(batchBounds), afterClusterTime: null },
  ))
    pieces.push(piece);
  const batches: EncodedBatch[] = [];
  const transcodeStarted = performance.now();
  for await (const batch of encodedBatches(pieces.splice(0), batchBounds, true)) batches.push(batch);
  const transformSeconds = (performance.now() - transcodeStarted) / 1000;

  // (b) Raw write limit: insertEncoded of the ready bodies, nothing else, one after the other as
  // a chunk commits them; then, for reference, two at a time (ClickHouse inserting both at once).
  const write = await rawWrite(world, batches, rawTarget, 1);
  const writeTwo = await rawWrite(world, batches, `${rawTarget}_2`, 2);
  const writeBatches = batches.length;
  batches.length = 0;

  // The product: one snapshotChunk over the whole partition, a budget it never reaches.
  await settleMerges(world);
  const product = await measured(world, () =>
    profile
      ? profiled('snapshot-chunk', () => runProductChunk(world, pipe, source))
      : runProductChunk(world, pipe, source),
  );
  if (!product.value.result.done || product.value.result.rowsCopied !== docs) {
    throw new Error(
      `the chunk copied ${product.value.result.rowsCopied} rows (done: ${product.value.result.done}), expected ${docs}`,
    );
  }
  await expectRows(world, pipe.target, docs);
  const typed = columns > 0 ? await typedProductRun(world, source, docs, columns) : undefined;

  const figures: SnapshotFigures = {
    docs,
    batchRows: settings.snapshotBatchMaxRows,
    batchBytes: settings.snapshotBatchMaxBytes,
    product: {
      seconds: product.wall,
      docs,
      bsonBytes: product.value.result.bytes,
      cpu: product.cpu,
      batches: product.value.result.batches,
      timings: product.value.timings,
    },
    read: { seconds: rawBytes.wall, docs, bsonBytes, cpu: rawBytes.cpu },
    readDecoded: { seconds: decoded.wall, docs, bsonBytes, cpu: decoded.cpu },
    write: {
      seconds: write.wall,
      docs,
      bsonBytes,
      cpu: write.cpu,
      jsonBytes: write.value,
      batches: writeBatches,
    },
    writeTwoInFlight: { seconds: writeTwo.wall, docs, bsonBytes, cpu: writeTwo.cpu },
    transformSeconds,
    ratio: docs / product.wall / Math.min(docs / rawBytes.wall, docs / write.wall),
    ...(typed === undefined ? {} : { typed }),
  };
  printSnapshot(figures);
  return figures;
}

/** insertEncoded of ready bodies into a new table, `inFlight` at a time: wall time, CPU, JSON bytes. */
async function rawWrite(world: World, batches: readonly EncodedBatch[], table: string, inFlight: number) {
  await world.destination.createTable(
    { database: DESTINATION_DATABASE, table },
    { useJsonNativeFormat: true, deleteOnMerge: false },
  );
  await settleMerges(world);
  const write = await measured(world, async () => {
    let jsonBytes = 0;
    const running: Promise<{ bytes: number }>[] = [];
    for (const [index, { body, rows }] of batches.entries()) {
      if (running.length === inFlight) jsonBytes += (await running.shift())?.bytes ?? 0;
      running.push(
        world.destination.insertEncoded({
          database: DESTINATION_DATABASE,
          table,
          body,
          rows,
          deduplicationToken: `bench-raw-write-${index}`,
        }),
      );
    }
    for (const insert of running) jsonBytes += (await insert).bytes;
    return jsonBytes;
  });
  await expectRows(
    world,
    table,
    batches.reduce((sum, batch) => sum + batch.rows, 0),
  );
  return write;
}

/**
 * The product's chunk again over the same collection into a table with the first `columns` of
 * ORDER_COLUMNS: the same path with the table's shape, so the two CPU figures compare the typed
 * columns' cost alone.
 */
async function typedProductRun(
  world: World,
  source: MongoSnapshotSource,
  docs: number,
  columns: number,
): Promise<Phase & { columns: number }> {
  const pipe = await createBenchPipe(
    world,
    {
      db: SNAPSHOT_DB,
      coll: SNAPSHOT_COLLECTION,
      target: 'orders_typed',
      columns: ORDER_COLUMNS.slice(0, columns),
    },
    { snapshotNumRowsPerPartition: 100_000_000 },
  );
  await planTableSnapshot({ store: world.store, source }, { pipeId: pipe.pipeId, tableKey: pipe.tableKey });
  await settleMerges(world);
  const run = await measured(world, () => runProductChunk(world, pipe, source));
  if (!run.value.result.done || run.value.result.rowsCopied !== docs)
    throw new Error(`the typed chunk copied ${run.value.result.rowsCopied} rows, expected ${docs}`);
  await expectRows(world, pipe.target, docs);
  const mapping = await world.store.getTableMapping(pipe.pipeId, pipe.tableKey);
  if (Object.keys(mapping?.typeMismatches ?? {}).length > 0)
    throw new Error(`typed columns mismatched: ${JSON.stringify(mapping?.typeMismatches)}`);
  return { seconds: run.wall, docs, bsonBytes: run.value.result.bytes, cpu: run.cpu, columns };
}

async function runProductChunk(world: World, pipe: BenchPipe, source: MongoSnapshotSource) {
  const timings = newTimings();
  const result = await snapshotChunk(
    {
      store: timedStore(world.store, timings),
      source: timedSource(source, timings),
      destination: timedDestination(world.destination, timings),
      clock: systemClock,
    },
    {
      pipeId: pipe.pipeId,
      table: pipe.tableKey,
      partitionIndex: 0,
      budget: { deadline: Date.now() + 3_600_000, safetyMarginMs: 5_000 },
    },
  );
  return { result, timings };
}

/** µs of the bench process's CPU per document of a phase. */
export function cpuPerDocument(phase: Phase): string {
  return ((phase.cpu.bench / phase.docs) * 1e6).toFixed(1);
}

async function expectRows(world: World, table: string, expected: number): Promise<void> {
  const stored = await world.destination.countRows({ database: DESTINATION_DATABASE, table });
  if (stored !== expected) throw new Error(`${table} holds ${stored} rows, expected ${expected}`);
}

function printSnapshot(f: SnapshotFigures): void {
  const line = (name: string, phase: Phase, extra = '') =>
    console.log(
      `${name.padEnd(36)} ${perSecond(phase.docs, phase.seconds).padStart(7)} docs/s  ` +
        `${mbPerSecond(phase.bsonBytes, phase.seconds).padStart(5)} MB/s  (${seconds(phase.seconds)} s${extra})\n` +
        `${''.padEnd(36)} ${cpuLine(phase.cpu, phase.seconds)}`,
    );
  console.log(
    `${f.docs} documents, ${(f.read.bsonBytes / MB).toFixed(1)} MB of BSON; MB/s = 10^6 bytes of BSON per second`,
  );
  line('product (snapshotChunk)', f.product, `, ${f.product.batches} batches`);
  line('(a) raw read (find, raw BSON)', f.read);
  line(
    '(b) raw write (insertEncoded, ready)',
    f.write,
    `, ${f.write.batches} batches, JSON body ${mbPerSecond(f.write.jsonBytes, f.write.seconds)} MB/s`,
  );
  line('    reference: raw write, 2 at a time', f.writeTwoInFlight);
  line('    reference: find, decoded', f.readDecoded);
  console.log(
    `  transcode alone (encodedBatches over pieces read beforehand, making the raw-write bodies): ` +
      `${seconds(f.transformSeconds)} s = ${perSecond(f.docs, f.transformSeconds)} docs/s`,
  );
  const t = f.product.timings;
  const both = overlapSeconds(t);
  const inserting = insertSeconds(t);
  // The transcode and the pipe store's calls run inside the streamed inserts' spans.
  const outside = Math.max(0, f.product.seconds - (t.readWait + inserting - both));
  console.log(
    `  inside the product run (${seconds(f.product.seconds)} s): reading ${seconds(t.readWait)} s, inserts (streamed) ` +
      `${seconds(inserting)} s (${seconds(t.insert)} s summed over the overlapping inserts), both at once ${seconds(both)} s; pipe store ${seconds(t.store)} s ` +
      `(${t.storeCalls} calls, inside the inserts); outside reads and inserts ${seconds(outside)} s`,
  );
  console.log(
    `  product CPU per document: ${cpuPerDocument(f.product)} µs in the bench process ` +
      `(raw read ${cpuPerDocument(f.read)} µs, raw write ${cpuPerDocument(f.write)} µs)`,
  );
  if (f.typed !== undefined) {
    const plain = f.product.cpu.bench / f.product.docs;
    const typed = f.typed.cpu.bench / f.typed.docs;
    line(`product with ${f.typed.columns} typed columns`, f.typed);
    console.log(
      `  product CPU per document: ${cpuPerDocument(f.product)} µs without typed columns, ` +
        `${cpuPerDocument(f.typed)} µs with ${f.typed.columns} (${(((typed - plain) / plain) * 100).toFixed(0)}% more; ` +
        'issue #16 asks at most 25%)',
    );
  }
  console.log(
    `ratio product / min(a, b) = ${f.ratio.toFixed(2)} ` +
      `(slower raw limit: ${f.read.seconds > f.write.seconds ? 'read' : 'write'})`,
  );
}

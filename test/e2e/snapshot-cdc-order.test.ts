/**
 * Snapshot and CDC load the same table at the same time (CDC replays every change from the start
 * point recorded before the snapshot reads). The claim: snapshot rows carry `_peerdb_version` 0,
 * so every CDC row of an `_id` wins over its snapshot row in whichever order the two land, and the
 * table (FINAL, live rows) equals MongoDB for every kind of change, wherever the change falls
 * relative to the partition's read.
 *
 * One case per change kind × timing × arrival order, each interleaving forced by a hook in the
 * snapshot source's `readPartition`:
 * - kinds: insert of a new `_id`, update, replace, delete, delete then re-insert of the same `_id`;
 * - timings: `before` (after the start point, before the partition is read), `during-read` (the
 *   partition is read 2 documents a batch; the change lands between two batches on a document
 *   already read), `during-unread` (same moment, on a document the cursor has not reached), `after`
 *   (the whole partition was read, none of its rows inserted yet);
 * - orders: `cdc-first` (the hook also runs CDC until the change's events are applied, so the CDC
 *   row lands before the snapshot row of that `_id`) and `snapshot-first` (CDC runs once the
 *   partition is in).
 * 5 × 4 × 2 = 40 cases, none dropped. A new `_id` cannot have been read already, so for inserts the
 * `during-read` and `after` timings insert the new `_id` into the range the cursor has already
 * passed: the snapshot never holds a row for it, and the two orders differ in whether its CDC row
 * lands before or after the snapshot batch that covers its range.
 *
 * Each case checks that the interleaving really happened (the rows of the changed `_id` as they
 * reached ClickHouse, in order, and what the snapshot row held), then the changed document's exact
 * final content or absence, then the whole table against MongoDB. Two negative controls tamper with
 * the versions and must see the table differ from MongoDB.
 */
import type { Collection, Document } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DESERIALIZE_OPTIONS } from '../../functions/adapters/mongodb/snapshot-source.js';
import { documentToJson } from '../../functions/core/bson-json.js';
import { renderDocumentId } from '../../functions/core/document-id.js';
import type { DestinationRow } from '../../functions/core/rows.js';
import { cdcBatch } from '../../functions/engines/cdc-run.js';
import { systemClock } from '../../functions/ports/clock.js';
import type {
  Destination,
  EncodedInsertBatch,
  StreamedInsertBatch,
} from '../../functions/ports/destination.js';
import type {
  SnapshotBatch,
  SnapshotReadOptions,
  SnapshotSource,
  SourceNamespace,
} from '../../functions/ports/source.js';
import { hashOf } from '../support/compare.js';
import { bodyIsJsonNative, bodyOfRows, rowsOfBody } from '../support/encoded-rows.js';
import {
  compareTable,
  DATABASE,
  type EngineParts,
  type PipeUnderTest,
  partsOf,
  setUpPipe,
  snapshotAll,
  startWorld,
  type World,
} from './harness.js';

type Kind = 'insert' | 'update' | 'replace' | 'delete' | 'delete-reinsert';
type Timing = 'before' | 'during-read' | 'during-unread' | 'after';
type Order = 'cdc-first' | 'snapshot-first';

const KINDS: Kind[] = ['insert', 'update', 'replace', 'delete', 'delete-reinsert'];
const TIMINGS: Timing[] = ['before', 'during-read', 'during-unread', 'after'];
const ORDERS: Order[] = ['cdc-first', 'snapshot-first'];

const SEED_IDS = [10, 20, 30, 40, 50, 60, 70, 80];
const BATCH_ROWS = 2;
/**
 * `during` hooks fire when the source hands over its 2nd batch ([30, 40]), before the chunk inserts
 * it. The driver's cursor (batchSize = BATCH_ROWS) fetched [50, 60] to know batch 2 was full, so at
 * that moment the server has read up to 60, and 70 and 80 are still ahead of it. Each case also
 * checks what the snapshot row of the changed `_id` actually held, so a wrong guess here fails.
 */
const DURING_BATCH = 2;
const TARGETS: Record<Timing, { existing: number; fresh: number }> = {
  before: { existing: 50, fresh: 45 },
  'during-read': { existing: 30, fresh: 35 },
  'during-unread': { existing: 70, fresh: 75 },
  after: { existing: 50, fresh: 45 },
};
/** Change events each kind writes (the CDC passes wait for exactly these). */
const EVENTS: Record<Kind, number> = { insert: 1, update: 1, replace: 1, delete: 1, 'delete-reinsert': 2 };
/** Whether the `_id` is live in MongoDB once the change is made. */
const LIVE_AFTER: Record<Kind, boolean> = {
  insert: true,
  update: true,
  replace: true,
  delete: false,
  'delete-reinsert': true,
};

/** Rewrites rows on their way to ClickHouse: only the negative controls use it. */
type Tamper = 'cdc-version-zero' | 'snapshot-version-max';
const UINT64_MAX = 2n ** 64n - 1n;

interface Case {
  kind: Kind;
  timing: Timing;
  order: Order;
}

const CASES: Case[] = KINDS.flatMap((kind) =>
  TIMINGS.flatMap((timing) => ORDERS.map((order) => ({ kind, timing, order }))),
);

/** One row of the changed `_id` as it reached ClickHouse (version 0: a snapshot row). */
interface Arrival {
  from: 'snapshot' | 'cdc';
  version: bigint;
  deleted: boolean;
  doc: string;
}

/** One insert into the case's table: which side sent it and the `_id`s it held. */
interface Insert {
  from: 'snapshot' | 'cdc';
  ids: string[];
}

interface CaseRun {
  pipe: PipeUnderTest;
  targetId: number;
  id: string;
  arrivals: Arrival[];
  inserts: Insert[];
  hookRuns: number;
  snapshotBatches: number;
  /** The document before the change (null: absent) and after it. */
  before: Document | null;
  after: Document | null;
}

let sequence = 0;

async function runCase(world: World, c: Case, tamper?: Tamper): Promise<CaseRun> {
  sequence += 1;
  const name = `ord_${sequence}_${c.kind.replace('-', '_')}_${c.timing.replace('-', '_')}`;
  const table = { db: 'ordering', coll: name, target: name };
  const collection = world.mongo.db(table.db).collection(table.coll);
  await collection.insertMany(
    SEED_IDS.map((n) => ({ _id: n, n, tag: 'seed', nested: { a: n, b: 'x' } })) as never,
  );
  const pipe = await setUpPipe(world, [table], {
    snapshotBatchMaxRows: BATCH_ROWS,
    snapshotNumRowsPerPartition: 1_000,
  });
  const targetId = c.kind === 'insert' ? TARGETS[c.timing].fresh : TARGETS[c.timing].existing;
  const id = renderDocumentId(targetId);
  const read = () => collection.findOne({ _id: targetId } as Document, DESERIALIZE_OPTIONS);
  const before = await read();

  const arrivals: Arrival[] = [];
  const inserts: Insert[] = [];
  const destination = recordingDestination(world.destination, id, { arrivals, inserts }, tamper);
  const base = partsOf(world, pipe);
  let hookRuns = 0;
  let snapshotBatches = 0;
  const parts: EngineParts = { ...base, destination };
  const hook = async () => {
    hookRuns += 1;
    await change(collection, c.kind, targetId);
    if (c.order === 'cdc-first') await cdcPass(pipe, parts, EVENTS[c.kind]);
  };
  parts.snapshotSource = hookedSource(world.snapshotSource, c.timing, hook, () => {
    snapshotBatches += 1;
  });

  await snapshotAll(pipe, parts);
  if (c.order === 'snapshot-first') await cdcPass(pipe, parts, EVENTS[c.kind]);
  return { pipe, targetId, id, arrivals, inserts, hookRuns, snapshotBatches, before, after: await read() };
}

/** Makes the case's change: every write is its own oplog entry, so each gets its own version. */
async function change(collection: Collection<Document>, kind: Kind, id: number): Promise<void> {
  const filter = { _id: id } as Document;
  switch (kind) {
    case 'insert':
      await collection.insertOne({ _id: id, n: id, tag: 'inserted', list: [1, 2, 3] } as never);
      return;
    case 'update':
      await collection.updateOne(filter, { $set: { tag: 'updated', 'nested.b': 'y' }, $inc: { n: 1000 } });
      return;
    case 'replace':
      await collection.replaceOne(filter, { shape: 'replaced', k: -id });
      return;
    case 'delete':
      await collection.deleteOne(filter);
      return;
    case 'delete-reinsert':
      await collection.deleteOne(filter);
      await collection.insertOne({ _id: id, tag: 'reinserted', m: 7 } as never);
      return;
  }
}

/**
 * Wraps the real source. `before`: the hook runs before the read starts. `during`: it runs when
 * the DURING_BATCH-th batch was read, before it is handed to the chunk (so before its insert).
 * `after`: the whole partition is read first, then the hook runs, then the batches are handed over
 * (the engine itself reads and inserts batch by batch; this widens the read-to-insert gap of its
 * last batch to the whole partition).
 */
function hookedSource(
  real: SnapshotSource,
  timing: Timing,
  hook: () => Promise<void>,
  counted: () => void,
): SnapshotSource {
  return {
    planPartitions: (namespace, options) => real.planPartitions(namespace, options),
    readPartition: async function* (
      namespace: SourceNamespace,
      options: SnapshotReadOptions,
    ): AsyncGenerator<SnapshotBatch> {
      if (timing === 'before') await hook();
      if (timing === 'after') {
        const read: SnapshotBatch[] = [];
        for await (const batch of real.readPartition(namespace, options)) read.push(batch);
        await hook();
        for (const batch of read) {
          counted();
          yield batch;
        }
        return;
      }
      let index = 0;
      for await (const batch of real.readPartition(namespace, options)) {
        index += 1;
        if (index === DURING_BATCH && timing !== 'before') await hook();
        counted();
        yield batch;
      }
    },
  };
}

/** Forwards to the real destination, logging (and, for a control, rewriting) the rows it inserts. */
function recordingDestination(
  real: Destination,
  id: string,
  log: { arrivals: Arrival[]; inserts: Insert[] },
  tamper: Tamper | undefined,
): Destination {
  const record = (rows: DestinationRow[]) => {
    const from = rows.every((row) => isSnapshotRow(row, tamper)) ? 'snapshot' : 'cdc';
    log.inserts.push({ from, ids: rows.map((row) => row._id) });
    for (const row of rows) {
      if (row._id !== id) continue;
      log.arrivals.push({
        from: isSnapshotRow(row, tamper) ? 'snapshot' : 'cdc',
        version: row._peerdb_version,
        deleted: row._peerdb_is_deleted === 1,
        doc: row.doc,
      });
    }
  };
  // The snapshot's and CDC's bodies: read back into rows to log them; sent as they are unless tampered with.
  const insertEncoded = async (batch: EncodedInsertBatch) => {
    const rows = rowsOfBody(batch.table, batch.body).map((row) => tampered(row, tamper));
    record(rows);
    if (tamper === undefined) return real.insertEncoded(batch);
    return real.insertEncoded({ ...batch, body: bodyOfRows(rows, bodyIsJsonNative(batch.body)) });
  };
  // A streamed body is read whole first (its rows logged when it has ended, as ClickHouse would
  // take them), then sent on.
  const insertStreamed = async (batch: StreamedInsertBatch) => {
    const chunks: Uint8Array[] = [];
    for await (const chunk of batch.body) chunks.push(chunk);
    const rows = rowsOfBody(batch.table, chunks).map((row) => tampered(row, tamper));
    record(rows);
    const body = tamper === undefined ? chunks : bodyOfRows(rows, bodyIsJsonNative(chunks));
    return real.insertStreamed({ ...batch, body: inOrder(body) });
  };
  return new Proxy(real, {
    get(target, property) {
      if (property === 'insertEncoded') return insertEncoded;
      if (property === 'insertStreamed') return insertStreamed;
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

async function* inOrder(chunks: readonly Uint8Array[]): AsyncGenerator<Uint8Array> {
  yield* chunks;
}

const SNAPSHOT_ROWS = new WeakSet<DestinationRow>();

function tampered(row: DestinationRow, tamper: Tamper | undefined): DestinationRow {
  const fromSnapshot = row._peerdb_version === 0n;
  let out = row;
  if (tamper === 'cdc-version-zero' && !fromSnapshot) out = { ...row, _peerdb_version: 0n };
  if (tamper === 'snapshot-version-max' && fromSnapshot) out = { ...row, _peerdb_version: UINT64_MAX };
  if (fromSnapshot) SNAPSHOT_ROWS.add(out);
  return out;
}

/** Tampering changes versions, so under a control the rows are told apart by what they were. */
function isSnapshotRow(row: DestinationRow, tamper: Tamper | undefined): boolean {
  return tamper === undefined ? row._peerdb_version === 0n : SNAPSHOT_ROWS.has(row);
}

/** CDC batches until exactly `expected` events were applied (bounded), each its own short run. */
async function cdcPass(pipe: PipeUnderTest, parts: EngineParts, expected: number): Promise<void> {
  let events = 0;
  for (let batch = 0; batch < 20 && events < expected; batch += 1) {
    const result = await cdcBatch(
      { store: parts.store, source: parts.changeSource, destination: parts.destination, clock: systemClock },
      {
        pipeId: pipe.pipeId,
        holder: 'order',
        budget: { deadline: Date.now() + 20_000, safetyMarginMs: 5_000 },
        maxWaitMs: 50,
      },
    );
    if (result.status === 'skipped') throw new Error(`CDC batch skipped: ${result.reason}`);
    events += result.events;
  }
  if (events !== expected) throw new Error(`CDC applied ${events} events, expected ${expected}`);
}

/** What the snapshot row of the changed `_id` must hold: the document as the read found it. */
function snapshotSees(c: Case, run: CaseRun): Document | null {
  const readsNewState = c.timing === 'before' || c.timing === 'during-unread';
  return readsNewState ? run.after : run.before;
}

function expectedSequence(c: Case, snapshotRow: boolean): Arrival['from'][] {
  if (!snapshotRow) return ['cdc'];
  return c.order === 'cdc-first' ? ['cdc', 'snapshot'] : ['snapshot', 'cdc'];
}

/** Consecutive arrivals from the same side count once (a split CDC pass is still "CDC"). */
function sequenceOf(arrivals: Arrival[]): Arrival['from'][] {
  return arrivals.map((a) => a.from).filter((from, i, all) => i === 0 || all[i - 1] !== from);
}

const hashOfDocument = (document: Document) => hashOf(documentToJson(document));

describe('snapshot and CDC in either order, for every change kind and timing (embedded ClickHouse)', () => {
  let world: World;

  beforeAll(async () => {
    world = await startWorld();
  });
  afterAll(async () => {
    await world?.stop();
  });

  it('builds every kind × timing × order case', () => {
    expect(CASES).toHaveLength(KINDS.length * TIMINGS.length * ORDERS.length);
    expect(CASES).toHaveLength(40);
  });

  for (const c of CASES) {
    it(`${c.kind}, ${c.timing}, ${c.order}`, async () => {
      const run = await runCase(world, c);
      const table = run.pipe.tables[0] as PipeUnderTest['tables'][number];

      // The interleaving happened as designed.
      expect(run.hookRuns).toBe(1);
      expect(run.snapshotBatches).toBeGreaterThanOrEqual(4);
      expect(run.before !== null).toBe(c.kind !== 'insert');
      expect(run.after !== null).toBe(LIVE_AFTER[c.kind]);
      const seen = snapshotSees(c, run);
      const snapshotRows = run.arrivals.filter((a) => a.from === 'snapshot');
      expect(snapshotRows.map((a) => hashOf(a.doc))).toEqual(seen ? [hashOfDocument(seen)] : []);
      expect(sequenceOf(run.arrivals)).toEqual(expectedSequence(c, seen !== null));
      // The same order against the snapshot insert covering the `_id`'s place in the partition
      // (the first one holding an `_id` ≥ it), which also places the cases without a snapshot row.
      const covering = run.inserts.findIndex(
        (insert) => insert.from === 'snapshot' && insert.ids.some((other) => Number(other) >= run.targetId),
      );
      const cdcInserts = run.inserts.flatMap((insert, index) =>
        insert.from === 'cdc' && insert.ids.includes(run.id) ? [index] : [],
      );
      expect(covering).toBeGreaterThanOrEqual(0);
      expect(cdcInserts.length).toBeGreaterThan(0);
      if (c.order === 'cdc-first') expect(Math.max(...cdcInserts)).toBeLessThan(covering);
      else expect(Math.min(...cdcInserts)).toBeGreaterThan(covering);

      // The changed document: exactly MongoDB's content, or gone; and a CDC row is what shows.
      const live = await world.destination.readLiveRows({ database: DATABASE, table: table.target });
      const row = live.find((candidate) => candidate._id === run.id);
      if (run.after === null) expect(row).toBeUndefined();
      else {
        expect(row).toBeDefined();
        expect(hashOf(row?.doc ?? '{}')).toBe(hashOfDocument(run.after));
        // The newest CDC row of the `_id` is the one FINAL shows, never the snapshot row.
        expect(row?._peerdb_version).toBe(run.arrivals.filter((a) => a.from === 'cdc').at(-1)?.version);
        expect(row?._peerdb_version).toBeGreaterThan(0n);
      }

      // The whole table.
      const comparison = await compareTable(world, table);
      expect(comparison).toMatchObject({ missing: [], extra: [], different: [], duplicated: [] });
      expect(comparison.clickhouseCount).toBe(comparison.mongoCount);
      expect(comparison.mongoCount).toBe(
        SEED_IDS.length + (c.kind === 'insert' ? 1 : c.kind === 'delete' ? -1 : 0),
      );
    });
  }

  it('negative control: CDC rows forced to version 0 lose to a stale snapshot row that lands after them', async () => {
    const c: Case = { kind: 'update', timing: 'during-read', order: 'cdc-first' };
    const run = await runCase(world, c, 'cdc-version-zero');
    expect(sequenceOf(run.arrivals)).toEqual(['cdc', 'snapshot']);
    const comparison = await compareTable(world, run.pipe.tables[0] as PipeUnderTest['tables'][number]);
    expect(comparison.different).toEqual([run.id]);
  });

  it('negative control: a snapshot row with the highest version hides a later CDC delete', async () => {
    const c: Case = { kind: 'delete', timing: 'after', order: 'snapshot-first' };
    const run = await runCase(world, c, 'snapshot-version-max');
    expect(sequenceOf(run.arrivals)).toEqual(['snapshot', 'cdc']);
    const comparison = await compareTable(world, run.pipe.tables[0] as PipeUnderTest['tables'][number]);
    expect(comparison.extra).toEqual([run.id]);
  });
});

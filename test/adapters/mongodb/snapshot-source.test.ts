import {
  BSON,
  type CommandStartedEvent,
  Decimal128,
  type Document,
  Double,
  Int32,
  Long,
  MaxKey,
  MinKey,
  MongoClient,
  ObjectId,
} from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeCheckpoint } from '../../../functions/adapters/mongodb/id-values.js';
import { ReplyFilters } from '../../../functions/adapters/mongodb/reply-filters.js';
import {
  DESERIALIZE_OPTIONS,
  MongoSnapshotSource,
} from '../../../functions/adapters/mongodb/snapshot-source.js';
import { SourceFatalError } from '../../../functions/core/errors.js';
import type { PartitionBounds } from '../../../functions/core/partition-plan.js';
import type { SnapshotBatch, SnapshotReadOptions, SourceNamespace } from '../../../functions/ports/source.js';
import { countBy, firstIds, keyedDocuments, type SourceFixture, startSource } from './fixtures.js';

const DB = 'snap';
/** The checkpoint of a date beyond ±8.64e15 ms (the driver decodes it to an Invalid Date). */
const FAR_DATE = '{"$date":{"$numberLong":"9223372036854775807"}}';
const COUNT = 3000;
const TARGET = 500;

let source: SourceFixture;
let reader: MongoSnapshotSource;

/** `_id` generators per collection, each with the planner strategy it should get. */
const COLLECTIONS: Record<string, { id: (i: number) => unknown; strategy: string }> = {
  oid: { id: (i) => ObjectId.createFromTime(1_700_000_000 + i * 37), strategy: 'objectId-range' },
  int: { id: (i) => new Int32((i * 7919) % COUNT), strategy: 'integer-range' },
  long: { id: (i) => Long.fromString('9007199254740993').add(i * 3), strategy: 'integer-range' },
  double: { id: (i) => new Double(i * 1.5 + 0.25), strategy: 'double-range' },
  string: { id: (i) => `user-${((i * 7919) % COUNT).toString(36)}-é`, strategy: 'string-quantiles' },
  mixed: {
    id: (i) => [new Int32(i), `s${i}`, { a: i }, new Double(i + 0.5), new Date(i)][i % 5],
    strategy: 'single',
  },
  compound: { id: (i) => ({ tenant: i % 7, seq: i }), strategy: 'single' },
};

async function readAll(
  namespace: SourceNamespace,
  bounds: PartitionBounds,
  options: { checkpoint?: string | null; maxRows?: number; maxBytes?: number; end?: string | null } = {},
): Promise<SnapshotBatch[]> {
  const batches: SnapshotBatch[] = [];
  for await (const batch of reader.readPartition(namespace, {
    bounds,
    checkpoint: options.checkpoint ?? null,
    maxRows: options.maxRows ?? 200,
    maxBytes: options.maxBytes ?? 1 << 20,
    end: options.end,
  })) {
    // The checkpoint decodes only the last `_id`: the same text the whole document's decode gives.
    const last = BSON.deserialize(batch.documents.at(-1) as Uint8Array, DESERIALIZE_OPTIONS);
    expect(batch.checkpoint).toBe(encodeCheckpoint(last._id));
    batches.push(batch);
  }
  return batches;
}

/** A partition read by a client of its own that notes each find it sends: the keys read, and those finds. */
async function monitoredRead(
  namespace: SourceNamespace,
  options: Partial<SnapshotReadOptions> & Pick<SnapshotReadOptions, 'bounds'>,
) {
  const client = new MongoClient(source.rs.uri, { monitorCommands: true });
  const finds: CommandStartedEvent[] = [];
  client.on('commandStarted', (event) => {
    if (event.commandName === 'find') finds.push(event);
  });
  try {
    const keys: string[] = [];
    const read = { checkpoint: null, maxRows: 5000, maxBytes: 1 << 20, ...options };
    for await (const batch of new MongoSnapshotSource(client).readPartition(namespace, read))
      keys.push(...batch.documents.map(keyOf));
    return { keys, finds };
  } finally {
    await client.close();
  }
}

/** The `key` field of raw documents (the batches hold BSON bytes). */
const keyOf = (raw: Uint8Array): string => BSON.deserialize(raw).key as string;
const keysOf = (batches: SnapshotBatch[]): string[] => batches.flatMap((batch) => batch.documents.map(keyOf));

beforeAll(async () => {
  source = await startSource();
  reader = new MongoSnapshotSource(source.client);
  for (const [name, { id }] of Object.entries(COLLECTIONS)) {
    const docs = [...Array(COUNT)].map((_, i) => ({
      _id: id(i),
      key: `${name}-${i}`,
      pad: 'x'.repeat(i % 50),
    }));
    await source.client
      .db(DB)
      .collection(name)
      .insertMany(docs as never[]);
  }
}, 120_000);

afterAll(async () => {
  await source?.stop();
});

describe('MongoSnapshotSource', () => {
  for (const [name, { strategy }] of Object.entries(COLLECTIONS)) {
    it(`plans ${name} _ids (${strategy}) and reads every document exactly once across partitions`, async () => {
      const namespace = { db: DB, coll: name };
      const plan = await reader.planPartitions(namespace, {
        targetRowsPerPartition: TARGET,
        sampleSize: 300,
      });
      expect(plan.strategy).toBe(strategy);
      expect(plan.estimatedCount).toBe(COUNT);
      if (strategy !== 'single') expect(plan.partitions.length).toBeGreaterThan(2);
      const keys: string[] = [];
      for (const bounds of plan.partitions) {
        const batches = await readAll(namespace, bounds);
        for (const batch of batches) expect(batch.documents.length).toBeLessThanOrEqual(200);
        keys.push(...keysOf(batches));
      }
      expect(keys).toHaveLength(COUNT);
      expect(new Set(keys).size).toBe(COUNT);
    });
  }

  /** Plans an ObjectId collection, then adds `_id`s of other types, as concurrent inserts would. */
  async function readWithStrangers(
    coll: string,
    strangers: unknown[],
  ): Promise<{ keys: string[]; first: string[]; last: string[] }> {
    const namespace = { db: DB, coll };
    const collection = source.client.db(DB).collection(coll);
    await collection.insertMany(
      [...Array(COUNT)].map((_, i) => ({ _id: ObjectId.createFromTime(1_600_000_000 + i), key: `oid-${i}` })),
    );
    const plan = await reader.planPartitions(namespace, { targetRowsPerPartition: TARGET });
    expect(plan.strategy).toBe('objectId-range');
    await collection.insertMany(strangers.map((id, i) => ({ _id: id, key: `stranger-${i}` })) as never[]);
    const perPartition: string[][] = [];
    for (const bounds of plan.partitions) perPartition.push(keysOf(await readAll(namespace, bounds)));
    return {
      keys: perPartition.flat(),
      first: perPartition[0] ?? [],
      last: perPartition[perPartition.length - 1] ?? [],
    };
  }

  it('covers _ids of other types inserted after planning (open ends reach across type brackets)', async () => {
    const strangers = [
      new Double(-2.5),
      new Int32(5),
      Long.fromNumber(1e15),
      'text',
      { a: 1 },
      true,
      new Date(0),
    ];
    const { keys, first, last } = await readWithStrangers('late', strangers);
    expect(keys).toHaveLength(COUNT + strangers.length);
    expect([...countBy(keys, (key) => key).values()].every((count) => count === 1)).toBe(true);
    expect(first.slice(0, 5)).toEqual(['stranger-0', 'stranger-1', 'stranger-2', 'stranger-3', 'stranger-4']);
    expect(last.slice(-2)).toEqual(['stranger-5', 'stranger-6']);
  });

  it('covers MinKey, Binary, Timestamp and MaxKey _ids too', async () => {
    const strangers = [
      new MinKey(),
      new BSON.Binary(Buffer.from('bin')),
      new BSON.Timestamp({ t: 1, i: 1 }),
      new MaxKey(),
    ];
    const { keys, first, last } = await readWithStrangers('late-bson', strangers);
    expect(keys).toHaveLength(COUNT + strangers.length);
    expect(first.slice(0, 2)).toEqual(['stranger-0', 'stranger-1']);
    expect(last.slice(-2)).toEqual(['stranger-2', 'stranger-3']);
  });

  it('reads every _id one reply at a time, across type brackets (a NaN _id among them)', async () => {
    const ids = [
      new Double(Number.NaN),
      new Double(-5),
      new Int32(1),
      Long.fromNumber(2),
      'a',
      'b',
      new Date(3),
    ];
    const collection = source.client.db(DB).collection('one-by-one');
    await collection.insertMany(keyedDocuments(ids));
    // maxRows 1: each reply is one document, so each later `_id` is found by the filter after the last.
    const batches = await readAll(
      { db: DB, coll: 'one-by-one' },
      { lower: null, upper: null },
      { maxRows: 1 },
    );
    expect(keysOf(batches)).toEqual(ids.map((_, i) => `k${i}`));
  });

  describe('NaN _ids (no $lt/$lte/$gt/$gte with a number matches NaN, though it sorts first)', () => {
    const NANS: [string, unknown][] = [
      ['double', new Double(Number.NaN)],
      ['decimal', Decimal128.fromString('NaN')],
    ];
    /** A collection of `_id`s NaN, 1, 2, 3, 'a', named after the NaN's type. */
    async function withNaN(kind: string, nan: unknown): Promise<SourceNamespace> {
      const namespace = { db: DB, coll: `nan-${kind}` };
      const ids = [nan, new Int32(1), new Int32(2), new Int32(3), 'a'];
      const collection = source.client.db(DB).collection(namespace.coll);
      await collection.insertMany(keyedDocuments(ids));
      return namespace;
    }
    const ALL = ['k0', 'k1', 'k2', 'k3', 'k4'];

    for (const [kind, nan] of NANS) {
      it(`reads a ${kind} NaN _id in an open-ended partition, bounded by its largest _id`, async () => {
        const namespace = await withNaN(kind, nan);
        const unbounded = { lower: null, upper: null };
        expect(keysOf(await readAll(namespace, unbounded))).toEqual(ALL);
        expect(keysOf(await readAll(namespace, unbounded, { maxRows: 1 }))).toEqual(ALL);
        // Largest `_id` a number: the end bound is `$lte: 3`, which NaN does not match.
        await source.client
          .db(DB)
          .collection(namespace.coll)
          .deleteOne({ _id: 'a' as never });
        expect(keysOf(await readAll(namespace, unbounded))).toEqual(ALL.slice(0, 4));
      });

      it(`puts a ${kind} NaN _id in exactly one partition of a plan split at a number`, async () => {
        const namespace = await withNaN(`${kind}-split`, nan);
        const split = { type: 'integer', value: '2' } as const;
        const first = keysOf(await readAll(namespace, { lower: null, upper: split }));
        const last = keysOf(await readAll(namespace, { lower: split, upper: null }));
        expect(first).toEqual(['k0', 'k1']);
        expect(last).toEqual(['k2', 'k3', 'k4']);
        const inner = keysOf(
          await readAll(namespace, { lower: { type: 'double', value: -1 }, upper: split }),
        );
        expect(inner).toEqual(['k1']);
      });

      it(`resumes after a ${kind} NaN checkpoint with every number after it`, async () => {
        const namespace = await withNaN(`${kind}-resume`, nan);
        const checkpoint = encodeCheckpoint(nan);
        const bounds = { lower: null, upper: null };
        expect(keysOf(await readAll(namespace, bounds, { checkpoint }))).toEqual(ALL.slice(1));
        const firstPartition = { lower: null, upper: { type: 'integer', value: '3' } } as const;
        expect(keysOf(await readAll(namespace, firstPartition, { checkpoint, maxRows: 1 }))).toEqual([
          'k1',
          'k2',
        ]);
      });
    }
  });

  describe('_ids the driver cannot send back as read', () => {
    const FOREVER = '{"$date":{"$numberLong":"9223372036854775807"}}';

    it('reads without the end bound past a largest _id that is a date beyond the JS range, and ends on it', () => {
      // js-bson decodes it to an Invalid Date, which it would send as date 0: `$lte` date 0.
      const filters = new ReplyFilters({ lower: null, upper: null }, null, {
        id: new Date(Number.NaN),
        checkpoint: FOREVER,
      });
      expect(filters.filter()).toEqual({});
      filters.answered(encodeCheckpoint(new Date(5)));
      expect(filters.filter()).toEqual({ _id: { $gt: new Date(5) } });
      filters.answered(FOREVER);
      expect(filters.filter()).toBeNull();
      // Resumed at that `_id` (its batch stored, the partition not yet marked done): read.
      const resumed = new ReplyFilters({ lower: null, upper: null }, FOREVER, {
        id: new Date(Number.NaN),
        checkpoint: FOREVER,
      });
      expect(resumed.filter()).toBeNull();
    });

    it('reads without the end bound past a largest _id that decodes as a DBRef (a DBPointer does too)', () => {
      const ref = new BSON.DBRef('other', new ObjectId());
      const filters = new ReplyFilters({ lower: null, upper: null }, null, { id: ref });
      expect(filters.filter()).toEqual({});
      const nested = new ReplyFilters({ lower: null, upper: null }, null, { id: { list: [1, ref] } });
      expect(nested.filter()).toEqual({});
    });

    it('treats a compound _id holding such a date alike: no end bound, a clear error past it', () => {
      const compound = { at: new Date(Number.NaN) };
      const text = encodeCheckpoint(compound);
      expect(text).toBe('{"at":{"$date":{"$numberLong":"NaN"}}}');
      const filters = new ReplyFilters({ lower: null, upper: null }, null, {
        id: compound,
        checkpoint: text,
      });
      expect(filters.filter()).toEqual({});
      filters.answered(text);
      expect(filters.filter()).toBeNull();
      const past = new ReplyFilters({ lower: null, upper: null }, text, null, 'snap.compound');
      expect(() => past.filter()).toThrow(SourceFatalError);
      expect(() => past.filter()).toThrow(/snap\.compound past _id \{"at"/);
    });

    it('refuses, naming the _id and the collection, to go on past a date beyond the JS range', () => {
      const filters = new ReplyFilters({ lower: null, upper: null }, FOREVER, null, 'snap.dates');
      expect(() => filters.filter()).toThrow(SourceFatalError);
      expect(() => filters.filter()).toThrow(
        /snap\.dates past _id \{"\$date":\{"\$numberLong":"9223372036854775807"\}\}/,
      );
    });
  });

  describe('a read to a given end (a replayed batch)', () => {
    const UNBOUNDED = { lower: null, upper: null };
    const at = (id: number) => encodeCheckpoint(new Int32(id));

    /** `_id`s 0, 2, …, 38 (keys k0…k38); then 9 inside (4, 26] and 27, 'late' past 26. */
    async function evens(coll: string): Promise<SourceNamespace> {
      const collection = source.client.db(DB).collection(coll);
      const ids = Array.from({ length: 20 }, (_, i) => i * 2);
      await collection.insertMany(ids.map((id) => ({ _id: new Int32(id) as never, key: `k${id}` })));
      return { db: DB, coll };
    }
    async function insertDuringReplay(namespace: SourceNamespace): Promise<void> {
      const late = [new Int32(9), new Int32(27), 'late'];
      await source.client
        .db(DB)
        .collection(namespace.coll)
        .insertMany(late.map((_id) => ({ _id: _id as never, key: `k${String(_id)}` })));
    }
    const REPLAYED = ['k6', 'k8', 'k9', 'k10', 'k12', 'k14', 'k16', 'k18', 'k20', 'k22', 'k24', 'k26'];

    it('yields the documents after the checkpoint through end, in order, in pieces, and none after', async () => {
      const namespace = await evens('replay-open');
      await insertDuringReplay(namespace);
      for (const maxRows of [1, 3, 5, 1000]) {
        const batches = await readAll(namespace, UNBOUNDED, { checkpoint: at(4), end: at(26), maxRows });
        expect(keysOf(batches)).toEqual(REPLAYED);
        expect(batches.at(-1)?.checkpoint).toBe(at(26));
        for (const batch of batches) expect(batch.documents.length).toBeLessThanOrEqual(maxRows);
        if (maxRows < REPLAYED.length) expect(batches.length).toBeGreaterThan(1);
      }
      const fromStart = await readAll(namespace, UNBOUNDED, { end: at(2), maxRows: 1 });
      expect(keysOf(fromStart)).toEqual(['k0', 'k2']);
    });

    it('honours both the end and the upper bound of a bounded partition', async () => {
      const namespace = await evens('replay-bounded');
      await insertDuringReplay(namespace);
      const bounds = {
        lower: { type: 'integer', value: '2' },
        upper: { type: 'integer', value: '30' },
      } as const;
      // maxRows 5: an in-bracket reply (after 20) would run past 26 were it not bounded there.
      for (const maxRows of [1, 5, 1000]) {
        const batches = await readAll(namespace, bounds, { checkpoint: at(4), end: at(26), maxRows });
        expect(keysOf(batches)).toEqual(REPLAYED);
      }
      const first = { lower: null, upper: { type: 'integer', value: '30' } } as const;
      expect(keysOf(await readAll(namespace, first, { checkpoint: at(4), end: at(26), maxRows: 2 }))).toEqual(
        REPLAYED,
      );
    });

    it('goes to an end of another type bracket than the checkpoint', async () => {
      const namespace = { db: DB, coll: 'replay-brackets' };
      const ids = [new Int32(1), new Int32(2), new Int32(3), 'a', 'b', 'c', new ObjectId(), new Date(1)];
      await source.client.db(DB).collection(namespace.coll).insertMany(keyedDocuments(ids));
      const end = encodeCheckpoint('b');
      for (const maxRows of [1, 2, 1000]) {
        const batches = await readAll(namespace, UNBOUNDED, { checkpoint: at(1), end, maxRows });
        expect(keysOf(batches)).toEqual(['k1', 'k2', 'k3', 'k4']);
      }
      const split = { lower: null, upper: { type: 'string', value: 'c' } } as const;
      expect(keysOf(await readAll(namespace, split, { checkpoint: at(1), end: at(3), maxRows: 1 }))).toEqual([
        'k1',
        'k2',
      ]);
    });

    it('does not ask an open-ended partition for its largest _id', async () => {
      const namespace = await evens('replay-no-largest');
      const { keys, finds } = await monitoredRead(namespace, {
        bounds: UNBOUNDED,
        checkpoint: at(4),
        end: at(10),
        maxRows: 2,
      });
      expect(keys).toEqual(['k6', 'k8', 'k10']);
      // Every find reads forward from the checkpoint: none is the `{_id: -1}` largest-`_id` query.
      const sorts = finds.map((find) => find.command.sort);
      expect(sorts.length).toBeGreaterThan(0);
      for (const sort of sorts) expect(sort).toEqual({ _id: 1 });
    });

    it('yields nothing when the end is the checkpoint', async () => {
      const namespace = await evens('replay-empty');
      expect(await readAll(namespace, UNBOUNDED, { checkpoint: at(10), end: at(10) })).toEqual([]);
      const bounds = {
        lower: { type: 'integer', value: '0' },
        upper: { type: 'integer', value: '30' },
      } as const;
      expect(await readAll(namespace, bounds, { checkpoint: at(10), end: at(10) })).toEqual([]);
    });

    it('cuts each reply at an end no filter can name, and stops there', async () => {
      // A DBRef `_id` is one the filters leave out (a DBPointer decodes as one); the simulator
      // cannot hold a date beyond ±8.64e15 ms (it decodes and re-encodes values), which is below.
      const namespace = { db: DB, coll: 'replay-unsendable' };
      const ref = new BSON.DBRef('other', ObjectId.createFromTime(1));
      const ids = [new Int32(1), 'a', { z: new Int32(1) }, ref, new ObjectId(), new Date(1)];
      await source.client.db(DB).collection(namespace.coll).insertMany(keyedDocuments(ids));
      for (const maxRows of [1, 2, 3, 1000]) {
        const batches = await readAll(namespace, UNBOUNDED, {
          checkpoint: at(1),
          end: encodeCheckpoint(ref),
          maxRows,
        });
        expect(keysOf(batches)).toEqual(['k1', 'k2', 'k3']);
      }
      // A date beyond ±8.64e15 ms as the end: the filters go without it and cut at its text.
      const far = new ReplyFilters(UNBOUNDED, null, { id: new Date(Number.NaN), checkpoint: FAR_DATE });
      expect(far.filter()).toEqual({});
      expect(far.endToCut).toBe(FAR_DATE);
      expect(new ReplyFilters(UNBOUNDED, null, { id: 'm' }).endToCut).toBeNull();
    });

    it('takes an end holding a date the driver lost (no Extended JSON) as one no filter can name', async () => {
      const namespace = { db: DB, coll: 'replay-lost-date' };
      const ids = [{ at: new Date(1) }, { at: new Date(2) }];
      await source.client.db(DB).collection(namespace.coll).insertMany(keyedDocuments(ids));
      // `{at: <date beyond the range>}` sorts after both: the read goes through them, unbounded.
      const end = '{"at":{"$date":{"$numberLong":"NaN"}}}';
      expect(keysOf(await readAll(namespace, UNBOUNDED, { end }))).toEqual(['k0', 'k1']);
      // The end is used, not dropped: an end ignored would have the read ask for the largest `_id`.
      const { finds } = await monitoredRead(namespace, { bounds: UNBOUNDED, end, maxRows: 1 });
      const sorts = finds.map((find) => find.command.sort);
      expect(sorts.length).toBeGreaterThan(0);
      for (const sort of sorts) expect(sort).toEqual({ _id: 1 });
    });
  });

  it('reads an open-ended partition up to its largest _id when the read began, not what is inserted since', async () => {
    const collection = source.client.db(DB).collection('tail');
    await collection.insertMany(
      Array.from({ length: 10 }, (_, i) => ({ _id: new Int32(i) as never, key: `k${i}` })),
    );
    const keys: string[] = [];
    let inserted = 10;
    for await (const batch of reader.readPartition(
      { db: DB, coll: 'tail' },
      {
        bounds: { lower: { type: 'integer', value: '5' }, upper: null },
        checkpoint: null,
        maxRows: 1,
        maxBytes: 1 << 20,
      },
    )) {
      keys.push(...batch.documents.map(keyOf));
      // Each reply is followed by inserts past the end and of later brackets (a string, a date).
      const more = [new Int32(inserted), `s${inserted}`, new Date(inserted)];
      await collection.insertMany(more.map((_id) => ({ _id: _id as never, key: `late${inserted}` })));
      inserted += 1;
      expect(inserted).toBeLessThan(30);
    }
    expect(keys).toEqual(['k5', 'k6', 'k7', 'k8', 'k9']);
    const empty = await readAll({ db: DB, coll: 'nothing-here' }, { lower: null, upper: null });
    expect(empty).toEqual([]);
  });

  it('bounds every reply of an open-ended partition by its largest _id, and ends on reading it', () => {
    const filters = new ReplyFilters({ lower: null, upper: null }, null, { id: 'm' });
    // Up to 'm' in the full order: strings to 'm' and every bracket below the strings.
    expect(filters.filter()).toEqual({
      $or: [
        { _id: { $lte: 'm' } },
        { _id: { $type: ['minKey', 'undefined', 'null', 'double', 'int', 'long', 'decimal'] } },
      ],
    });
    // A bracket below the last `_id`'s ends before it: no upper bound in its range.
    filters.answered(encodeCheckpoint(new Int32(5)));
    expect(filters.filter()).toEqual({ _id: { $gt: new Int32(5) } });
    filters.answered(null);
    expect(Object.keys(filters.filter() ?? {})).toEqual(['$and']);
    filters.answered(encodeCheckpoint('a'));
    expect(filters.filter()).toEqual({ _id: { $gt: 'a', $lte: 'm' } });
    filters.answered(encodeCheckpoint('m'));
    expect(filters.filter()).toBeNull();
  });

  it("asks for the next reply within the last _id's bracket, then across brackets, then ends", () => {
    const filters = new ReplyFilters({ lower: null, upper: null }, null);
    expect(filters.filter()).toEqual({});
    filters.answered(encodeCheckpoint(new Int32(5)));
    expect(filters.filter()).toEqual({ _id: { $gt: new Int32(5) } });
    filters.answered(null);
    expect(filters.filter()).toHaveProperty('$or');
    // `$gt: NaN` matches no number in MongoDB: after NaN come all the numbers but NaN.
    filters.answered(encodeCheckpoint(new Double(Number.NaN)));
    expect(filters.filter()).toEqual({ _id: { $gte: Number.NEGATIVE_INFINITY } });
    filters.answered(null);
    expect(filters.filter()).toHaveProperty('$or');
    filters.answered(null);
    expect(filters.filter()).toBeNull();
    const bounded = new ReplyFilters(
      { lower: { type: 'integer', value: '0' }, upper: { type: 'integer', value: '100' } },
      encodeCheckpoint(new Int32(7)),
    );
    expect(Object.keys(bounded.filter() ?? {})).toEqual(['$and']);
    bounded.answered(encodeCheckpoint(new Int32(9)));
    expect(bounded.filter()).toMatchObject({ _id: { $gt: new Int32(9) } });
    expect(Object.keys((bounded.filter() as { _id: object })._id)).toEqual(['$gt', '$lt']);
  });

  describe('a reply whose filter the server said is used up (cursor closed short of the limit)', () => {
    const BOUNDED: PartitionBounds = {
      lower: { type: 'integer', value: '0' },
      upper: { type: 'integer', value: '100' },
    };

    it('ends the read after the general filter, with no empty reply to say so', () => {
      const filters = new ReplyFilters({ lower: null, upper: null }, null);
      filters.filter();
      filters.answered(encodeCheckpoint(new Int32(5)), true);
      expect(filters.filter()).toBeNull();
    });

    it('ends a bounded partition after its in-bracket range: the partition holds that bracket only', () => {
      const filters = new ReplyFilters(BOUNDED, null);
      filters.filter();
      filters.answered(encodeCheckpoint(new Int32(9)));
      expect(Object.keys((filters.filter() as { _id: object })._id)).toEqual(['$gt', '$lt']);
      filters.answered(encodeCheckpoint(new Int32(20)), true);
      expect(filters.filter()).toBeNull();
    });

    it("looks past an open-ended partition's used-up bracket with the general filter", () => {
      const filters = new ReplyFilters({ lower: null, upper: null }, null);
      filters.filter();
      filters.answered(encodeCheckpoint(new Int32(5)));
      expect(filters.filter()).toEqual({ _id: { $gt: new Int32(5) } });
      filters.answered(encodeCheckpoint(new Int32(8)), true);
      expect(filters.filter()).toHaveProperty('$or');
      filters.answered(encodeCheckpoint('a'), true);
      expect(filters.filter()).toBeNull();
    });

    it('goes on after a reply that is short but not used up (the reply size cut it)', () => {
      const filters = new ReplyFilters(BOUNDED, null);
      filters.filter();
      filters.answered(encodeCheckpoint(new Int32(9)), false);
      expect(filters.filter()).toMatchObject({ _id: { $gt: new Int32(9) } });
      filters.answered(encodeCheckpoint(new Int32(10)), false);
      expect(filters.filter()).toMatchObject({ _id: { $gt: new Int32(10) } });
    });

    it('reads a bounded partition of fewer documents than a reply with one find', async () => {
      const namespace = { db: DB, coll: 'one-find' };
      await source.client
        .db(DB)
        .collection(namespace.coll)
        .insertMany(keyedDocuments(firstIds(300)));
      const read = await monitoredRead(namespace, {
        bounds: { lower: { type: 'integer', value: '100' }, upper: { type: 'integer', value: '200' } },
      });
      expect(read.keys).toEqual([...Array(100)].map((_, i) => `k${100 + i}`));
      expect(read.finds).toHaveLength(1);
    });

    it('reads on past replies the 16 MiB reply size cut short, losing nothing', async () => {
      const namespace = { db: DB, coll: 'big-documents' };
      const collection = source.client.db(DB).collection(namespace.coll);
      // Three of about 6 MiB do not fit in one reply: each reply holds two at most.
      for (let i = 0; i < 5; i += 1)
        await collection.insertOne({ _id: i as never, key: `k${i}`, body: 'b'.repeat(6 << 20) });
      const read = await monitoredRead(namespace, {
        bounds: { lower: { type: 'integer', value: '0' }, upper: { type: 'integer', value: '10' } },
        maxBytes: 1 << 30,
      });
      expect(read.keys).toEqual(['k0', 'k1', 'k2', 'k3', 'k4']);
      // [k0, k1] and [k2, k3] cut by the reply size, then [k4] short with the cursor closed: the end.
      expect(read.finds).toHaveLength(3);
    });
  });

  it('puts ObjectId, date and number _ids added to a string-split collection in its open ends', async () => {
    const namespace = { db: DB, coll: 'late-strings' };
    const collection = source.client.db(DB).collection(namespace.coll);
    await collection.insertMany(
      [...Array(COUNT)].map((_, i) => ({ _id: `k${i}` as never, key: `str-${i}` })),
    );
    const plan = await reader.planPartitions(namespace, { targetRowsPerPartition: TARGET });
    expect(plan.strategy).toBe('string-quantiles');
    const strangers = [new Int32(1), new ObjectId(), new Date(5), { nested: 'doc' }];
    await collection.insertMany(strangers.map((id, i) => ({ _id: id, key: `stranger-${i}` })) as never[]);
    const perPartition: string[][] = [];
    for (const bounds of plan.partitions) perPartition.push(keysOf(await readAll(namespace, bounds)));
    const keys = perPartition.flat();
    expect(keys).toHaveLength(COUNT + strangers.length);
    expect(new Set(keys).size).toBe(keys.length);
    expect(perPartition[0]?.[0]).toBe('stranger-0');
    expect(perPartition[perPartition.length - 1]?.slice(-3)).toEqual([
      'stranger-3',
      'stranger-1',
      'stranger-2',
    ]);
  });

  it('resumes after a checkpoint, exclusive, whatever the checkpoint _id type', async () => {
    const namespace = { db: DB, coll: 'mixed' };
    const all = keysOf(await readAll(namespace, { lower: null, upper: null }, { maxRows: 1000 }));
    const batches = await readAll(namespace, { lower: null, upper: null }, { maxRows: 700 });
    for (let index = 0; index < batches.length - 1; index++) {
      const checkpoint = (batches[index] as SnapshotBatch).checkpoint;
      const rest = keysOf(
        await readAll(namespace, { lower: null, upper: null }, { checkpoint, maxRows: 1000 }),
      );
      const before = keysOf(batches.slice(0, index + 1));
      expect([...before, ...rest]).toEqual(all);
    }
  });

  it('bounds batches by rows and by BSON bytes, measured as read', async () => {
    const namespace = { db: DB, coll: 'sized' };
    await source.client
      .db(DB)
      .collection(namespace.coll)
      .insertMany(
        [...Array(500)].map((_, i) => ({
          _id: i as never,
          key: `sized-${i}`,
          body: 'y'.repeat(900 + (i % 200)),
        })),
      );
    const maxBytes = 10_000;
    const batches = await readAll(namespace, { lower: null, upper: null }, { maxRows: 1000, maxBytes });
    expect(keysOf(batches)).toHaveLength(500);
    for (const batch of batches) {
      const measured = batch.documents.reduce(
        (sum, raw) => sum + BSON.calculateObjectSize(BSON.deserialize(raw, { promoteValues: false })),
        0,
      );
      expect(batch.bytes).toBe(measured);
      expect(batch.bytes).toBeLessThanOrEqual(maxBytes);
    }
    expect(batches.length).toBeGreaterThan(40);
    const byRows = await readAll(namespace, { lower: null, upper: null }, { maxRows: 7, maxBytes: 1 << 24 });
    expect(byRows.map((batch) => batch.documents.length)).toEqual([...Array(71).fill(7), 3]);
  });

  it('reads from a secondary no earlier than the start point (afterClusterTime)', async () => {
    const client = new MongoClient(source.rs.uri, { monitorCommands: true });
    const finds: { address: string; readConcern: unknown; filter: Document }[] = [];
    client.on('commandStarted', (event) => {
      if (event.commandName === 'find')
        finds.push({
          address: event.address,
          readConcern: event.command.readConcern,
          filter: event.command.filter,
        });
    });
    try {
      const secondaryReader = new MongoSnapshotSource(client, { readPreference: 'secondaryPreferred' });
      const hello = await client.db('admin').command({ hello: 1 });
      const opTime = hello.lastWrite.opTime.ts as BSON.Timestamp;
      const keys: string[] = [];
      for await (const batch of secondaryReader.readPartition(
        { db: DB, coll: 'int' },
        {
          bounds: { lower: null, upper: null },
          checkpoint: null,
          maxRows: 1000,
          maxBytes: 1 << 20,
          afterClusterTime: { seconds: opTime.t, increment: opTime.i },
        },
      )) {
        keys.push(...batch.documents.map(keyOf));
      }
      expect(new Set(keys).size).toBe(COUNT);
      // Each find on a secondary: the open-ended partition's largest `_id` (no filter), then a
      // find per reply of 1000, the first up to that `_id` in the full order, the later ones one
      // range of ints; the reply holding that `_id` ends the read.
      expect(finds.map((find) => Object.keys(find.filter))).toEqual([[], ['$or'], ['_id'], ['_id']]);
      for (const find of finds) {
        expect(find.address).not.toBe(source.rs.primary);
        expect(find.readConcern).toMatchObject({ afterClusterTime: opTime });
      }
    } finally {
      await client.close();
    }
  });

  it('measures partition reader throughput on ~1 KB documents', async () => {
    const namespace = { db: DB, coll: 'bench' };
    const collection = source.client.db(DB).collection(namespace.coll);
    const total = 20_000;
    for (let start = 0; start < total; start += 2000) {
      await collection.insertMany(
        [...Array(2000)].map((_, i) => ({ _id: new ObjectId(), n: start + i, body: 'z'.repeat(1000) })),
      );
    }
    const started = performance.now();
    let documents = 0;
    let bytes = 0;
    for (const batch of await readAll(
      namespace,
      { lower: null, upper: null },
      { maxRows: 5000, maxBytes: 32 << 20 },
    )) {
      documents += batch.documents.length;
      bytes += batch.bytes;
    }
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `partition reader: ${documents} docs, ${(bytes / 1e6).toFixed(1)} MB in ${seconds.toFixed(2)} s = ` +
        `${Math.round(documents / seconds)} docs/s, ${(bytes / 1e6 / seconds).toFixed(1)} MB/s`,
    );
    expect(documents).toBe(total);
    expect(bytes / documents).toBeGreaterThan(1000);
  }, 120_000);
});

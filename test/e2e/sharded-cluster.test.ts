/**
 * Issue #17: a pipe through a sharded cluster's mongos (2 shards × 3 members, 2 mongos, the
 * collections hashed on `_id` but the archive, ranged on `_id`, whose snapshot partitions follow
 * its chunks), through the engines the other e2e tests drive, the real driver,
 * dynalite and the embedded ClickHouse. Snapshot under a write load with a chunk migration in
 * the middle, CDC of inserts/updates/replaces/deletes and cross-shard transactions with a
 * migration, a shard primary step-down and one of the two mongos stopped mid-stream: FINAL
 * equals MongoDB, nothing missing, nothing extra, no `_id` twice among the live rows.
 */
import { createClient } from '@clickhouse/client';
import type { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { preflight, privilegesFor } from '../../functions/adapters/mongodb/preflight.js';
import type { PartitionPlan } from '../../functions/core/partition-plan.js';
import { refuseUnusableSource, sourceChecks } from '../../functions/engines/preflight-source.js';
import type { SnapshotSource } from '../../functions/ports/source.js';
import type { ShardedClusterHandle } from '../../simulator/index.js';
import { type ShardedWorld, startShardedWorld } from '../support/sharded-world.js';
import {
  cdcBatches,
  cdcUntilCaughtUp,
  compareTable,
  DATABASE,
  hurried,
  markReplicating,
  partsOf,
  setUpPipe,
  snapshotAll,
} from './harness.js';
import { type LoadCollection, newId, seedCollections, WriteLoad } from './write-load.js';

const COLLECTIONS: LoadCollection[] = [
  { db: 'shop', coll: 'orders', target: 'orders', idKind: 'objectId' },
  { db: 'shop', coll: 'counters', target: 'counters', idKind: 'int' },
  { db: 'shop', coll: 'users', target: 'users', idKind: 'string' },
];
/**
 * Migrated while the load writes to it: updates made before a move and read after it get their
 * post-image from the document's new shard, looked up by the mongos after the merge (mongodb/mongo
 * jstests/sharding/lookup_change_stream_post_image_*; simulator/README.md). More writes to the
 * moved documents come after each move.
 */
const ARCHIVE: LoadCollection = { db: 'shop', coll: 'archive', target: 'archive', idKind: 'int' };
const PER_COLLECTION = 1_200;

/** Moves a collection's first chunk to the other shard (2 shards), returning the documents it carried. */
async function migrateFirstChunk(cluster: ShardedClusterHandle, ns: string): Promise<unknown> {
  const chunk = cluster.chunks(ns)[0];
  if (!chunk) throw new Error(`no chunk of ${ns}`);
  return cluster.moveChunk(ns, 0, (chunk.shard + 1) % 2);
}

/**
 * The snapshot source, migrating a chunk of `coll` once, after the first batch of that
 * collection has been read and before the next: the read goes on across the move.
 */
function migratingMidRead(inner: SnapshotSource, coll: string, migrate: () => Promise<unknown>) {
  let migration: Promise<unknown> | null = null;
  const source: SnapshotSource = {
    planPartitions: (namespace, options) => inner.planPartitions(namespace, options),
    async *readPartition(namespace, options) {
      for await (const batch of inner.readPartition(namespace, options)) {
        yield batch;
        if (namespace.coll === coll && migration === null) {
          migration = migrate();
          await migration;
        }
      }
    },
  };
  return {
    source,
    result(): Promise<unknown> {
      if (migration === null) throw new Error(`no batch of ${coll} was read: nothing migrated`);
      return migration;
    },
  };
}

/** The snapshot source, keeping each collection's plan (by collection name) as it is made. */
function recordingPlans(inner: SnapshotSource, plans: Map<string, PartitionPlan>): SnapshotSource {
  return {
    async planPartitions(namespace, options) {
      const plan = await inner.planPartitions(namespace, options);
      plans.set(namespace.coll, plan);
      return plan;
    },
    readPartition: (namespace, options) => inner.readPartition(namespace, options),
  };
}

const streamAddresses = new WeakMap<MongoClient, string>();

/** Where the client last opened a change stream (its server's host:port), once it has. */
function lastStreamAddress(client: MongoClient): string | undefined {
  return streamAddresses.get(client);
}

/** Notes each `$changeStream` aggregate's server, so the test can stop the mongos serving it. */
function watchStreamOpens(client: MongoClient): void {
  client.on('commandStarted', (event) => {
    const pipeline = (event.command as { pipeline?: Record<string, unknown>[] }).pipeline;
    if (event.commandName === 'aggregate' && pipeline?.[0]?.$changeStream !== undefined)
      streamAddresses.set(client, event.address);
  });
}

/** Waits (bounded) until a shard has a primary again after a step-down. */
async function waitForPrimary(cluster: ShardedClusterHandle, shard: number): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    if (cluster.shards[shard]?.deployment.topology.primary) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`shard${shard} has no primary after 10 s`);
}

describe('a pipe through a sharded cluster (2 shards × 3 members, 2 mongos)', () => {
  let sharded: ShardedWorld;
  let load: WriteLoad | undefined;

  beforeAll(async () => {
    // Short no-op interval: an idle shard holds a merged stream back until its next no-op.
    sharded = await startShardedWorld({
      noopIntervalMs: 200,
      client: { serverSelectionTimeoutMS: 5_000, monitorCommands: true },
      beforeConnect: watchStreamOpens,
    });
  }, 120_000);
  afterAll(async () => {
    await load?.stop();
    await sharded?.stop();
  }, 60_000);

  it("passes pre-flight through the mongos: each shard's members as it sees them, no oplog asked of it, nothing on local required", async () => {
    const { cluster, world } = sharded;
    await world.mongo.db('shop').collection<{ _id: number }>('preflight').insertOne({ _id: 1 });
    const namespaces = [{ db: 'shop', coll: 'preflight' }];
    const facts = await preflight(cluster.uri, { namespaces, client: world.mongo });
    expect(facts.topology.kind).toBe('sharded');
    const checks = new Map(sourceChecks(facts).map((check) => [check.id, check]));
    expect([...checks.values()].filter((check) => check.status === 'failed')).toEqual([]);
    expect(checks.get('source.topology')?.message).toBe('a sharded cluster (mongos)');
    expect(checks.get('source.changeStream')).toMatchObject({ status: 'passed' });
    expect(checks.get('source.oplog')?.message).toContain("the shortest shard's");
    // Each shard's members as the mongos sees them (connPoolStats), the shards named by listShards.
    const members = checks.get('source.members');
    expect(members).toMatchObject({ status: 'passed' });
    expect(members?.message).toMatch(/^shard0: .*PRIMARY.*; shard1: .*PRIMARY/);
    expect(() => refuseUnusableSource(facts)).not.toThrow();
    const needs = privilegesFor(namespaces, { documentDb: false, topology: facts.topology });
    expect(needs.map((need) => need.db)).not.toContain('local');
    expect(needs.length).toBeGreaterThan(0);
  });

  it('converges through snapshot, CDC, migrations, a shard step-down and a mongos stopped mid-stream', async () => {
    const { cluster, world } = sharded;
    const ids = await seedCollections(world.mongo, COLLECTIONS, PER_COLLECTION);
    // The archive is ranged on _id (the others hashed), so its snapshot partitions follow its
    // chunks: [MinKey,+200) shard0, [+200,+400) shard1, [+400,+1000) shard0, [+1000,MaxKey) shard1.
    const firstArchiveId = (newId('int') as number) + 1;
    cluster.shardCollection('shop.archive', {
      kind: 'ranged',
      splitPoints: [200, 400, 1_000].map((offset) => firstArchiveId + offset),
    });
    const archiveIds = (await seedCollections(world.mongo, [ARCHIVE], PER_COLLECTION)).get(
      ARCHIVE.coll,
    ) as number[];
    ids.set(ARCHIVE.coll, archiveIds);
    const pipe = await setUpPipe(world, [...COLLECTIONS, ARCHIVE], {
      snapshotBatchMaxRows: 250,
      snapshotNumRowsPerPartition: 1_000,
      pullBatchSize: 100,
    });
    const parts = partsOf(world, pipe);
    // The load writes to the archive too, so changes are in flight across both migrations.
    load = new WriteLoad(world.mongo, [...COLLECTIONS, ARCHIVE], ids);
    load.start();
    // A migration while the snapshot copies: its fromMigrate inserts/deletes must not show.
    const plans = new Map<string, PartitionPlan>();
    const migrating = migratingMidRead(recordingPlans(parts.snapshotSource, plans), ARCHIVE.coll, () =>
      migrateFirstChunk(cluster, 'shop.archive'),
    );
    const snapshot = await snapshotAll(pipe, { ...parts, snapshotSource: migrating.source }, hurried());
    const migratedDuringSnapshot = await migrating.result();
    const archivePlan = plans.get(ARCHIVE.coll);
    console.info(`[e2e sharded] archive plan ${archivePlan?.strategy}: ${archivePlan?.reason}`);
    expect(archivePlan?.strategy).toBe('shard-chunks');
    expect(archivePlan?.partitions).toHaveLength(4);
    expect(plans.get('orders')?.reason).toContain('hashed _id shard key');
    await touchArchive(world.mongo, archiveIds, 'after the first move');
    await markReplicating(world.store, pipe);

    const during = await cdcBatches(pipe, parts, 3);
    const migratedDuringCdc = await migrateFirstChunk(cluster, 'shop.archive');
    await touchArchive(world.mongo, archiveIds, 'after the second move');
    await cdcBatches(pipe, parts, 2);
    cluster.stepDownShard(0, 1);
    await waitForPrimary(cluster, 0);
    await cdcBatches(pipe, parts, 2);
    await crossShardTransaction(world.mongo, cluster);
    // The change stream's mongos goes away: the pipe's client lists both and resumes on the other.
    const streamMongos = cluster.mongos.find((mongos) => mongos.name === lastStreamAddress(world.mongo));
    expect(streamMongos).toBeDefined();
    // Stopped while a batch reads (each waits up to 200 ms for changes), not between two batches.
    const reading = cdcBatches(pipe, parts, 3);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await streamMongos?.stop();
    const afterStop = await reading;
    expect(lastStreamAddress(world.mongo)).not.toBe(streamMongos?.name);
    const counts = await load.stop();
    const after = await cdcUntilCaughtUp(pipe, parts);

    const comparisons = await Promise.all(
      [...COLLECTIONS, ARCHIVE].map((collection) => compareTable(world, collection)),
    );
    console.info(
      `[e2e sharded] snapshotRows=${snapshot.rows} partitions=${snapshot.partitions} chunks=${snapshot.chunks} ` +
        `writes=${JSON.stringify(counts)} cdcEvents=${during.events + afterStop.events + after.events} ` +
        `migrations=${JSON.stringify([migratedDuringSnapshot, migratedDuringCdc])} ` +
        `documents=${comparisons.map((c) => `${c.table}:${c.mongoCount}`).join(',')}`,
    );
    expect(counts.transactions).toBeGreaterThan(0);
    for (const migrated of [migratedDuringSnapshot, migratedDuringCdc])
      expect((migrated as { moved: number }).moved).toBeGreaterThan(0);
    expect(afterStop.events + after.events).toBeGreaterThan(0);
    for (const comparison of comparisons) {
      expect(comparison).toMatchObject({ missing: [], extra: [], different: [], duplicated: [] });
      expect(comparison.clickhouseCount).toBe(comparison.mongoCount);
      expect(comparison.mongoCount).toBeGreaterThan(PER_COLLECTION / 2);
      expect(await rowsWrittenTwice(world.clickhouseUrl, comparison.table)).toBe(0);
    }
  }, 300_000);
});

/**
 * Rows without FINAL that share an `_id` and a version: the same change written twice (a
 * migration's copy or a resumed stream's replay would show here before any merge hides it).
 */
async function rowsWrittenTwice(clickhouseUrl: string, table: string): Promise<number> {
  const reader = createClient({ url: clickhouseUrl });
  try {
    const result = await reader.query({
      query: `SELECT count() AS twice FROM (SELECT _id, _peerdb_version FROM ${DATABASE}.${table}
              GROUP BY _id, _peerdb_version HAVING count() > 1)`,
      format: 'JSONEachRow',
    });
    const [row] = await result.json<{ twice: string | number }>();
    return Number(row?.twice ?? -1);
  } finally {
    await reader.close();
  }
}

/** Past the seeded ints (newId counts from 1 000 000), so an insert never meets a seeded `_id`. */
let nextArchiveId = 9_000_000;

/** Updates every tenth archived document, deletes a few and inserts some: all after a migration. */
async function touchArchive(mongo: MongoClient, ids: number[], note: string): Promise<void> {
  const archive = mongo.db(ARCHIVE.db).collection<{ _id: number; note?: string }>(ARCHIVE.coll);
  await archive.updateMany({ _id: { $in: ids.filter((_, n) => n % 10 === 0) } }, { $set: { note } });
  await archive.deleteMany({ _id: { $in: ids.splice(-5) } });
  await archive.replaceOne({ _id: ids[1] }, { note: `replaced ${note}` });
  const inserted = Array.from({ length: 5 }, () => ({ _id: nextArchiveId++, note }));
  await archive.insertMany(inserted);
}

/** One transaction writing documents owned by both shards (checked through the routing table). */
async function crossShardTransaction(mongo: MongoClient, cluster: ShardedClusterHandle): Promise<void> {
  const ids = Array.from({ length: 20 }, (_, n) => `tx-${n}`);
  const owners = new Set(ids.map((id) => cluster.shardOf('shop.users', id)));
  expect(owners.size).toBe(2);
  const session = mongo.startSession();
  try {
    await session.withTransaction(async () => {
      const users = mongo.db('shop').collection<{ _id: string; n: number }>('users');
      await users.insertMany(
        ids.map((id, n) => ({ _id: id, n })),
        { session },
      );
      await users.updateOne({ _id: ids[0] as string }, { $set: { n: -1 } }, { session });
    });
  } finally {
    await session.endSession();
  }
}

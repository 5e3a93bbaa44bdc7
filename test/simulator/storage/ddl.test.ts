import { BSON, type Document } from 'bson';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OplogEntry } from '../../../simulator/contract.js';
import { type StorageHarness, startStorageHarness } from './harness.js';

let h: StorageHarness;

beforeAll(async () => {
  h = await startStorageHarness();
});

afterAll(async () => {
  await h?.stop();
});

function commandEntries(db: string): OplogEntry[] {
  return h.rs.deployment.oplog.all().filter((entry) => entry.op === 'c' && entry.ns === `${db}.$cmd`);
}

function kinds(entries: OplogEntry[]): string[] {
  return entries.map((entry) => Object.keys(entry.o)[0] ?? '');
}

describe('collections', () => {
  it('creates implicitly on first insert, logging create before the insert', async () => {
    const db = h.client.db('ddl_implicit');
    await db.collection('a').insertOne({ x: 1 });
    const entries = h.rs.deployment.oplog.all().filter((e) => e.ns.startsWith('ddl_implicit.'));
    expect(entries.map((e) => e.op)).toEqual(['c', 'i']);
    expect(entries[0]?.o).toMatchObject({ create: 'a', idIndex: { key: { _id: 1 }, name: '_id_' } });
    expect(entries[1]?.ui?.toHexString()).toBe(entries[0]?.ui?.toHexString());
    expect(entries[1]?.o2).toEqual({ _id: entries[1]?.o._id });
  });

  it('lists collections with uuid, filters by name and reports NamespaceExists', async () => {
    const db = h.client.db('ddl_list');
    await db.createCollection('one');
    await db.createCollection('two', { changeStreamPreAndPostImages: { enabled: true } });
    const all = await db.listCollections().toArray();
    expect(all.map((c) => c.name).sort()).toEqual(['one', 'two']);
    const two = all.find((c) => c.name === 'two') as Document;
    expect(two.info.uuid).toBeDefined();
    expect(two.options).toEqual({ changeStreamPreAndPostImages: { enabled: true } });
    expect(await db.listCollections({ name: 'one' }, { nameOnly: true }).toArray()).toEqual([
      { name: 'one', type: 'collection' },
    ]);
    // 7.0 accepts a repeated create with the same options and refuses different ones.
    await db.command({ create: 'one' });
    await expect(db.command({ create: 'one', capped: true, size: 4096 })).rejects.toMatchObject({
      code: 48,
      codeName: 'NamespaceExists',
    });
  });

  it('renames and drops collections and databases with their oplog entries', async () => {
    const db = h.client.db('ddl_rename');
    await db.collection('src').insertMany([{ a: 1 }, { a: 2 }]);
    await db.collection('src').rename('dst');
    expect(await db.collection('dst').countDocuments()).toBe(2);
    expect(await db.collection('src').countDocuments()).toBe(0);
    await db.collection('dst').drop();
    await db.collection('other').insertOne({});
    await db.dropDatabase();
    expect(kinds(commandEntries('ddl_rename'))).toEqual([
      'create',
      'renameCollection',
      'drop',
      'create',
      'drop',
      'dropDatabase',
    ]);
    const rename = commandEntries('ddl_rename')[1] as OplogEntry;
    expect(rename.o).toMatchObject({ renameCollection: 'ddl_rename.src', to: 'ddl_rename.dst' });
    const dbs = await h.client.db('admin').admin().listDatabases();
    expect(dbs.databases.map((d) => d.name)).not.toContain('ddl_rename');
  });

  it('turns on pre-images with collMod and records them on updates and deletes', async () => {
    const db = h.client.db('ddl_images');
    await db.collection('c').insertOne({ _id: 1, v: 1 } as never);
    await db.command({ collMod: 'c', changeStreamPreAndPostImages: { enabled: true } });
    await db.collection('c').updateOne({ _id: 1 } as never, { $set: { v: 2 } });
    await db.collection('c').deleteOne({ _id: 1 } as never);
    const writes = h.rs.deployment.oplog.all().filter((e) => e.ns === 'ddl_images.c');
    const plain = (value: Document | undefined) => (value ? BSON.deserialize(BSON.serialize(value)) : value);
    expect(writes.map((e) => [e.op, plain(e.preImage)])).toEqual([
      ['i', undefined],
      ['u', { _id: 1, v: 1 }],
      ['d', { _id: 1, v: 2 }],
    ]);
    expect(plain(writes[1]?.o)).toEqual({ $v: 2, diff: { u: { v: 2 } } });
    expect(kinds(commandEntries('ddl_images'))).toEqual(['create', 'collMod']);
  });

  it('reports collStats, dbStats and listDatabases sizes from BSON sizes', async () => {
    const db = h.client.db('ddl_stats');
    await db.collection('s').insertMany(Array.from({ length: 10 }, (_, i) => ({ i, pad: 'x'.repeat(100) })));
    const stats = await db.command({ collStats: 's' });
    expect(stats.count).toBe(10);
    expect(stats.size).toBeGreaterThan(10 * 100);
    expect(stats.avgObjSize).toBe(Math.trunc(stats.size / 10));
    expect(stats.nindexes).toBe(1);
    const dbStats = await db.stats();
    expect(dbStats).toMatchObject({ db: 'ddl_stats', collections: 1, objects: 10, dataSize: stats.size });
    const [viaStage] = await db
      .collection('s')
      .aggregate([{ $collStats: { storageStats: {}, count: {} } }])
      .toArray();
    expect(viaStage).toMatchObject({
      ns: 'ddl_stats.s',
      count: 10,
      storageStats: { count: 10, size: stats.size },
    });
    const listed = await h.client.db('admin').admin().listDatabases();
    expect(listed.databases.find((d) => d.name === 'ddl_stats')?.sizeOnDisk).toBeGreaterThan(0);
    await expect(db.command({ collStats: 'missing' })).rejects.toMatchObject({ code: 26 });
  });
});

describe('indexes', () => {
  it('logs createIndexes on an empty collection and a two-phase build on a populated one', async () => {
    const db = h.client.db('ddl_idx');
    await db.createCollection('empty');
    await db.collection('empty').createIndex({ a: 1 }, { name: 'a_1' });
    await db.collection('full').insertMany([{ b: 1 }, { b: 2 }]);
    const result = await db.command({
      createIndexes: 'full',
      indexes: [{ key: { b: 1 }, name: 'b_1', unique: true }],
    });
    expect(result).toMatchObject({
      numIndexesBefore: 1,
      numIndexesAfter: 2,
      createdCollectionAutomatically: false,
    });
    const entries = commandEntries('ddl_idx');
    expect(kinds(entries)).toEqual([
      'create',
      'createIndexes',
      'create',
      'startIndexBuild',
      'commitIndexBuild',
    ]);
    const start = entries[3] as OplogEntry;
    const commit = entries[4] as OplogEntry;
    expect(BSON.deserialize(BSON.serialize({ indexes: start.o.indexes })).indexes).toEqual([
      { v: 2, key: { b: 1 }, name: 'b_1', unique: true },
    ]);
    expect(start.o.indexBuildUUID.toHexString()).toBe(commit.o.indexBuildUUID.toHexString());
    const names = (await db.collection('full').listIndexes().toArray()).map((i) => i.name);
    expect(names).toEqual(['_id_', 'b_1']);
  });

  it('aborts a unique build over duplicates with abortIndexBuild and the 11000 error', async () => {
    const db = h.client.db('ddl_abort');
    await db.collection('c').insertMany([{ k: 'x' }, { k: 'x' }]);
    const error = await db
      .collection('c')
      .createIndex({ k: 1 }, { unique: true })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 11000, keyPattern: { k: 1 }, keyValue: { k: 'x' } });
    const entries = commandEntries('ddl_abort');
    expect(kinds(entries)).toEqual(['create', 'startIndexBuild', 'abortIndexBuild']);
    expect((entries[2] as OplogEntry).o.cause).toMatchObject({
      ok: 0,
      code: 11000,
      codeName: 'DuplicateKey',
    });
    expect((await db.collection('c').listIndexes().toArray()).map((i) => i.name)).toEqual(['_id_']);
  });

  it('enforces unique indexes on later writes and drops indexes', async () => {
    const coll = h.client.db('ddl_unique').collection('u');
    await coll.createIndex({ email: 1 }, { unique: true });
    await coll.insertOne({ email: 'a@x' });
    await expect(coll.insertOne({ email: 'a@x' })).rejects.toMatchObject({
      code: 11000,
      keyPattern: { email: 1 },
      keyValue: { email: 'a@x' },
    });
    await coll.insertOne({ email: 'b@x' });
    await expect(coll.updateOne({ email: 'b@x' }, { $set: { email: 'a@x' } })).rejects.toMatchObject({
      code: 11000,
    });
    await coll.dropIndex('email_1');
    await coll.insertOne({ email: 'a@x' });
    expect(await coll.countDocuments({ email: 'a@x' })).toBe(2);
    await expect(coll.dropIndex('_id_')).rejects.toMatchObject({ code: 72 });
    await expect(coll.dropIndex('nope')).rejects.toMatchObject({ code: 27 });
  });
});

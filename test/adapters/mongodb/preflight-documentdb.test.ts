/**
 * What the MongoDB probe reads from Amazon DocumentDB (the simulator's flavour, through the real
 * driver): it is recognised by `$listChangeStreams`, which also gives the switches; a MongoDB
 * replica set is not taken for it; an authenticated DocumentDB user is not asked for
 * `local.oplog.rs`, and a server that lists no privileges is not judged on them.
 */
import type { Document } from 'mongodb';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { preflight } from '../../../functions/adapters/mongodb/preflight.js';
import { isDocumentDbHost } from '../../../functions/adapters/mongodb/topology.js';
import type { CommandHandler } from '../../../simulator/contract.js';
import { type ReplicaSetHandle, startReplicaSet } from '../../../simulator/index.js';

let documentDb: ReplicaSetHandle;
let mongodb: ReplicaSetHandle;

const namespaces = [{ db: 'shop', coll: 'orders' }];

beforeAll(async () => {
  documentDb = await startReplicaSet({ members: 1, flavor: 'documentdb', noopIntervalMs: 0 });
  mongodb = await startReplicaSet({ members: 1, noopIntervalMs: 0 });
  for (const [handle, retryWrites] of [
    [documentDb, false],
    [mongodb, true],
  ] as const) {
    const client = new MongoClient(handle.uri, { retryWrites });
    try {
      await client.db('shop').collection('orders').insertOne({ total: 1 });
    } finally {
      await client.close();
    }
  }
}, 60_000);

afterAll(async () => {
  await documentDb?.stop();
  await mongodb?.stop();
});

/** Makes `connectionStatus` answer for an authenticated user with these privileges (or none listed). */
function authenticatedAs(handle: ReplicaSetHandle, privileges: Document[] | undefined): void {
  const registry = handle.deployment.registry;
  const lookup = registry.lookup.bind(registry);
  registry.lookup = (name: string): CommandHandler | undefined =>
    name === 'connectionStatus'
      ? () => ({
          authInfo: {
            authenticatedUsers: [{ user: 'etl', db: 'admin' }],
            authenticatedUserRoles: [{ role: 'read', db: 'shop' }],
            ...(privileges ? { authenticatedUserPrivileges: privileges } : {}),
          },
          ok: 1,
        })
      : lookup(name);
}

describe('the probe on Amazon DocumentDB', () => {
  it('recognises DocumentDB by $listChangeStreams and reads its switches; MongoDB has none', async () => {
    const before = await preflight(documentDb.uri, { namespaces });
    expect(before.documentDb).toEqual({ changeStreams: [] });
    expect(before.changeStream).toMatchObject({
      opened: false,
      reason: expect.stringContaining('modifyChangeStreams has not been run'),
    });
    expect(before.serverVersion).toBe('5.0.0');

    const admin = new MongoClient(documentDb.uri, { retryWrites: false });
    try {
      await admin
        .db('admin')
        .command({ modifyChangeStreams: 1, database: 'shop', collection: '', enable: true });
    } finally {
      await admin.close();
    }
    const after = await preflight(documentDb.uri, { namespaces });
    expect(after.documentDb).toEqual({ changeStreams: [{ database: 'shop', collection: '' }] });
    expect(after.changeStream).toEqual({ opened: true, scope: 'database shop' });

    expect((await preflight(mongodb.uri, { namespaces })).documentDb).toBeUndefined();
  });

  it('asks an authenticated DocumentDB user for no oplog privilege, and judges no unlisted privileges', async () => {
    authenticatedAs(documentDb, [
      { resource: { db: 'shop', collection: '' }, actions: ['find', 'changeStream', 'listCollections'] },
    ]);
    expect((await preflight(documentDb.uri, { namespaces })).privileges).toEqual({
      checked: true,
      missing: [],
    });
    authenticatedAs(documentDb, undefined);
    expect((await preflight(documentDb.uri, { namespaces })).privileges).toEqual({
      checked: false,
      reason: 'the server does not list the privileges of the user',
    });
  });

  it('knows DocumentDB endpoints by name', () => {
    expect(isDocumentDbHost('docs.cluster-c1.eu-west-1.docdb.amazonaws.com:27017')).toBe(true);
    expect(isDocumentDbHost('a.example.com:27017,shop.abc.us-east-1.docdb-elastic.amazonaws.com:27017')).toBe(
      true,
    );
    expect(isDocumentDbHost('cluster0.abc.mongodb.net,127.0.0.1:27017')).toBe(false);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { preflight } from '../../../functions/adapters/mongodb/preflight.js';
import { missingPrivileges, requiredPrivileges } from '../../../functions/adapters/mongodb/privileges.js';
import { classifyDeployment } from '../../../functions/adapters/mongodb/topology.js';
import { SourceUnavailableError } from '../../../functions/core/errors.js';
import { redactText } from '../../../functions/core/redact.js';
import { StandaloneSourceError } from '../../../functions/core/source-errors.js';
import { type SourceFixture, startSource } from './fixtures.js';

let source: SourceFixture;

beforeAll(async () => {
  source = await startSource();
  await source.client
    .db('shop')
    .collection('orders')
    .insertOne({ _id: 1 as never });
}, 60_000);

afterAll(async () => {
  await source?.stop();
});

describe('preflight', () => {
  it('reads version, topology, member states, change streams and mapped collections of the replica set', async () => {
    source.rs.setMemberState(source.rs.members[2]?.name as string, 'RECOVERING');
    try {
      const report = await preflight(source.rs.uri, {
        namespaces: [
          { db: 'shop', coll: 'orders' },
          { db: 'shop', coll: 'missing' },
        ],
      });
      expect(report.serverVersion).toMatch(/^\d+\.\d+/);
      expect(report.topology).toMatchObject({
        kind: 'replicaSet',
        setName: source.rs.setName,
        primary: source.rs.primary,
      });
      expect(report.memberStates.available).toBe(true);
      const states = report.memberStates.available
        ? report.memberStates.members.map((member) => member.state)
        : [];
      expect(states.sort()).toEqual(['PRIMARY', 'RECOVERING', 'SECONDARY']);
      expect(report.collections).toEqual([
        { db: 'shop', coll: 'orders', exists: true },
        { db: 'shop', coll: 'missing', exists: false },
      ]);
      // The simulator runs without access control: privileges are reported as not checked, not as missing.
      expect(report.privileges).toMatchObject({
        checked: false,
        reason: expect.stringMatching(/not authenticated/),
      });
      expect(report.changeStream).toEqual({ opened: true, scope: 'database shop' });
      expect(report.oplogWindow).toMatchObject({ available: true });
      if (report.oplogWindow.available) {
        expect(report.oplogWindow.seconds).toBeGreaterThanOrEqual(0);
        expect(Date.parse(report.oplogWindow.lastAt)).toBeGreaterThanOrEqual(
          Date.parse(report.oplogWindow.firstAt),
        );
      }
    } finally {
      source.rs.setMemberState(source.rs.members[2]?.name as string, 'SECONDARY');
    }
  });

  it('never puts the password of the URI in an error', async () => {
    const uri = 'mongodb://alice:s3cret-pw@127.0.0.1:1/?replicaSet=rs0';
    const failure = await preflight(uri, {
      namespaces: [{ db: 'shop', coll: 'orders' }],
      clientOptions: { serverSelectionTimeoutMS: 300 },
    }).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(SourceUnavailableError);
    expect(String((failure as Error).message)).not.toContain('s3cret-pw');
  });
});

describe('classifyDeployment', () => {
  it('refuses a standalone server with a named error that says change streams need a replica set', () => {
    // The simulator has no standalone mode, so the hello reply of a standalone mongod is given here.
    const standalone = { isWritablePrimary: true, maxWireVersion: 21, ok: 1 };
    expect(() => classifyDeployment(standalone, '127.0.0.1:27017')).toThrow(StandaloneSourceError);
    expect(() => classifyDeployment(standalone, '127.0.0.1:27017')).toThrow(
      /change streams need a replica set or a sharded cluster/,
    );
  });

  it('accepts and reports a sharded cluster (mongos)', () => {
    const summary = classifyDeployment({ msg: 'isdbgrid', isWritablePrimary: true, ok: 1 }, 'mongos:27017');
    expect(summary.kind).toBe('sharded');
  });
});

describe('privileges', () => {
  const namespaces = [{ db: 'shop', coll: 'orders' }];

  it('lists what a user without changeStream and oplog access lacks', () => {
    const status = {
      authInfo: {
        authenticatedUsers: [{ user: 'etl', db: 'admin' }],
        authenticatedUserPrivileges: [{ resource: { db: 'shop', collection: '' }, actions: ['find'] }],
      },
    };
    expect(missingPrivileges(status, requiredPrivileges(namespaces))).toEqual([
      'changeStream on shop.* (change stream on the database)',
      'find on local.oplog.rs (oplog window)',
    ]);
  });

  it('accepts a user with read on the database and local', () => {
    const status = {
      authInfo: {
        authenticatedUsers: [{ user: 'etl', db: 'admin' }],
        authenticatedUserPrivileges: [
          { resource: { db: 'shop', collection: '' }, actions: ['find', 'changeStream', 'listCollections'] },
          { resource: { db: 'local', collection: '' }, actions: ['find'] },
        ],
      },
    };
    expect(missingPrivileges(status, requiredPrivileges(namespaces))).toEqual([]);
  });
});

describe('redactText', () => {
  it('hides passwords in URIs and secret options', () => {
    expect(
      redactText(
        'failed mongodb+srv://bob:p%40ss@h.example.net/db?authMechanismProperties=AWS_SESSION_TOKEN:abc',
      ),
    ).toBe('failed mongodb+srv://bob:***@h.example.net/db?authMechanismProperties=AWS_SESSION_TOKEN:***');
  });
});

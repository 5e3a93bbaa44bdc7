import { describe, expect, it } from 'vitest';
import { SourceFatalError } from '../../functions/core/errors.js';
import { StandaloneSourceError } from '../../functions/core/source-errors.js';
import { refuseUnusableSource, sourceChecks } from '../../functions/engines/preflight-source.js';
import type { SourceFacts } from '../../functions/ports/preflight.js';

/** The facts of a healthy three-member set, as the MongoDB probe reads them. */
function facts(change: Partial<SourceFacts> = {}): SourceFacts {
  return {
    host: 'db1:27017,db2:27017,db3:27017',
    serverVersion: '7.0.14',
    topology: { kind: 'replicaSet', setName: 'rs0', primary: 'db1:27017' },
    memberStates: {
      available: true,
      members: [
        { name: 'db1:27017', state: 'PRIMARY' },
        { name: 'db2:27017', state: 'SECONDARY' },
        { name: 'db3:27017', state: 'SECONDARY' },
      ],
    },
    oplogWindow: {
      available: true,
      firstAt: '2026-12-05T00:00:00.000Z',
      lastAt: '2026-12-06T00:00:00.000Z',
      seconds: 86_400,
    },
    privileges: { checked: true, missing: [] },
    changeStream: { opened: true, scope: 'database shop' },
    collections: [{ db: 'shop', coll: 'orders', exists: true }],
    ...change,
  };
}

const statusOf = (source: SourceFacts, id: string) =>
  sourceChecks(source).find((check) => check.id === id)?.status;

describe('the source checks the create machine and POST /preflight share', () => {
  it('passes a healthy set, and Provision lets it through', () => {
    expect(sourceChecks(facts()).map((check) => check.status)).toEqual(Array(6).fill('passed'));
    expect(() => refuseUnusableSource(facts())).not.toThrow();
  });

  it('refuses a standalone server with StandaloneSourceError (the name the create machine catches)', () => {
    const standalone = facts({ topology: { kind: 'standalone', setName: null, primary: null } });
    expect(statusOf(standalone, 'source.topology')).toBe('failed');
    expect(() => refuseUnusableSource(standalone)).toThrow(StandaloneSourceError);
  });

  it('refuses missing privileges, a refused change stream and a missing collection with SourceFatalError naming each', () => {
    const broken = facts({
      privileges: { checked: true, missing: ['changeStream on shop.* (change stream on the database)'] },
      changeStream: { opened: false, scope: 'database shop', reason: 'not authorised' },
      collections: [{ db: 'shop', coll: 'orders', exists: false }],
    });
    expect(() => refuseUnusableSource(broken)).toThrow(SourceFatalError);
    expect(() => refuseUnusableSource(broken)).toThrow(
      'source pre-flight failed: missing privileges: changeStream on shop.* (change stream on the database); ' +
        'no change stream on database shop: not authorised; collection shop.orders does not exist',
    );
  });

  it('only warns of members not serving, a short oplog and unreadable states: Provision goes on', () => {
    const shaky = facts({
      memberStates: { available: true, members: [{ name: 'db1:27017', state: 'ROLLBACK' }] },
      oplogWindow: {
        available: true,
        firstAt: '2026-12-06T00:00:00.000Z',
        lastAt: '2026-12-06T00:10:00.000Z',
        seconds: 600,
      },
    });
    expect(statusOf(shaky, 'source.members')).toBe('warned');
    expect(statusOf(shaky, 'source.oplog')).toBe('warned');
    expect(() => refuseUnusableSource(shaky)).not.toThrow();
    const unread = facts({
      memberStates: { available: false, reason: 'not authorised to run replSetGetStatus' },
    });
    expect(statusOf(unread, 'source.members')).toBe('warned');
  });
});

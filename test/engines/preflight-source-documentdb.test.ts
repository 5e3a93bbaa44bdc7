import { describe, expect, it } from 'vitest';
import { SourceFatalError } from '../../functions/core/errors.js';
import { refuseUnusableSource, sourceChecks } from '../../functions/engines/preflight-source.js';
import type { ChangeStreamSwitch, SourceFacts } from '../../functions/ports/preflight.js';

/** An Amazon DocumentDB cluster as the probe reads it, change streams switched on as given. */
function documentDb(
  switches: ChangeStreamSwitch[] | null,
  collections = [{ db: 'shop', coll: 'orders', exists: true }],
  opened = true,
): SourceFacts {
  return {
    host: 'docs.cluster-abc.eu-west-1.docdb.amazonaws.com:27017',
    serverVersion: '5.0.0',
    topology: { kind: 'replicaSet', setName: 'rs0', primary: 'docs-1:27017' },
    memberStates: { available: true, members: [{ name: 'docs-1:27017', state: 'PRIMARY' }] },
    oplogWindow: { available: false, reason: 'local.oplog.rs is not there' },
    privileges: { checked: true, missing: [] },
    changeStream: opened
      ? { opened: true, scope: 'database shop' }
      : {
          opened: false,
          scope: 'database shop',
          reason: 'opening a change stream failed: modifyChangeStreams has not been run',
        },
    collections,
    documentDb:
      switches === null ? { changeStreams: null, reason: 'not authorised' } : { changeStreams: switches },
  };
}

const check = (facts: SourceFacts, id: string) => sourceChecks(facts).find((each) => each.id === id);

describe('the source checks on Amazon DocumentDB', () => {
  it('fails a collection without change streams, saying the command and the retention parameter', () => {
    const facts = documentDb([], undefined, false);
    const changeStream = check(facts, 'source.changeStream');
    expect(changeStream?.status).toBe('failed');
    expect(changeStream?.message).toContain('change streams off for shop.orders');
    expect(changeStream?.message).toContain(
      'db.adminCommand({modifyChangeStreams: 1, database: "shop", collection: "", enable: true})',
    );
    expect(changeStream?.message).toContain('change_stream_log_retention_duration');
    expect(() => refuseUnusableSource(facts)).toThrow(SourceFatalError);
    expect(() => refuseUnusableSource(facts)).toThrow('modifyChangeStreams: 1, database: "shop"');
  });

  it('asks for the database switch when only the collections are switched on', () => {
    const facts = documentDb([{ database: 'shop', collection: 'orders' }], undefined, false);
    expect(check(facts, 'source.changeStream')).toMatchObject({
      status: 'failed',
      message: expect.stringContaining('on database shop (only on its collections one by one'),
    });
  });

  it('asks for the cluster switch when the mappings span databases', () => {
    const collections = [
      { db: 'shop', coll: 'orders', exists: true },
      { db: 'crm', coll: 'people', exists: true },
    ];
    const facts = documentDb([{ database: 'shop', collection: '' }], collections, false);
    const changeStream = check(facts, 'source.changeStream');
    expect(changeStream?.message).toContain('change streams off for crm.people');
    expect(changeStream?.message).toContain('database: "", collection: "", enable: true');
  });

  it('passes a switched-on database (or cluster), warning once that the history is the retention parameter', () => {
    for (const switches of [[{ database: 'shop', collection: '' }], [{ database: '', collection: '' }]]) {
      const facts = documentDb(switches);
      expect(check(facts, 'source.changeStream')).toMatchObject({
        status: 'passed',
        message: 'change streams are enabled on database shop (Amazon DocumentDB)',
      });
      expect(check(facts, 'source.oplog')).toMatchObject({
        status: 'warned',
        message: expect.stringContaining('change_stream_log_retention_duration'),
      });
      expect(() => refuseUnusableSource(facts)).not.toThrow();
    }
  });

  it('judges by the opened stream when the switches cannot be listed', () => {
    expect(check(documentDb(null), 'source.changeStream')?.status).toBe('passed');
    const refused = check(documentDb(null, undefined, false), 'source.changeStream');
    expect(refused?.status).toBe('failed');
    expect(refused?.advice).toContain('$listChangeStreams could not be read: not authorised');
  });
});

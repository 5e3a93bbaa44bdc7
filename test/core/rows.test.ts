import { Long, ObjectId, Timestamp } from 'bson';
import { describe, expect, it } from 'vitest';
import { UnsupportedValueError } from '../../functions/core/errors.js';
import {
  type ChangeEventLike,
  changeEventAction,
  changeEventRow,
  collapseByKey,
  type DestinationRow,
  snapshotRow,
  toJsonEachRowLine,
} from '../../functions/core/rows.js';

const oid = new ObjectId('6275077a2f3159f971e405c6');
const at = (t: number, i: number) => new Timestamp({ t, i });
const version = (t: number, i: number) => (BigInt(t) << 32n) | BigInt(i);

describe('snapshot rows', () => {
  it('carries version 0, not deleted, the rendered _id and the document', () => {
    expect(snapshotRow('orders', { _id: oid, total: 5 })).toEqual({
      table: 'orders',
      _id: '6275077a2f3159f971e405c6',
      doc: '{"_id":"6275077a2f3159f971e405c6","total":5}',
      _peerdb_version: 0n,
      _peerdb_is_deleted: 0,
    });
  });

  it('refuses a document without _id', () => {
    expect(() => snapshotRow('orders', { total: 5 })).toThrow(UnsupportedValueError);
  });
});

describe('change event rows', () => {
  it.each(['insert', 'replace', 'update'])('%s uses fullDocument at the event version', (operationType) => {
    const row = changeEventRow('orders', {
      operationType,
      documentKey: { _id: oid },
      fullDocument: { _id: oid, total: 7 },
      clusterTime: at(1700000000, 4),
    });
    expect(row).toEqual({
      table: 'orders',
      _id: '6275077a2f3159f971e405c6',
      doc: '{"_id":"6275077a2f3159f971e405c6","total":7}',
      _peerdb_version: version(1700000000, 4),
      _peerdb_is_deleted: 0,
    });
  });

  it('an update whose document is gone produces no row (the later delete writes the tombstone)', () => {
    expect(
      changeEventRow('orders', {
        operationType: 'update',
        documentKey: { _id: 1 },
        fullDocument: null,
        clusterTime: at(1, 1),
      }),
    ).toBeNull();
  });

  it('a delete is a tombstone with {} or the pre-image', () => {
    const plain = changeEventRow('orders', {
      operationType: 'delete',
      documentKey: { _id: 1 },
      clusterTime: { t: 5, i: 6 },
    });
    expect(plain).toMatchObject({
      _id: '1',
      doc: '{}',
      _peerdb_is_deleted: 1,
      _peerdb_version: version(5, 6),
    });
    const withPreImage = changeEventRow('orders', {
      operationType: 'delete',
      documentKey: { _id: 1 },
      fullDocumentBeforeChange: { _id: 1, total: 3 },
      clusterTime: { t: 5, i: 6 },
    });
    expect(withPreImage?.doc).toBe('{"_id":1,"total":3}');
  });

  it('renders numeric keys from documentKey the same as from the snapshot', () => {
    const cdc = changeEventRow('t', {
      operationType: 'insert',
      documentKey: { _id: Long.fromInt(9) },
      fullDocument: { _id: Long.fromInt(9) },
      clusterTime: at(1, 1),
    });
    expect(cdc?._id).toBe(snapshotRow('t', { _id: 9 })._id);
  });

  it.each([
    ['insert', 'row'],
    ['update', 'row'],
    ['replace', 'row'],
    ['delete', 'row'],
    ['drop', 'stop-table'],
    ['rename', 'stop-table'],
    ['dropDatabase', 'stop-table'],
    ['invalidate', 'stop-table'],
    ['createIndexes', 'skip'],
    ['dropIndexes', 'skip'],
    ['startIndexBuild', 'skip'],
    ['commitIndexBuild', 'skip'],
    ['abortIndexBuild', 'skip'],
    ['create', 'skip'],
    ['modify', 'skip'],
  ])('%s → %s', (operationType, action) => {
    expect(changeEventAction({ operationType })).toBe(action);
    if (action !== 'row') expect(changeEventRow('t', { operationType, clusterTime: at(1, 1) })).toBeNull();
  });

  it.each([
    ['no cluster time', { operationType: 'insert', documentKey: { _id: 1 }, fullDocument: { _id: 1 } }],
    ['no key', { operationType: 'delete', clusterTime: at(1, 1) }],
    ['insert without document', { operationType: 'insert', documentKey: { _id: 1 }, clusterTime: at(1, 1) }],
  ] as [string, ChangeEventLike][])('refuses an event with %s', (_name, event) => {
    expect(() => changeEventRow('t', event)).toThrow(UnsupportedValueError);
  });
});

function row(table: string, id: string, v: number, deleted: 0 | 1 = 0, doc = `{"v":${v}}`): DestinationRow {
  return { table, _id: id, doc, _peerdb_version: BigInt(v), _peerdb_is_deleted: deleted };
}

describe('collapseByKey', () => {
  it('keeps the last row per (table, _id), ordered by where each key was last seen', () => {
    const rows = [row('a', '1', 1), row('a', '2', 2), row('b', '1', 3), row('a', '1', 4), row('a', '3', 5)];
    expect(collapseByKey(rows)).toEqual([
      row('a', '2', 2),
      row('b', '1', 3),
      row('a', '1', 4),
      row('a', '3', 5),
    ]);
  });

  it('keeps the last of events sharing one version (a transaction)', () => {
    const rows = [row('a', '1', 7, 0, '{"step":1}'), row('a', '1', 7, 0, '{"step":2}')];
    expect(collapseByKey(rows)).toEqual([row('a', '1', 7, 0, '{"step":2}')]);
  });

  it('gives a bare tombstone the document last seen for its key', () => {
    const rows = [row('a', '1', 1, 0, '{"x":1}'), row('a', '1', 2, 1, '{}')];
    expect(collapseByKey(rows)).toEqual([row('a', '1', 2, 1, '{"x":1}')]);
  });

  it('a re-insert after a delete wins', () => {
    const rows = [row('a', '1', 1, 1, '{}'), row('a', '1', 2, 0, '{"back":true}')];
    expect(collapseByKey(rows)).toEqual([row('a', '1', 2, 0, '{"back":true}')]);
  });

  it('returns nothing for nothing', () => {
    expect(collapseByKey([])).toEqual([]);
  });
});

describe('JSONEachRow lines', () => {
  const big = { ...row('t', 'k"1', 0), doc: '{"a":1}', _peerdb_version: 2n ** 64n - 1n };
  it('inlines doc for the JSON column type and keeps the UInt64 version exact', () => {
    expect(toJsonEachRowLine(big, true)).toBe(
      '{"_id":"k\\"1","doc":{"a":1},"_peerdb_version":18446744073709551615,"_peerdb_is_deleted":0}',
    );
  });

  it('quotes doc for a String column', () => {
    const parsed = JSON.parse(toJsonEachRowLine(big, false)) as { doc: string };
    expect(parsed.doc).toBe('{"a":1}');
  });
});

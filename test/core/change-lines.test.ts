import { BSON, Int32, Long, ObjectId } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { DESERIALIZE_OPTIONS } from '../../functions/adapters/mongodb/snapshot-source.js';
import { encodeChangeLines, type TableChange } from '../../functions/core/change-lines.js';
import {
  type ChangeEventLike,
  changeEventRow,
  collapseByKey,
  type DestinationRow,
  toJsonEachRowLine,
} from '../../functions/core/rows.js';
import type { SourceChangeEvent } from '../../functions/ports/source.js';
import { typeCorpus } from '../e2e/type-corpus.js';
import { type ChangeEventFields, rawChangeEvent } from '../support/raw-change-events.js';

/**
 * CDC bodies from raw events are held to the decoded path they replace: decode each event as the
 * driver did, `changeEventRow` + `collapseByKey` + `toJsonEachRowLine`, per table in the order of
 * the collapsed rows.
 */
function referenceBodies(changes: readonly TableChange<string>[], native: boolean): Map<string, string> {
  const rows: DestinationRow[] = [];
  for (const { tableKey, change } of changes) {
    const decoded = BSON.deserialize(change.bytes, DESERIALIZE_OPTIONS) as ChangeEventLike;
    const row = changeEventRow(tableKey, decoded);
    if (row) rows.push(row);
  }
  const bodies = new Map<string, string>();
  for (const row of collapseByKey(rows))
    bodies.set(row.table, `${bodies.get(row.table) ?? ''}${toJsonEachRowLine(row, native)}\n`);
  return bodies;
}

function encodedBodies(changes: readonly TableChange<string>[], native: boolean): Map<string, string> {
  return new Map(
    encodeChangeLines(changes, native).map(({ table, lines }) => [
      table,
      Buffer.concat(lines.chunks).toString('utf8'),
    ]),
  );
}

function expectSameBodies(changes: readonly TableChange<string>[]): void {
  for (const native of [true, false]) {
    const encoded = encodedBodies(changes, native);
    const reference = referenceBodies(changes, native);
    expect([...encoded.keys()]).toEqual([...reference.keys()]);
    for (const [table, body] of reference) expect(encoded.get(table)).toBe(body);
  }
}

let time = 1_700_000_000;
function change(table: string, fields: Omit<ChangeEventFields, 'ns' | 'clusterTime'>): TableChange<string> {
  time += 1;
  const event: SourceChangeEvent = rawChangeEvent({
    ...fields,
    ns: { db: 'shop', coll: table },
    clusterTime: { seconds: time, increment: time % 7 },
  });
  return { table, tableKey: table, change: event };
}

function upsert(
  table: string,
  operationType: string,
  document: Record<string, unknown>,
): TableChange<string> {
  return change(table, { operationType, documentKey: { _id: document._id }, fullDocument: document });
}

function remove(table: string, id: unknown, before?: Record<string, unknown>): TableChange<string> {
  return change(table, {
    operationType: 'delete',
    documentKey: { _id: id },
    ...(before ? { fullDocumentBeforeChange: before } : {}),
  });
}

describe('CDC lines from raw change events', () => {
  it('every type of the corpus, inserted, replaced, updated and deleted: the same bodies as the decoded path', () => {
    const corpus = typeCorpus('c-', { large: false });
    const changes = corpus.flatMap((document, index) => [
      upsert('orders', 'insert', document),
      ...(index % 3 === 0 ? [upsert('orders', 'replace', { ...document, replaced: true })] : []),
      ...(index % 4 === 1 ? [remove('orders', document._id)] : []),
      ...(index % 5 === 2 ? [upsert('orders', 'insert', document)] : []),
    ]);
    expect(changes.length).toBeGreaterThan(corpus.length);
    expectSameBodies(changes);
  });

  it('collapses per table and _id: last row wins, tombstones inherit the last document, tables keep their order', () => {
    const changes = [
      upsert('a', 'insert', { _id: 1, v: 'a1' }),
      upsert('b', 'insert', { _id: 1, v: 'b1' }),
      upsert('a', 'update', { _id: 2, v: 'a2' }),
      remove('a', 1),
      remove('b', 7),
      upsert('a', 'insert', { _id: 3, v: 'a3' }),
      remove('a', 3, { _id: 3, v: 'pre-image' }),
      change('a', { operationType: 'update', documentKey: { _id: 4 }, fullDocument: null }),
      upsert('b', 'replace', { _id: 1, v: 'b1 again' }),
      upsert('a', 'insert', { _id: new Int32(5), v: 'int32' }),
      upsert('a', 'update', { _id: Long.fromNumber(5), v: 'long, same row' }),
      upsert('a', 'insert', { _id: new ObjectId('6275077a2f3159f971e405c6'), v: 'oid' }),
      remove('a', new ObjectId('6275077a2f3159f971e405c6')),
      upsert('a', 'insert', { _id: null, v: 'null id' }),
    ];
    expectSameBodies(changes);
    const bodies = encodedBodies(changes, true);
    expect([...bodies.keys()]).toEqual(['a', 'b']);
    const deleted = (changes[3] as TableChange<string>).change.clusterTime;
    const a = (bodies.get('a') as string).trim().split('\n');
    expect(a[0]).toContain('"_id":"2"');
    expect(a.find((line) => line.startsWith('{"_id":"1"'))).toBe(
      `{"_id":"1","doc":{"_id":1,"v":"a1"},"_peerdb_version":${(BigInt(deleted.seconds) << 32n) | BigInt(deleted.increment)},"_peerdb_is_deleted":1}`,
    );
    expect(a.some((line) => line.includes('"_id":"4"'))).toBe(false);
  });

  it('many random sequences over few _ids in two tables', () => {
    let seed = 12345;
    const next = (below: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % below;
    };
    for (let round = 0; round < 50; round++) {
      const changes: TableChange<string>[] = [];
      for (let k = 0; k < 40; k++) {
        const table = next(2) === 0 ? 'x' : 'y';
        const id = next(6);
        const kind = next(5);
        if (kind === 0) changes.push(remove(table, id, next(2) === 0 ? { _id: id, before: k } : undefined));
        else if (kind === 1)
          changes.push(
            change(table, { operationType: 'update', documentKey: { _id: id }, fullDocument: null }),
          );
        else changes.push(upsert(table, kind === 2 ? 'insert' : 'replace', { _id: id, k, s: 'é"\\\n' }));
      }
      expectSameBodies(changes);
    }
  });

  it('refuses what the decoded path refuses, with the same errors', () => {
    const withoutId = change('a', { operationType: 'delete', documentKey: {} });
    expect(() => encodeChangeLines([withoutId], true)).toThrow('delete event without documentKey._id');
    const noDocument = change('a', { operationType: 'insert', documentKey: { _id: 1 }, fullDocument: null });
    expect(() => encodeChangeLines([noDocument], true)).toThrow('insert event without fullDocument');
    const arrayId = upsert('a', 'insert', { _id: [1, 2] });
    expect(() => encodeChangeLines([arrayId], true)).toThrow(
      (() => {
        try {
          referenceBodies([arrayId], true);
        } catch (error) {
          return (error as Error).message;
        }
        throw new Error('the reference accepted an array _id');
      })(),
    );
  });
});

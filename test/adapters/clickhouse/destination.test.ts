import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ClickHouseDestination,
  DEDUPLICATION_WINDOW,
} from '../../../functions/adapters/clickhouse/destination.js';
import {
  DestinationFatalError,
  DestinationUnavailableError,
  FatalError,
} from '../../../functions/core/errors.js';
import { toJsonEachRowLine } from '../../../functions/core/rows.js';
import { startTestClickHouse, type TestClickHouse } from '../../support/clickhouse.js';
import { row } from './fixtures.js';

let clickhouse: TestClickHouse;
let destination: ClickHouseDestination;
const database = 'pipes_test';

beforeAll(async () => {
  clickhouse = await startTestClickHouse();
  destination = ClickHouseDestination.connect({ url: clickhouse.url });
  await destination.ensureDatabase(database);
});

afterAll(async () => {
  await destination?.close();
  await clickhouse?.remove();
});

describe('ClickHouse destination DDL', () => {
  it('creates the ClickPipes-compatible table, idempotently, with a deduplication window', async () => {
    const ref = { database, table: 'orders' };
    await destination.createTable(ref, { useJsonNativeFormat: true, deleteOnMerge: false });
    await destination.createTable(ref, { useJsonNativeFormat: true, deleteOnMerge: false });
    expect(await destination.tableExists(ref)).toBe(true);
    expect(await destination.tableExists({ database, table: 'absent' })).toBe(false);
    const response = await fetch(
      `${clickhouse.url}/?query=${encodeURIComponent(`SHOW CREATE TABLE ${database}.orders`)}&default_format=TabSeparatedRaw`,
    );
    const ddl = await response.text();
    expect(ddl).toContain('ReplacingMergeTree(_peerdb_version, _peerdb_is_deleted)');
    expect(ddl).toContain('`doc` JSON');
    expect(ddl).toContain(`non_replicated_deduplication_window = ${DEDUPLICATION_WINDOW}`);
  });

  it('creates the hard-delete variant and purges deleted rows on request', async () => {
    const ref = { database, table: 'purged' };
    await destination.createTable(ref, { useJsonNativeFormat: false, deleteOnMerge: true });
    await destination.insertRows({
      ...ref,
      rows: [row('a', { v: 1 }, 1n), row('b', { v: 1 }, 1n)],
      deduplicationToken: 'purge-1',
      useJsonNativeFormat: false,
    });
    await destination.insertRows({
      ...ref,
      rows: [row('a', {}, 2n, 1)],
      deduplicationToken: 'purge-2',
      useJsonNativeFormat: false,
    });
    expect(await destination.countRows(ref)).toBe(3);
    await destination.purgeDeletedRows(ref);
    expect(await destination.countRows(ref)).toBe(1);
    expect((await destination.readLiveRows(ref)).map((r) => r._id)).toEqual(['b']);
    const plain = { database, table: 'not_purgeable' };
    await destination.createTable(plain, { useJsonNativeFormat: false, deleteOnMerge: false });
    await expect(destination.purgeDeletedRows(plain)).rejects.toBeInstanceOf(DestinationFatalError);
  });

  it('refuses hostile identifiers before sending anything', async () => {
    for (const table of ['x; DROP TABLE orders', 'a`b', 'users--', '', '1abc', 'a.b']) {
      await expect(
        destination.createTable({ database, table }, { useJsonNativeFormat: true, deleteOnMerge: false }),
      ).rejects.toBeInstanceOf(FatalError);
      await expect(destination.dropTable({ database, table })).rejects.toBeInstanceOf(FatalError);
    }
    await expect(destination.ensureDatabase("db'; --")).rejects.toBeInstanceOf(FatalError);
    expect(await destination.tableExists({ database, table: 'orders' })).toBe(true);
  });

  it('maps server errors to DestinationFatalError and an unreachable server to DestinationUnavailableError', async () => {
    await expect(destination.countRows({ database, table: 'never_created' })).rejects.toBeInstanceOf(
      DestinationFatalError,
    );
    const nowhere = ClickHouseDestination.connect({ url: 'http://127.0.0.1:9', requestTimeoutMs: 2000 });
    try {
      await expect(nowhere.ensureDatabase('x')).rejects.toBeInstanceOf(DestinationUnavailableError);
    } finally {
      await nowhere.close();
    }
  });
});

describe('ClickHouse destination inserts', () => {
  for (const useJsonNativeFormat of [true, false]) {
    const table = useJsonNativeFormat ? 'docs_json' : 'docs_string';
    it(`writes JSON text documents into a ${useJsonNativeFormat ? 'JSON' : 'String'} column`, async () => {
      const ref = { database, table };
      await destination.createTable(ref, { useJsonNativeFormat, deleteOnMerge: false });
      const result = await destination.insertRows({
        ...ref,
        rows: [
          row('1', { name: 'ada', nested: { 'dotted.key': 1, list: [1, 'two'] } }),
          row('2', { name: 'bob' }),
        ],
        deduplicationToken: `${table}-1`,
        useJsonNativeFormat,
      });
      expect(result.rows).toBe(2);
      const stored = await destination.readLiveRows(ref);
      expect(stored.map((r) => r._id)).toEqual(['1', '2']);
      const first = JSON.parse(stored[0]?.doc ?? 'null') as { name: string; nested: Record<string, unknown> };
      expect(first.name).toBe('ada');
      expect(first.nested['dotted.key']).toBe(1);
      expect(first.nested.list).toEqual([1, 'two']);
    });
  }

  for (const useJsonNativeFormat of [true, false]) {
    it(`inserts an encoded body (${useJsonNativeFormat ? 'JSON' : 'String'} doc) as insertRows would, chunks cut anywhere, deduplicated by token`, async () => {
      const rows = [
        row('e1', { name: 'ada', nested: { 'dotted.key': 1, list: [1, 'two'] } }),
        row('e2', { name: 'b\u00f6b "quoted" \\ slash' }),
        row('e3', {}),
      ];
      const viaRows = { database, table: `rows_${useJsonNativeFormat ? 'json' : 'string'}` };
      const viaBody = { database, table: `body_${useJsonNativeFormat ? 'json' : 'string'}` };
      for (const ref of [viaRows, viaBody])
        await destination.createTable(ref, { useJsonNativeFormat, deleteOnMerge: false });
      const text = rows.map((one) => `${toJsonEachRowLine(one, useJsonNativeFormat)}\n`).join('');
      const bytes = Buffer.from(text);
      // Chunk edges inside a line and inside a multi-byte character: the body is one byte stream.
      const body = [
        bytes.subarray(0, 7),
        bytes.subarray(7, text.indexOf('ö') + 1),
        bytes.subarray(text.indexOf('ö') + 1),
      ];
      const inserted = await destination.insertRows({
        ...viaRows,
        rows,
        deduplicationToken: 'same',
        useJsonNativeFormat,
      });
      const sent = await destination.insertEncoded({
        ...viaBody,
        body,
        rows: 3,
        deduplicationToken: 'enc-1',
      });
      expect(sent).toEqual({ rows: 3, bytes: bytes.length });
      expect(sent).toEqual(inserted);
      expect(await destination.readLiveRows(viaBody)).toEqual(await destination.readLiveRows(viaRows));
      await destination.insertEncoded({ ...viaBody, body, rows: 3, deduplicationToken: 'enc-1' });
      expect(await destination.countRows(viaBody)).toBe(3);
      expect(
        await destination.insertEncoded({ ...viaBody, body: [], rows: 0, deduplicationToken: 'enc-2' }),
      ).toEqual({
        rows: 0,
        bytes: 0,
      });
      await expect(
        destination.insertEncoded({ ...viaBody, body, rows: 3, deduplicationToken: '' }),
      ).rejects.toThrow(/non-empty deduplicationToken/);
    });
  }

  it('sends nothing for an empty batch, from an array or an async source', async () => {
    const ref = { database, table: 'docs_string' };
    const before = await destination.countRows(ref);
    const empty = { ...ref, deduplicationToken: 'empty', useJsonNativeFormat: false };
    expect(await destination.insertRows({ ...empty, rows: [] })).toEqual({ rows: 0, bytes: 0 });
    const nothing = (async function* () {})();
    expect(await destination.insertRows({ ...empty, rows: nothing })).toEqual({ rows: 0, bytes: 0 });
    async function* two() {
      yield row('async-1', { a: 1 });
      yield row('async-2', { a: 2 });
    }
    expect((await destination.insertRows({ ...empty, deduplicationToken: 'async', rows: two() })).rows).toBe(
      2,
    );
    expect(await destination.countRows(ref)).toBe(before + 2);
  });

  it('keeps one copy when the same batch is inserted twice with the same token', async () => {
    const ref = { database, table: 'dedup' };
    await destination.createTable(ref, { useJsonNativeFormat: true, deleteOnMerge: false });
    const batch = () => [row('a', { v: 1 }), row('b', { v: 2 }), row('c', { v: 3 })];
    await destination.insertRows({
      ...ref,
      rows: batch(),
      deduplicationToken: 'chunk-7',
      useJsonNativeFormat: true,
    });
    await destination.insertRows({
      ...ref,
      rows: batch(),
      deduplicationToken: 'chunk-7',
      useJsonNativeFormat: true,
    });
    expect(await destination.countRows(ref)).toBe(3);
    await destination.insertRows({
      ...ref,
      rows: batch(),
      deduplicationToken: 'chunk-8',
      useJsonNativeFormat: true,
    });
    expect(await destination.countRows(ref)).toBe(6);
    expect(await destination.countRows(ref, { final: true })).toBe(3);
  });

  it('FINAL with _peerdb_is_deleted = 0 returns the latest version per _id', async () => {
    const ref = { database, table: 'versions' };
    await destination.createTable(ref, { useJsonNativeFormat: true, deleteOnMerge: false });
    const big = 7_000_000_000_000_000_001n;
    await destination.insertRows({
      ...ref,
      rows: [row('a', { v: 'snapshot' }), row('b', { v: 'snapshot' }), row('c', { v: 'snapshot' })],
      deduplicationToken: 'versions-snapshot',
      useJsonNativeFormat: true,
    });
    await destination.insertRows({
      ...ref,
      rows: [
        row('a', { v: 'updated' }, big),
        row('b', { v: 'gone' }, big, 1),
        row('c', { v: 'old cdc' }, 5n),
      ],
      deduplicationToken: 'versions-cdc-1',
      useJsonNativeFormat: true,
    });
    await destination.insertRows({
      ...ref,
      rows: [row('c', { v: 'stale replay' }, 4n)],
      deduplicationToken: 'versions-cdc-0',
      useJsonNativeFormat: true,
    });
    const live = await destination.readLiveRows(ref);
    expect(live.map((r) => [r._id, JSON.parse(r.doc).v, r._peerdb_version])).toEqual([
      ['a', 'updated', big],
      ['c', 'old cdc', 5n],
    ]);
    expect(await destination.countRows(ref, { liveOnly: true })).toBe(2);
    expect(await destination.countRows(ref)).toBe(7);
  });
});

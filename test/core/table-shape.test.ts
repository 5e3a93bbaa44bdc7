/**
 * The transcoder with a table shape (functions/core/table-shape*.ts): typed columns filled from
 * their paths and excluded fields left out of `doc`, in the snapshot line and the row line, on
 * the fast path and on the exact path of documents with quirks. Expected values are written out
 * by hand from docs/table-schema.md ("Conversions").
 */
import { Binary, BSON, Decimal128, Double, Int32, Long, ObjectId } from 'mongodb';
import { describe, expect, it } from 'vitest';
import {
  appendRowLine,
  appendSnapshotLine,
  elementValue,
  findElement,
  JsonSink,
} from '../../functions/core/bson-transcode.js';
import { createTableSql, tableOptionsFor } from '../../functions/core/table-schema.js';
import {
  compileTableShape,
  ShapeRun,
  type ShapeSettings,
  TypeMismatchError,
  tableShapeOf,
} from '../../functions/core/table-shape.js';

type Row = Record<string, unknown>;

function shapedLine(
  document: Uint8Array,
  settings: ShapeSettings,
  native = true,
): { row: Row; run: ShapeRun } {
  const run = new ShapeRun(compileTableShape(settings));
  const sink = new JsonSink(64);
  appendSnapshotLine(sink, document, native, 0, run);
  return { row: JSON.parse(sink.text()) as Row, run };
}

const col = (name: string, path: string, type: string) => ({ name, path, type });

describe('typed columns from a document', () => {
  const id = new ObjectId('6275077a2f3159f971e405c6');
  const document = BSON.serialize({
    _id: id,
    customer: { city: 'Lyon', ssn: '123', zip: new Int32(69001) },
    total: Decimal128.fromString('1234.50'),
    lines: [
      { sku: 'a', price: new Double(2.5), secret: 1 },
      { sku: 'b', price: new Double(3), secret: 2 },
    ],
    placedAt: new Date('2024-05-06T07:08:09.120Z'),
    count: Long.fromString('9223372036854775807'),
    uuid: new Binary(Buffer.from('bffdb617400e486099007c0e0048b305', 'hex'), 4),
    notes: 'private',
    flag: true,
    text: 'not a number',
    meta: { a: new Int32(1), b: [true, null] },
  });

  it('fills each column by its documented conversion and leaves excluded fields out of doc', () => {
    const { row, run } = shapedLine(document, {
      columns: [
        col('customer_city', 'customer.city', 'LowCardinality(String)'),
        col('zip', 'customer.zip', 'String'),
        col('total', 'total', 'Decimal(18,2)'),
        col('total_f', 'total', 'Float64'),
        col('sku1', 'lines.1.sku', 'String'),
        col('prices', 'lines.0.price', 'Nullable(Int32)'),
        col('placed', 'placedAt', 'DateTime64(3)'),
        col('day', 'placedAt', 'Date'),
        col('count', 'count', 'Int64'),
        col('uuid', 'uuid', 'UUID'),
        col('flag', 'flag', 'Bool'),
        col('oid', '_id', 'String'),
        col('missing', 'nowhere.at.all', 'Nullable(String)'),
        col('bad', 'text', 'Int32'),
        col('meta_json', 'meta', 'String'),
      ],
      excludedFields: ['notes', 'customer.ssn', 'lines.secret'],
    });
    expect(row).toEqual({
      _id: '6275077a2f3159f971e405c6',
      doc: {
        _id: '6275077a2f3159f971e405c6',
        customer: { city: 'Lyon', zip: 69001 },
        total: '1234.50',
        lines: [
          { sku: 'a', price: 2.5 },
          { sku: 'b', price: 3 },
        ],
        placedAt: '2024-05-06T07:08:09.12Z',
        count: 2 ** 63,
        uuid: { Subtype: 4, Data: 'v/22F0AOSGCZAHwOAEizBQ==' },
        flag: true,
        text: 'not a number',
        meta: { a: 1, b: [true, null] },
      },
      customer_city: 'Lyon',
      zip: '69001',
      total: '1234.50',
      total_f: 1234.5,
      sku1: 'b',
      prices: null,
      placed: '2024-05-06 07:08:09.120',
      day: '2024-05-06',
      count: 2 ** 63,
      uuid: 'bffdb617-400e-4860-9900-7c0e0048b305',
      flag: true,
      oid: '6275077a2f3159f971e405c6',
      missing: null,
      bad: 0,
      meta_json: '{"a":1,"b":[true,null]}',
      _peerdb_version: 0,
      _peerdb_is_deleted: 0,
    });
    expect(run.mismatchCounts()).toEqual({ prices: 1, bad: 1 });
  });

  it('writes the exact Int64 digits and the Decimal text unrounded', () => {
    const sink = new JsonSink(64);
    const run = new ShapeRun(
      compileTableShape({
        columns: [col('count', 'count', 'Int64'), col('total', 'total', 'Decimal(18,2)')],
      }),
    );
    appendSnapshotLine(sink, document, true, 0, run);
    expect(sink.text()).toContain(',"count":9223372036854775807,"total":"1234.50",');
  });

  it('counts a Decimal that would need rounding, and an array element that does not convert', () => {
    const doc = BSON.serialize({
      _id: 1,
      total: Decimal128.fromString('1.005'),
      tags: ['1', 'x', null, new Int32(3)],
    });
    const { row, run } = shapedLine(doc, {
      columns: [
        col('total', 'total', 'Nullable(Decimal(18,2))'),
        col('tags', 'tags', 'Array(Nullable(Int32))'),
      ],
    });
    expect(row.total).toBeNull();
    expect(row.tags).toEqual([1, null, null, 3]);
    expect(run.mismatchCounts()).toEqual({ total: 1, tags: 1 });
  });

  it('converts numbers exactly on the fast paths and the exact ones alike', () => {
    const doc = BSON.serialize({
      _id: 2,
      a: new Double(9.99),
      b: new Double(1e-7),
      c: Decimal128.fromString('123.450'),
      d: Decimal128.fromString('1234.5'),
      e: Long.fromString('1152921504606846976'),
      f: Long.fromString('-1'),
      g: new Double(2147483648),
      h: new Double(2 ** 53 + 2),
      i: Decimal128.fromString('5.000E+2'),
    });
    const sink = new JsonSink(64);
    const run = new ShapeRun(
      compileTableShape({
        columns: [
          col('a', 'a', 'Decimal(5,2)'),
          col('b', 'b', 'Nullable(Decimal(5,2))'),
          col('c', 'c', 'Decimal(5,2)'),
          col('d', 'd', 'Nullable(Decimal(5,2))'),
          col('e', 'e', 'Int64'),
          col('f', 'f', 'Nullable(UInt64)'),
          col('g', 'g', 'Nullable(Int32)'),
          col('h', 'h', 'Int64'),
          col('i', 'i', 'Int32'),
        ],
      }),
    );
    appendSnapshotLine(sink, doc, true, 0, run);
    expect(sink.text()).toContain(
      ',"a":"9.99","b":null,"c":"123.450","d":null,"e":1152921504606846976,"f":null,"g":null,"h":9007199254740994,"i":500,',
    );
    expect(run.mismatchCounts()).toEqual({ b: 1, d: 1, f: 1, g: 1 });
  });

  it('writes dates in UTC across the epoch and refuses what DateTime64(3) or Date cannot hold', () => {
    const doc = BSON.serialize({
      _id: 3,
      a: new Date('1969-12-31T23:59:59.999Z'),
      b: new Date('1899-12-31T23:59:59.999Z'),
      c: '2299-12-31 23:59:59.999',
      d: '1970-01-01T01:00:00+01:00',
      e: new Date('2149-06-06T23:00:00Z'),
      f: new Date('2149-06-07T00:00:00Z'),
    });
    const { row, run } = shapedLine(doc, {
      columns: [
        col('a', 'a', 'DateTime64(3)'),
        col('b', 'b', 'Nullable(DateTime64(3))'),
        col('c', 'c', 'DateTime64(3)'),
        col('d', 'd', 'Date'),
        col('e', 'e', 'Date'),
        col('f', 'f', 'Nullable(Date)'),
      ],
    });
    expect(row).toMatchObject({
      a: '1969-12-31 23:59:59.999',
      b: null,
      c: '2299-12-31 23:59:59.999',
      d: '1970-01-01',
      e: '2149-06-06',
      f: null,
    });
    expect(run.mismatchCounts()).toEqual({ b: 1, f: 1 });
  });

  it('applies the shape on the exact path (integer-like keys) as on the fast one', () => {
    const doc = BSON.serialize({ _id: 'k', b: { 2: 'two', 1: 'one', secret: 's' }, 10: 'ten' });
    const { row } = shapedLine(
      doc,
      { columns: [col('one', 'b.1', 'String'), col('ten', '10', 'Int32')], excludedFields: ['b.secret'] },
      false,
    );
    expect(JSON.parse(row.doc as string)).toEqual({ _id: 'k', b: { 1: 'one', 2: 'two' }, 10: 'ten' });
    expect(row.one).toBe('one');
    expect(row.ten).toBe(0);
  });

  it('stops with the _id, path and BSON type under onTypeMismatch fail', () => {
    const run = new ShapeRun(
      compileTableShape({ columns: [col('n', 'a.b', 'Int64')], onTypeMismatch: 'fail' }),
    );
    const doc = BSON.serialize({ _id: 'order-7', a: { b: new ObjectId() } });
    const sink = new JsonSink(64);
    expect(() => appendSnapshotLine(sink, doc, true, 0, run)).toThrow(TypeMismatchError);
    expect(sink.pos).toBe(0);
    try {
      appendSnapshotLine(sink, doc, true, 0, run);
    } catch (error) {
      expect((error as TypeMismatchError).message).toBe(
        'document _id order-7: a.b holds a BSON objectId that does not convert to Int64 (column n; onTypeMismatch is fail)',
      );
    }
  });

  it('fills a tombstone from its pre-image, or with defaults when there is none', () => {
    const event = BSON.serialize({ documentKey: { _id: 5 }, pre: { _id: 5, city: 'Oslo', n: new Int32(4) } });
    const idElement = findElement(event, elementValue(event, findElement(event, 0, 'documentKey')), '_id');
    const preDocAt = elementValue(event, findElement(event, 0, 'pre'));
    const shape = compileTableShape({
      columns: [col('city', 'city', 'String'), col('n', 'n', 'Nullable(Int32)')],
    });
    const lineOf = (docAt: number) => {
      const sink = new JsonSink(64);
      const line = {
        idElement,
        docAt,
        version: 7n,
        isDeleted: 1 as const,
        useJsonNativeFormat: true,
        decodedAt: 0,
      };
      appendRowLine(sink, event, { ...line, shape: new ShapeRun(shape) });
      return JSON.parse(sink.text()) as Row;
    };
    expect(lineOf(preDocAt)).toMatchObject({ _id: '5', city: 'Oslo', n: 4, _peerdb_is_deleted: 1 });
    expect(lineOf(-1)).toMatchObject({ _id: '5', doc: {}, city: '', n: null });
  });

  it('compiles a mapping once and keeps plain mappings on the plain path', () => {
    const mapping = { columns: [col('a', 'a', 'String')] };
    expect(tableShapeOf(mapping)).toBe(tableShapeOf(mapping));
    expect(tableShapeOf({})).toBeNull();
    expect(tableShapeOf({ columns: [], excludedFields: [] })).toBeNull();
  });

  it('creates the table with the typed columns after doc, DateTime64 pinned to UTC', () => {
    const base = { useJsonNativeFormat: true, deleteOnMerge: false };
    const mapping = {
      sourceDatabaseName: 'shop',
      sourceCollection: 'orders',
      columns: [col('placed', 'placedAt', 'Nullable(DateTime64(3))'), col('total', 'total', 'Decimal(18,2)')],
    };
    const sql = createTableSql('shop', 'orders', tableOptionsFor(base, mapping));
    expect(sql).toContain(
      "  `doc` JSON,\n  `placed` Nullable(DateTime64(3, 'UTC')),\n  `total` Decimal(18, 2),\n  `_peerdb_synced_at`",
    );
    const plain = createTableSql(
      'shop',
      'orders',
      tableOptionsFor(base, { sourceDatabaseName: 'shop', sourceCollection: 'orders' }),
    );
    expect(plain).toBe(createTableSql('shop', 'orders', base));
  });
});

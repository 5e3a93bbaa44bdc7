import {
  Binary,
  BSONSymbol,
  Decimal128,
  Double,
  Int32,
  Long,
  MaxKey,
  MinKey,
  ObjectId,
  Timestamp,
  UUID,
} from 'bson';
import { describe, expect, it } from 'vitest';
import { renderDocumentId } from '../../functions/core/document-id.js';
import { UnsupportedValueError } from '../../functions/core/errors.js';

describe('_id rendering per BSON type', () => {
  it.each([
    ['ObjectId', new ObjectId('6275077A2F3159F971E405C6'), '6275077a2f3159f971e405c6'],
    ['string', 'order-17', 'order-17'],
    ['string with quotes', 'a"b', 'a"b'],
    ['empty string', '', ''],
    ['symbol', new BSONSymbol('sym'), 'sym'],
    ['int32 (plain number)', 1, '1'],
    ['Int32 wrapper', new Int32(1), '1'],
    ['Long', Long.fromNumber(1), '1'],
    ['Double wrapper 1.0', new Double(1), '1'],
    ['Decimal128 1.00', Decimal128.fromString('1.00'), '1'],
    ['bigint', 1n, '1'],
    ['negative zero', -0, '0'],
    ['Double -0', new Double(-0), '0'],
    ['fraction', 1.5, '1.5'],
    ['Decimal128 1.50', Decimal128.fromString('1.50'), '1.5'],
    ['Decimal128 with exponent', Decimal128.fromString('1.5E+3'), '1500'],
    ['large Long', Long.fromString('9223372036854775807'), '9223372036854775807'],
    ['negative Long', Long.fromString('-9223372036854775808'), '-9223372036854775808'],
    ['2^53 + 1 as Long', Long.fromString('9007199254740993'), '9007199254740993'],
    ['huge double', 1e21, '1000000000000000000000'],
    ['tiny double', 1e-7, '0.0000001'],
    ['NaN', Number.NaN, '"NaN"'],
    ['Decimal128 NaN', Decimal128.fromString('NaN'), '"NaN"'],
    ['Infinity', Number.POSITIVE_INFINITY, '"Infinity"'],
    ['-Infinity', new Double(Number.NEGATIVE_INFINITY), '"-Infinity"'],
    ['true', true, 'true'],
    ['null', null, 'null'],
    ['Date', new Date('2024-05-06T07:08:09.120Z'), '"2024-05-06T07:08:09.12Z"'],
    ['Timestamp', new Timestamp({ t: 10, i: 2 }), '{"T":10,"I":2}'],
    ['Binary', new Binary(Buffer.from([1, 2, 3]), 0), '{"Subtype":0,"Data":"AQID"}'],
    [
      'UUID',
      new UUID('bffdb617-400e-4860-9900-7c0e0048b305'),
      '{"Subtype":4,"Data":"v/22F0AOSGCZAHwOAEizBQ=="}',
    ],
    ['MinKey', new MinKey(), '{"$minKey":1}'],
    ['MaxKey', new MaxKey(), '{"$maxKey":1}'],
    ['composite', { b: 2, a: 'x' }, '{"b":2,"a":"x"}'],
    ['composite, other key order', { a: 'x', b: 2 }, '{"a":"x","b":2}'],
    ['composite with typed numbers', { n: Long.fromNumber(2), d: new Double(3) }, '{"n":2,"d":3}'],
    [
      'composite with ObjectId',
      { u: new ObjectId('6275077a2f3159f971e405c6') },
      '{"u":"6275077a2f3159f971e405c6"}',
    ],
    ['empty document', {}, '{}'],
  ])('%s', (_name, id, expected) => {
    expect(renderDocumentId(id)).toBe(expected);
  });

  it('renders values MongoDB holds equal identically', () => {
    const ones = [1, new Int32(1), Long.fromInt(1), new Double(1.0), Decimal128.fromString('1.0'), 1n];
    expect(new Set(ones.map(renderDocumentId))).toEqual(new Set(['1']));
    const composites = [{ k: 1 }, { k: Long.fromInt(1) }, { k: new Double(1) }];
    expect(new Set(composites.map(renderDocumentId))).toEqual(new Set(['{"k":1}']));
  });

  it('keeps values MongoDB holds different apart', () => {
    const ids = [
      new ObjectId('6275077a2f3159f971e405c6'),
      1,
      1.5,
      '1.5x',
      true,
      null,
      { a: 1, b: 2 },
      { b: 2, a: 1 },
      new MinKey(),
      new MaxKey(),
      {},
      new Date(0),
      new Timestamp({ t: 0, i: 0 }),
    ];
    expect(new Set(ids.map(renderDocumentId)).size).toBe(ids.length);
  });

  it('switches to an exponent past 64 digits, for doubles and decimals alike', () => {
    expect(renderDocumentId(1e100)).toMatch(/^1\.\d+e100$/);
    expect(renderDocumentId(Decimal128.fromString('1E+100'))).toBe('1e100');
    expect(renderDocumentId(2 ** 80)).toBe('1208925819614629174706176');
  });

  it('is stable: the same value renders the same on every call', () => {
    const id = { region: 'eu', seq: Long.fromString('12345678901234') };
    expect(renderDocumentId(id)).toBe(
      renderDocumentId({ region: 'eu', seq: Long.fromString('12345678901234') }),
    );
  });

  it.each([
    ['missing', undefined],
    ['array', [1, 2]],
    ['regex', /x/],
    ['function', () => 1],
  ])('refuses an impossible _id: %s', (_name, id) => {
    expect(() => renderDocumentId(id)).toThrow(UnsupportedValueError);
  });
});

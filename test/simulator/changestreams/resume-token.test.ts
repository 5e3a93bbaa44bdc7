import { Binary, Decimal128, Double, Long, ObjectId, Timestamp, UUID } from 'bson';
import { describe, expect, it } from 'vitest';
import { decodeKey, encodeKey } from '../../../simulator/changestreams/keystring.js';
import {
  compareTokens,
  decodeResumeToken,
  encodeResumeToken,
  highWaterMarkToken,
} from '../../../simulator/changestreams/resume-token.js';
import { CommandError } from '../../../simulator/contract.js';
import { type ResumeTokenVector, resumeTokenVectors } from '../../support/resume-token-vectors.js';

type Vector = ResumeTokenVector;
const vectors = resumeTokenVectors();

function vector(index: number): Vector {
  const found = vectors[index];
  if (!found) throw new Error(`resume token vector ${index} is missing`);
  return found;
}

describe('resume tokens match the real server byte for byte (test/fixtures/mongodb-resume-tokens.json)', () => {
  it('encodes the version 1 high-water-mark vector', () => {
    const token = encodeResumeToken({
      clusterTime: new Timestamp({ t: 1630496062, i: 2 }),
      version: 1,
      tokenType: 0,
      txnOpIndex: 0,
      fromInvalidate: false,
    });
    expect(token._data).toBe(vector(0)._data);
  });

  it('encodes the version 2 insert event vector (UUID + ObjectId documentKey)', () => {
    const token = encodeResumeToken({
      clusterTime: new Timestamp({ t: 1651836794, i: 1 }),
      version: 2,
      tokenType: 128,
      txnOpIndex: 0,
      fromInvalidate: false,
      uuid: new UUID('bffdb617-400e-4860-9900-7c0e0048b305'),
      eventIdentifier: {
        operationType: 'insert',
        documentKey: { _id: new ObjectId('6275077a2f3159f971e405c6') },
      },
    });
    expect(token._data).toBe(vector(1)._data);
  });

  it('decodes the real vectors back into their parts', () => {
    const event = decodeResumeToken({ _data: vector(1)._data });
    expect(event.clusterTime.equals(new Timestamp({ t: 1651836794, i: 1 }))).toBe(true);
    expect(event.version).toBe(2);
    expect(event.tokenType).toBe(128);
    expect(event.uuid?.toHexString()).toBe('bffdb617-400e-4860-9900-7c0e0048b305');
    expect(event.eventIdentifier?.operationType).toBe('insert');
    expect(String(event.eventIdentifier?.documentKey?._id)).toBe('6275077a2f3159f971e405c6');
    const mark = decodeResumeToken({ _data: vector(0)._data });
    expect(mark.tokenType).toBe(0);
    expect(mark.uuid).toBeUndefined();
    expect(mark.eventIdentifier).toBeUndefined();
  });

  it('rejects malformed tokens with 260 InvalidResumeToken', () => {
    for (const bad of [{}, { _data: 'XYZ' }, { _data: '82' }, { _data: '2B0204' }, null]) {
      try {
        decodeResumeToken(bad);
        expect.unreachable('decoding should have failed');
      } catch (error) {
        expect(error).toBeInstanceOf(CommandError);
        expect((error as CommandError).code).toBe(260);
      }
    }
  });
});

describe('token ordering', () => {
  const uuid = new UUID('bffdb617-400e-4860-9900-7c0e0048b305');
  function eventToken(t: number, i: number, txnOpIndex: number, id: unknown) {
    return encodeResumeToken({
      clusterTime: new Timestamp({ t, i }),
      version: 2,
      tokenType: 128,
      txnOpIndex,
      fromInvalidate: false,
      uuid,
      eventIdentifier: { operationType: 'insert', documentKey: { _id: id } },
    });
  }

  it('orders tokens by cluster time, then transaction position, by plain string comparison', () => {
    const inOplogOrder = [
      highWaterMarkToken(new Timestamp({ t: 100, i: 1 })),
      eventToken(100, 1, 0, 'z'),
      eventToken(100, 1, 1, 'a'),
      eventToken(100, 1, 300, 'a'),
      eventToken(100, 2, 0, 1),
      eventToken(100, 256, 0, 1),
      eventToken(101, 0, 0, -5),
      eventToken(70000, 1, 0, new ObjectId()),
    ];
    const shuffled = [...inOplogOrder].reverse();
    shuffled.sort(compareTokens);
    expect(shuffled.map((token) => token._data)).toEqual(inOplogOrder.map((token) => token._data));
  });

  it('round-trips the value types a documentKey can hold, numeric types included', () => {
    const values = [
      0,
      1,
      -1,
      127,
      128,
      -300,
      Long.fromNumber(2 ** 40),
      Long.fromString('9007199254740993'),
      new Double(2),
      1.5,
      -2.25,
      0.1,
      1e300,
      'a\u0000b',
      true,
      false,
      null,
      new Date(1_700_000_000_000),
      new ObjectId('6275077a2f3159f971e405c6'),
      { nested: { x: 1 }, list: [1, 'two'] },
    ];
    const encoded = encodeKey(values);
    expect(encoded.typeBits).toBeInstanceOf(Binary);
    const decoded = decodeKey(encoded.key, encoded.typeBits);
    expect(decoded).toHaveLength(values.length);
    expect(decoded.slice(0, 6)).toEqual([0, 1, -1, 127, 128, -300]);
    expect(decoded[6]).toBeInstanceOf(Long);
    expect((decoded[7] as Long).toString()).toBe('9007199254740993');
    expect(decoded[8]).toBeInstanceOf(Double);
    expect(decoded.slice(9, 12)).toEqual([1.5, -2.25, 0.1]);
    expect((decoded[12] as Double).value).toBe(1e300);
    expect(decoded.slice(13, 18)).toEqual(['a\u0000b', true, false, null, new Date(1_700_000_000_000)]);
    expect((decoded[18] as ObjectId).toHexString()).toBe('6275077a2f3159f971e405c6');
    expect(decoded[19]).toEqual({ nested: { x: 1 }, list: [1, 'two'] });
  });

  it('encodes numbers of every type the way the server does', () => {
    const hex = (value: unknown) => encodeKey([value]).key.toString('hex').toUpperCase();
    // Same key for 1, NumberLong(1) and 1.0: only the type bits differ.
    expect(hex(1)).toBe('2B0204');
    expect(hex(Long.fromNumber(1))).toBe('2B0204');
    expect(hex(new Double(1))).toBe('2B0204');
    // 1.5: integer byte 0x03 (1 shifted, fraction flag), then seven fraction bytes.
    expect(hex(1.5)).toBe('2B038000000000000004');
    expect(hex(0)).toBe('2904');
    // A Decimal128 equal to a double shares its bytes; its type bits say decimal (11) + exponent.
    expect(hex(Decimal128.fromString('1.50'))).toBe(hex(1.5));
    const decimalKey = encodeKey([Decimal128.fromString('1.50'), 7]);
    const [decimal, after] = decodeKey(decimalKey.key, decimalKey.typeBits);
    expect(decimal).toBeInstanceOf(Decimal128);
    expect(Number((decimal as Decimal128).toString())).toBe(1.5);
    expect(after).toBe(7);
    expect(encodeKey([1, 'x']).typeBits).toBeUndefined();
  });

  it('adds _typeBits to tokens whose documentKey holds a long or a double, and null UUIDs in v2', () => {
    const withLong = encodeResumeToken({
      clusterTime: new Timestamp({ t: 1, i: 1 }),
      version: 2,
      tokenType: 128,
      txnOpIndex: 0,
      fromInvalidate: false,
      uuid,
      eventIdentifier: { operationType: 'insert', documentKey: { _id: Long.fromNumber(7) } },
    });
    // version, tokenType, txnOpIndex (int: 00 each), operationType (string: 0), then long: 01.
    expect(withLong._typeBits?.toString('hex')).toBe('820001');
    const decoded = decodeResumeToken(withLong);
    expect(decoded.eventIdentifier?.documentKey?._id).toBeInstanceOf(Long);
    expect(highWaterMarkToken(new Timestamp({ t: 1, i: 1 }))._data).toBe(
      '82000000010000000' + '12B042929' + '6E1404',
    );
  });

  it('orders integers of different byte widths and signs like numbers', () => {
    const numbers = [
      -1e20,
      -70000,
      -300.5,
      -300,
      -1,
      -0.25,
      0,
      0.25,
      1,
      1.5,
      255,
      256,
      70000,
      2 ** 40,
      2 ** 40 + 0.5,
      1e20,
    ];
    const encoded = numbers.map((value) => encodeKey([value]).key.toString('hex').toUpperCase());
    expect([...encoded].sort()).toEqual(encoded);
  });
});

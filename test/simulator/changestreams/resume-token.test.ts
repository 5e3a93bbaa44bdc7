import { readFileSync } from 'node:fs';
import { Long, ObjectId, Timestamp, UUID } from 'bson';
import { describe, expect, it } from 'vitest';
import { decodeKey, encodeKey } from '../../../simulator/changestreams/keystring.js';
import {
  compareTokens,
  decodeResumeToken,
  encodeResumeToken,
  highWaterMarkToken,
} from '../../../simulator/changestreams/resume-token.js';
import { CommandError } from '../../../simulator/contract.js';

interface Vector {
  _data: string;
  decoded: { clusterTime: { t: number; i: number } };
}

const vectors = (
  JSON.parse(readFileSync('/work/shared/mongodb-resume-tokens.json', 'utf8')) as { tokens: Vector[] }
).tokens;

function vector(index: number): Vector {
  const found = vectors[index];
  if (!found) throw new Error(`resume token vector ${index} is missing`);
  return found;
}

describe('resume tokens match the real server byte for byte', () => {
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

  it('round-trips the value types a documentKey can hold', () => {
    const values = [
      0,
      1,
      -1,
      127,
      128,
      -300,
      2 ** 40,
      Long.fromString('9007199254740993'),
      'a\u0000b',
      true,
      false,
      null,
      new Date(1_700_000_000_000),
      new ObjectId('6275077a2f3159f971e405c6'),
      { nested: { x: 1 }, list: [1, 'two'] },
    ];
    const decoded = decodeKey(encodeKey(values));
    expect(decoded).toHaveLength(values.length);
    expect(decoded.slice(0, 7)).toEqual([0, 1, -1, 127, 128, -300, 2 ** 40]);
    expect((decoded[7] as Long).toString()).toBe('9007199254740993');
    expect(decoded.slice(8, 13)).toEqual(['a\u0000b', true, false, null, new Date(1_700_000_000_000)]);
    expect((decoded[13] as ObjectId).toHexString()).toBe('6275077a2f3159f971e405c6');
    expect(decoded[14]).toEqual({ nested: { x: 1 }, list: [1, 'two'] });
  });

  it('orders integers of different byte widths and signs like numbers', () => {
    const numbers = [-70000, -300, -1, 0, 1, 255, 256, 70000, 2 ** 40];
    const encoded = numbers.map((value) => encodeKey([value]).toString('hex').toUpperCase());
    expect([...encoded].sort()).toEqual(encoded);
  });
});

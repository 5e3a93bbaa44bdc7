import { BSON, Decimal128, Double, Int32, Long, MaxKey, MinKey, ObjectId, Timestamp } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { encodeCheckpoint, rawIdCheckpoint } from '../../../functions/adapters/mongodb/id-values.js';
import { DESERIALIZE_OPTIONS } from '../../../functions/adapters/mongodb/snapshot-source.js';

/** A raw document from its elements, keys as given (repeats and order kept). */
function rawDocument(elements: [string, unknown][]): Uint8Array {
  const parts = elements.map(([key, value]) => {
    const one = BSON.serialize({ [key]: value });
    return one.subarray(4, one.length - 1);
  });
  const size = 4 + parts.reduce((sum, part) => sum + part.length, 0) + 1;
  const out = Buffer.alloc(size);
  out.writeInt32LE(size, 0);
  let at = 4;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

const decodedCheckpoint = (raw: Uint8Array) =>
  encodeCheckpoint(BSON.deserialize(raw, DESERIALIZE_OPTIONS)._id);

describe('rawIdCheckpoint: the last `_id` decoded alone', () => {
  const ids: [string, unknown][] = [
    ['ObjectId', new ObjectId()],
    ['Int32', new Int32(-7)],
    ['Long', Long.fromString('9223372036854775807')],
    ['Double', new Double(2.5)],
    ['Double -0', new Double(-0)],
    ['Decimal128', Decimal128.fromString('1.10')],
    ['string', 'é"\\\u0001'],
    ['date', new Date(-1)],
    ['compound', { tenant: 3, seq: new Int32(9), at: new Date(5) }],
    ['array inside', { list: [1, 'a'] }],
    ['binary', new BSON.Binary(Buffer.from('bin'), 4)],
    ['timestamp', new Timestamp({ t: 1, i: 2 })],
    ['MinKey', new MinKey()],
    ['MaxKey', new MaxKey()],
    ['bool', false],
    ['null', null],
  ];
  for (const [name, id] of ids) {
    it(`${name}: the text the whole document's decode gives`, () => {
      const raw = rawDocument([
        ['a', 1],
        ['_id', id],
        ['z', 'after'],
      ]);
      expect(rawIdCheckpoint(raw)).toBe(decodedCheckpoint(raw));
    });
  }

  it('a repeated `_id` key: the last value, as the decoded object keeps it', () => {
    const raw = rawDocument([
      ['_id', 1],
      ['x', 2],
      ['_id', 'second'],
    ]);
    expect(rawIdCheckpoint(raw)).toBe('"second"');
    expect(rawIdCheckpoint(raw)).toBe(decodedCheckpoint(raw));
  });

  it('a date beyond the JS range (±8.64e15 ms): its milliseconds, which the decoded Invalid Date loses', () => {
    for (const milliseconds of ['9223372036854775807', '-9223372036854775808', '8640000000000001']) {
      const raw = Buffer.from(rawDocument([['_id', new Date(0)]]));
      raw.writeBigInt64LE(BigInt(milliseconds), raw.length - 9);
      expect(rawIdCheckpoint(raw)).toBe(`{"$date":{"$numberLong":"${milliseconds}"}}`);
      expect(decodedCheckpoint(raw)).toBe('{"$date":{"$numberLong":"NaN"}}');
    }
  });

  it('leaves to the whole decode what it cannot read alone: no `_id`, a DBRef, corrupt bytes', () => {
    expect(rawIdCheckpoint(rawDocument([['a', 1]]))).toBeUndefined();
    expect(
      rawIdCheckpoint(
        rawDocument([
          ['$ref', 'c'],
          ['$id', 1],
          ['_id', 2],
        ]),
      ),
    ).toBeUndefined();
    const corrupt = Buffer.from(rawDocument([['_id', 'abc']]));
    corrupt.writeInt32LE(1000, 0);
    expect(rawIdCheckpoint(corrupt)).toBeUndefined();
    const badUtf8 = Buffer.from(rawDocument([['_id', 'ab']]));
    badUtf8[badUtf8.length - 3] = 0xff;
    expect(rawIdCheckpoint(badUtf8)).toBeUndefined();
    expect(() => BSON.deserialize(badUtf8, DESERIALIZE_OPTIONS)).toThrow();
  });
});

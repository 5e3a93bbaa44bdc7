import { BSON, Double, Int32, Long } from 'bson';
import { MongoClient } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { startReplicaSet } from '../../../simulator/index.js';
import { decodeDocument } from '../../../simulator/wire/typed-decode.js';

describe('request decoding', () => {
  it('keeps doubles and int64 typed and turns int32 into numbers, at any depth', () => {
    const bytes = BSON.serialize({
      limit: new Int32(5),
      d: new Double(1),
      l: Long.fromNumber(7),
      nested: { list: [new Int32(1), new Double(2), { x: new Int32(3) }] },
    });
    const decoded = decodeDocument(bytes);
    expect(decoded.limit).toBe(5);
    expect(decoded.d).toBeInstanceOf(Double);
    expect(decoded.l).toBeInstanceOf(Long);
    expect(decoded.nested.list[0]).toBe(1);
    expect(decoded.nested.list[1]).toBeInstanceOf(Double);
    expect(decoded.nested.list[2]).toEqual({ x: 3 });
  });

  it('round-trips numeric BSON types through the real driver', async () => {
    const replicaSet = await startReplicaSet({ members: 1, noopIntervalMs: 0 });
    const client = new MongoClient(replicaSet.uri, { serverSelectionTimeoutMS: 5000 });
    try {
      const numbers = client.db('app').collection<{ _id: number; [key: string]: unknown }>('numbers');
      await numbers.insertOne({ _id: 1, d: new Double(1), i: new Int32(2), l: Long.fromNumber(3), f: 1.5 });
      const stored = await numbers.findOne({ _id: 1 }, { promoteValues: false });
      const types = Object.fromEntries(
        Object.entries(stored ?? {}).map(([key, value]) => [
          key,
          (value as { _bsontype?: string })._bsontype,
        ]),
      );
      expect(types).toEqual({ _id: 'Int32', d: 'Double', i: 'Int32', l: 'Long', f: 'Double' });
    } finally {
      await client.close();
      await replicaSet.stop();
    }
  });
});

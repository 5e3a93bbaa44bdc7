import { Binary, Double, Int32, Long, ObjectId, Timestamp } from 'bson';
import { describe, expect, it } from 'vitest';
import {
  documentsEqualExactly,
  type EntityLookup,
  MatcherUsageError,
  matchValue,
} from '../../../simulator/conformance/matcher.js';

const lsid = { id: new Binary(Buffer.alloc(16, 7), 4) };
const entities: EntityLookup = {
  bsonEntity: (name) => {
    if (name === 'savedId') return 42;
    throw new Error(`no entity ${name}`);
  },
  sessionLsid: (name) => {
    if (name === 'session0') return lsid;
    throw new Error(`no session ${name}`);
  },
};

const matches = (expected: unknown, actual: unknown, root = true) =>
  matchValue(expected, actual, { root, entities }) === null;

describe('document and array rules', () => {
  it('lets a root document carry extra keys but not a nested one', () => {
    expect(matches({ x: 1 }, { x: 1, y: 2 })).toBe(true);
    expect(matches({ x: { y: 1 } }, { x: { y: 1 } })).toBe(true);
    expect(matches({ x: { y: 1 } }, { x: { y: 1, z: 1 } })).toBe(false);
    expect(matches({ x: 1 }, { x: 1, y: 2 }, false)).toBe(false);
  });

  it('requires every expected key and ignores key order', () => {
    expect(matches({ x: 1, y: 1 }, { y: 1, x: 1 })).toBe(true);
    expect(matches({ x: 1, y: 1 }, { x: 1 })).toBe(false);
  });

  it('requires arrays of the same length, elements as nested documents', () => {
    expect(matches([1, 2, 3], [1, 2, 3])).toBe(true);
    expect(matches([1, 2, 3], [1, 2, 3, 4])).toBe(false);
    expect(matches([{ x: 1 }], [{ x: 1, y: 1 }])).toBe(false);
  });

  it('compares numbers by value across int32, int64 and double', () => {
    expect(matches(1, new Long(1))).toBe(true);
    expect(matches(new Int32(1), new Double(1.0))).toBe(true);
    expect(matches({ ok: 1 }, { ok: 1.0 })).toBe(true);
    expect(matches(1, 1.5)).toBe(false);
    expect(matches(1, '1')).toBe(false);
  });

  it('compares BSON scalars by value', () => {
    const id = new ObjectId();
    expect(matches(id, new ObjectId(id.toHexString()))).toBe(true);
    expect(matches(id, new ObjectId())).toBe(false);
    expect(matches(new Timestamp({ t: 1, i: 2 }), new Timestamp({ t: 1, i: 2 }))).toBe(true);
    expect(matches(new Timestamp({ t: 1, i: 2 }), new Timestamp({ t: 1, i: 3 }))).toBe(false);
    expect(matches(null, null)).toBe(true);
    expect(matches(null, 0)).toBe(false);
  });

  it('names the path of a mismatch', () => {
    expect(matchValue({ a: { b: [1, 2] } }, { a: { b: [1, 3] } })).toContain('$.a.b[1]');
  });
});

describe('special operators', () => {
  it('$$exists checks presence and absence', () => {
    expect(matches({ a: { $$exists: true } }, { a: null })).toBe(true);
    expect(matches({ a: { $$exists: true } }, {})).toBe(false);
    expect(matches({ a: { $$exists: false } }, {})).toBe(true);
    expect(matches({ a: { $$exists: false } }, { a: 1 })).toBe(false);
  });

  it('$$exists nested in $$unsetOrMatches accepts presence or absence', () => {
    expect(matches({ a: { $$unsetOrMatches: { $$exists: true } } }, {})).toBe(true);
    expect(matches({ a: { $$unsetOrMatches: { $$exists: true } } }, { a: { b: 1 } })).toBe(true);
    expect(matches({ $$unsetOrMatches: { $$exists: false } }, 1)).toBe(false);
  });

  it('$$type accepts one alias or a list', () => {
    expect(matches({ a: { $$type: 'string' } }, { a: 'x' })).toBe(true);
    expect(matches({ a: { $$type: ['int', 'long'] } }, { a: new Long(5) })).toBe(true);
    expect(matches({ a: { $$type: 'object' } }, { a: { b: 1 } })).toBe(true);
    expect(matches({ a: { $$type: 'binData' } }, { a: new Binary(Buffer.from('x')) })).toBe(true);
    expect(matches({ a: { $$type: 'string' } }, { a: 1 })).toBe(false);
    expect(matches({ a: { $$type: 'object' } }, { a: [1] })).toBe(false);
    expect(matches({ a: { $$type: 'int' } }, {})).toBe(false);
  });

  it('$$unsetOrMatches allows a missing value or a matching one', () => {
    expect(matches({ a: { $$unsetOrMatches: 2 } }, {})).toBe(true);
    expect(matches({ a: { $$unsetOrMatches: 2 } }, { a: 2 })).toBe(true);
    expect(matches({ a: { $$unsetOrMatches: 2 } }, { a: 3 })).toBe(false);
    expect(matches({ $$unsetOrMatches: { n: 1 } }, undefined)).toBe(true);
    expect(matches({ a: { $$unsetOrMatches: { n: 1 } } }, { a: { n: 1, extra: 1 } })).toBe(false);
  });

  it('$$matchesEntity compares with a saved entity', () => {
    expect(matches({ _id: { $$matchesEntity: 'savedId' } }, { _id: 42 })).toBe(true);
    expect(matches({ _id: { $$matchesEntity: 'savedId' } }, { _id: 43 })).toBe(false);
  });

  it('$$matchesHexBytes compares bytes and rejects malformed hex', () => {
    expect(matches({ $$matchesHexBytes: '0aff' }, new Binary(Buffer.from([0x0a, 0xff])))).toBe(true);
    expect(matches({ $$matchesHexBytes: '0aff' }, new Binary(Buffer.from([0x0a])))).toBe(false);
    expect(() => matchValue({ $$matchesHexBytes: 'abc' }, 'x')).toThrow(MatcherUsageError);
  });

  it('$$sessionLsid compares with a session id', () => {
    expect(
      matches({ lsid: { $$sessionLsid: 'session0' } }, { lsid: { id: new Binary(Buffer.alloc(16, 7), 4) } }),
    ).toBe(true);
    expect(
      matches({ lsid: { $$sessionLsid: 'session0' } }, { lsid: { id: new Binary(Buffer.alloc(16, 8), 4) } }),
    ).toBe(false);
  });

  it('$$lte compares numerically', () => {
    expect(matches({ n: { $$lte: 5 } }, { n: 5 })).toBe(true);
    expect(matches({ n: { $$lte: 1 } }, { n: 0.0 })).toBe(true);
    expect(matches({ n: { $$lte: 1 } }, { n: 1.1 })).toBe(false);
    expect(matches({ n: { $$lte: 1 } }, { n: 'a' })).toBe(false);
  });

  it('$$matchAsDocument parses extended JSON and treats it as nested', () => {
    expect(matches({ $$matchAsDocument: { a: 1 } }, '{"a": {"$numberInt": "1"}}')).toBe(true);
    expect(matches({ $$matchAsDocument: { a: 1 } }, '{"a": 1, "b": 2}')).toBe(false);
    expect(matches({ $$matchAsDocument: { $$matchAsRoot: { a: 1 } } }, '{"a": 1, "b": 2}')).toBe(true);
  });

  it('$$matchAsRoot allows extra keys in a nested document', () => {
    expect(matches({ x: { $$matchAsRoot: { y: 1 } } }, { x: { y: 1, z: 2 } })).toBe(true);
    expect(matches({ x: { $$matchAsRoot: { y: 1 } } }, { x: { z: 2 } })).toBe(false);
  });

  it('rejects unknown operators as a runner error, not a mismatch', () => {
    expect(() => matchValue({ $$nope: 1 }, 1)).toThrow(MatcherUsageError);
  });
});

describe('outcome comparison', () => {
  it('needs exactly the same documents at every level', () => {
    expect(documentsEqualExactly([{ _id: 1, x: { y: 1 } }], [{ x: { y: 1 }, _id: 1 }])).toBe(true);
    expect(documentsEqualExactly([{ _id: 1 }], [{ _id: 1, x: 1 }])).toBe(false);
    expect(documentsEqualExactly([{ _id: 1 }], [])).toBe(false);
  });
});

describe('driver-shaped values', () => {
  it('treats a Map (as the driver sends sort specs) as a document', () => {
    expect(matches({ sort: { _id: 1 } }, { sort: new Map([['_id', 1]]) })).toBe(true);
    expect(matches({ sort: { _id: 1 } }, { sort: new Map([['_id', -1]]) })).toBe(false);
  });
});

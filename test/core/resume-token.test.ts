import { describe, expect, it } from 'vitest';
import { MalformedResumeTokenError } from '../../functions/core/errors.js';
import { clusterTimeOfResumeToken, decodeResumeToken } from '../../functions/core/resume-token.js';
import { resumeTokenVectors } from '../support/resume-token-vectors.js';

const vectors = resumeTokenVectors();

describe('resume token vectors from real servers', () => {
  it('has vectors to check', () => {
    expect(vectors.length).toBeGreaterThanOrEqual(2);
  });

  it.each(vectors.map((vector) => [vector.what, vector] as const))('%s', (_what, vector) => {
    expect(decodeResumeToken({ _data: vector._data })).toEqual(vector.decoded);
    expect(decodeResumeToken(vector._data.toLowerCase())).toEqual(vector.decoded);
    expect(clusterTimeOfResumeToken({ _data: vector._data })).toEqual(vector.decoded.clusterTime);
  });
});

describe('malformed tokens', () => {
  const first = vectors[1]?._data ?? '';
  it.each([
    ['empty', ''],
    ['odd length', '82612'],
    ['not hex', 'ZZ612F653E000000022B0229296E04'],
    ['no cluster time first', '2B02'],
    ['cut inside the cluster time', '82612F653E'],
    ['cut inside the uuid', first.slice(0, 50)],
  ])('refuses %s', (_name, data) => {
    expect(() => decodeResumeToken({ _data: data })).toThrow(MalformedResumeTokenError);
  });

  it.each([
    ['a number', 5],
    ['an object without _data', { data: 'x' }],
    ['null', null],
  ])('refuses %s as a token', (_name, token) => {
    expect(() => decodeResumeToken(token)).toThrow(MalformedResumeTokenError);
  });

  it('decodes only the cluster time of a token with an unknown version', () => {
    const decoded = decodeResumeToken('82612F653E00000002' + '2B06' + '04');
    expect(decoded.clusterTime).toEqual({ t: 1630496062, i: 2 });
    expect(decoded.version).toBe(3);
    expect(decoded.tokenType).toBeNull();
  });
});

describe('event identifiers with other _id types (hand-built from the v2 vector)', () => {
  const v2 = vectors[1]?._data ?? '';
  // Everything up to the documentKey's value: [type 46]"documentKey\0"[type 46], then its fields.
  const head = v2.slice(0, v2.indexOf('646F63756D656E744B657900') + '646F63756D656E744B657900'.length + 2);
  const token = (idField: string) => `${head}${idField}000004`;

  it('keeps the hand-built prefix honest: the ObjectId field rebuilds the real token', () => {
    expect(token('645F6964006462' + '75077A2F3159F971E405C6')).toBe(v2);
  });

  it('decodes a small integer _id', () => {
    const decoded = decodeResumeToken(token('2B5F6964002B0A'));
    expect(decoded.eventIdentifier).toEqual({ operationType: 'insert', documentKey: { _id: 5 } });
  });

  it('decodes a string _id with an escaped NUL inside', () => {
    const decoded = decodeResumeToken(token('3C5F6964003C6100FF6200'));
    expect(decoded.eventIdentifier).toEqual({ operationType: 'insert', documentKey: { _id: 'a\u0000b' } });
  });

  it('leaves a non-integral numeric _id undecoded but keeps everything before it', () => {
    const decoded = decodeResumeToken(token('2B5F6964002B03C000000000000000'));
    expect(decoded.eventIdentifier).toBeNull();
    expect(decoded.clusterTime).toEqual({ t: 1651836794, i: 1 });
    expect(decoded.uuid).toBe('bffdb617-400e-4860-9900-7c0e0048b305');
  });

  it('refuses a field whose name type and value type disagree', () => {
    expect(() => decodeResumeToken(token('2B5F6964003C6100'))).toThrow(MalformedResumeTokenError);
  });
});

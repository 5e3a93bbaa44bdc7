import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MalformedResumeTokenError } from '../../functions/core/errors.js';
import { clusterTimeOfResumeToken, decodeResumeToken } from '../../functions/core/resume-token.js';

interface Vector {
  what: string;
  _data: string;
  decoded: Record<string, unknown>;
}
const vectors = (
  JSON.parse(readFileSync('/work/shared/mongodb-resume-tokens.json', 'utf8')) as { tokens: Vector[] }
).tokens;

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

import { describe, expect, it } from 'vitest';
import {
  decodeStoredToken,
  encodeResumeToken,
  isTokenNotFound,
  normalizeErrorCode,
  resumeAttempt,
} from '../../../functions/adapters/mongodb/resume-plan.js';
import { tokenFacts } from '../../../functions/adapters/mongodb/token-time.js';
import { NoResumePointError } from '../../../functions/core/source-errors.js';

/** A format-2 high-water-mark token as the server sends after an empty batch (uuid slot null). */
const HIGH_WATER_MARK = { _data: '826B024F34000000092B0429296E1404' };
/** The same, flagged fromInvalidate (the boolean byte 6F instead of 6E). */
const FROM_INVALIDATE = { _data: '826B024F34000000092B0429296F1404' };

describe('resume plan', () => {
  it('reads cluster time and the invalidate flag of high-water-mark tokens', () => {
    expect(tokenFacts(HIGH_WATER_MARK)).toEqual({
      clusterTime: { t: 0x6b024f34, i: 9 },
      fromInvalidate: false,
    });
    expect(tokenFacts(FROM_INVALIDATE).fromInvalidate).toBe(true);
  });

  it('tries the committed token, then its cluster time, and uses startAfter for an invalidate token', () => {
    const token = encodeResumeToken(HIGH_WATER_MARK);
    expect(decodeStoredToken(token)).toEqual(HIGH_WATER_MARK);
    const attempt = resumeAttempt({
      resumePoint: { token, clusterTime: null },
      startPoint: { token: null, clusterTime: { seconds: 1, increment: 1 } },
    });
    expect(attempt.method).toBe('resume-token');
    expect(attempt.position).toEqual({ resumeAfter: HIGH_WATER_MARK });
    expect(attempt.fallback?.method).toBe('resume-token-cluster-time');
    const fallback = attempt.fallback?.position as { startAtOperationTime: { t: number; i: number } };
    expect([fallback.startAtOperationTime.t, fallback.startAtOperationTime.i]).toEqual([0x6b024f34, 9]);
    const afterInvalidate = resumeAttempt({
      resumePoint: { token: encodeResumeToken(FROM_INVALIDATE), clusterTime: null },
      startPoint: null,
    });
    expect(afterInvalidate.position).toEqual({ startAfter: FROM_INVALIDATE });
  });

  it('falls back to the start point, token first, then cluster time, and refuses when there is none', () => {
    expect(
      resumeAttempt({
        resumePoint: { token: null, clusterTime: { seconds: 5, increment: 2 } },
        startPoint: null,
      }).method,
    ).toBe('resume-point-cluster-time');
    expect(
      resumeAttempt({
        resumePoint: null,
        startPoint: { token: encodeResumeToken(HIGH_WATER_MARK), clusterTime: null },
      }).method,
    ).toBe('start-point-token');
    expect(
      resumeAttempt({
        resumePoint: null,
        startPoint: { token: null, clusterTime: { seconds: 5, increment: 2 } },
      }).method,
    ).toBe('start-point-cluster-time');
    expect(() => resumeAttempt({ resumePoint: null, startPoint: null })).toThrow(NoResumePointError);
  });

  it('recognises the token-not-found answer, also when its code arrives as an Int32 wrapper', () => {
    const wrapped = {
      code: { valueOf: () => 280 },
      message: 'cannot resume stream; the resume token was not found. {_data: "82"}',
    };
    expect(isTokenNotFound(wrapped)).toBe(false);
    expect(isTokenNotFound(normalizeErrorCode(wrapped))).toBe(true);
    expect(isTokenNotFound({ code: 280, message: 'some other fatal change stream error' })).toBe(false);
  });
});

import { EJSON } from 'bson';
import { Timestamp } from 'mongodb';
import { NoResumePointError } from '../../core/source-errors.js';
import type { ChangeResumeRequest, ClusterTime, ResumeMethod } from '../../ports/source.js';
import { tokenFacts } from './token-time.js';

/**
 * The resume order of brief §7: the committed token (`resumeAfter`) → when the server no longer
 * finds it, `startAtOperationTime` at the token's own cluster time → the recorded start point.
 * Resume tokens are stored as canonical Extended JSON of the token document (`{"_data":"82…"}`).
 */

export type StreamPosition =
  | { resumeAfter: { _data: string } }
  | { startAfter: { _data: string } }
  | { startAtOperationTime: Timestamp };

export interface ResumeAttempt {
  method: ResumeMethod;
  position: StreamPosition;
  /** Tried instead when the server says this attempt's token was not found. */
  fallback: ResumeAttempt | null;
}

export function encodeResumeToken(token: unknown): string {
  return EJSON.stringify(token, { relaxed: false });
}

export function decodeStoredToken(text: string): { _data: string } {
  const token = EJSON.parse(text, { relaxed: false }) as { _data?: unknown };
  if (typeof token?._data !== 'string')
    throw new TypeError('a stored resume token must be {"_data": "<hex>"}');
  return { _data: token._data };
}

export function toStoreClusterTime(time: { t: number; i: number }): ClusterTime {
  return { seconds: time.t, increment: time.i };
}

function timestampOf(time: ClusterTime): Timestamp {
  return new Timestamp({ t: time.seconds, i: time.increment });
}

function tokenAttempt(text: string, method: ResumeMethod, fallbackMethod: ResumeMethod): ResumeAttempt {
  const token = decodeStoredToken(text);
  const decoded = tokenFacts(token);
  // Only startAfter accepts the token of an invalidate event (a stream that ended on a drop).
  const position: StreamPosition = decoded.fromInvalidate ? { startAfter: token } : { resumeAfter: token };
  return {
    method,
    position,
    fallback: {
      method: fallbackMethod,
      position: { startAtOperationTime: timestampOf(toStoreClusterTime(decoded.clusterTime)) },
      fallback: null,
    },
  };
}

export function resumeAttempt(request: ChangeResumeRequest): ResumeAttempt {
  const { resumePoint, startPoint } = request;
  if (resumePoint?.token) return tokenAttempt(resumePoint.token, 'resume-token', 'resume-token-cluster-time');
  if (resumePoint?.clusterTime) {
    return {
      method: 'resume-point-cluster-time',
      position: { startAtOperationTime: timestampOf(resumePoint.clusterTime) },
      fallback: null,
    };
  }
  if (startPoint?.token)
    return tokenAttempt(startPoint.token, 'start-point-token', 'start-point-token-cluster-time');
  if (startPoint?.clusterTime) {
    return {
      method: 'start-point-cluster-time',
      position: { startAtOperationTime: timestampOf(startPoint.clusterTime) },
      fallback: null,
    };
  }
  throw new NoResumePointError();
}

/** The server's answer to a resume token it does not have (280 ChangeStreamFatalError). */
export function isTokenNotFound(err: unknown): boolean {
  const { code, message } = (err ?? {}) as { code?: unknown; message?: unknown };
  return code === 280 && typeof message === 'string' && /resume token was not found/i.test(message);
}

/**
 * A change stream opened with `promoteValues: false` gets its server errors deserialised the same
 * way, so `code` arrives as an Int32 wrapper; the classifier (and isTokenNotFound) need a number.
 */
export function normalizeErrorCode<T>(err: T): T {
  const holder = err as { code?: unknown } | null;
  if (holder && typeof holder.code === 'object' && holder.code !== null) {
    const code = Number((holder.code as { valueOf(): unknown }).valueOf());
    if (Number.isInteger(code)) holder.code = code;
  }
  return err;
}

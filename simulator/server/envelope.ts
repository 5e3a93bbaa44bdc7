/**
 * Every reply carries `ok`, `$clusterTime` (with the dummy signature an auth-less server sends)
 * and `operationTime`; drivers gossip them and change streams start from them.
 */
import { Binary, type Document, Long, type Timestamp } from 'bson';
import type { CommandError } from '../contract.js';

const ZERO_SIGNATURE = { hash: new Binary(Buffer.alloc(20)), keyId: Long.ZERO };

export function clusterTimeFields(time: Timestamp): Document {
  return { $clusterTime: { clusterTime: time, signature: ZERO_SIGNATURE }, operationTime: time };
}

export function successReply(reply: Document, time: Timestamp): Document {
  const { ok, ...rest } = reply;
  return { ...rest, ok: ok ?? 1, ...clusterTimeFields(time) };
}

export function errorReply(error: CommandError, labels: string[], time: Timestamp): Document {
  return {
    ok: 0,
    errmsg: error.message,
    code: error.code,
    codeName: error.codeName,
    ...(labels.length > 0 ? { errorLabels: labels } : {}),
    ...error.extra,
    ...clusterTimeFields(time),
  };
}

import { MalformedResumeTokenError } from '../../core/errors.js';
import { decodeResumeToken } from '../../core/resume-token.js';
import type { ClusterTime } from '../../core/version.js';

/** The KeyString type byte of a Timestamp: every resume token's `_data` starts with one. */
const TIMESTAMP_CTYPE = 0x82;

export interface TokenFacts {
  clusterTime: ClusterTime;
  fromInvalidate: boolean;
}

/**
 * Cluster time (and invalidate flag) of a resume token via the core decoder. The core refuses a
 * format-2 token whose uuid slot holds null (the simulator's post-batch and database-level
 * tokens); until it accepts those, the leading cluster time and the invalidate flag are read here
 * directly, which is all such a token needs to give.
 */
export function tokenFacts(token: unknown): TokenFacts {
  try {
    const decoded = decodeResumeToken(token);
    return { clusterTime: decoded.clusterTime, fromInvalidate: decoded.fromInvalidate === true };
  } catch (err) {
    if (!(err instanceof MalformedResumeTokenError)) throw err;
    const data = (token as { _data?: unknown })?._data;
    const bytes = typeof data === 'string' && /^[0-9a-fA-F]+$/.test(data) ? Buffer.from(data, 'hex') : null;
    if (bytes === null || bytes.length < 9 || bytes[0] !== TIMESTAMP_CTYPE) throw err;
    return {
      clusterTime: { t: bytes.readUInt32BE(1), i: bytes.readUInt32BE(5) },
      fromInvalidate: readFromInvalidate(bytes.subarray(9)),
    };
  }
}

const ZERO = 0x29;
const POSITIVE_1_BYTE = 0x2b;
const POSITIVE_8_BYTES = 0x32;
const TRUE = 0x6f;

/** version, [tokenType when version ≥ 2], txnOpIndex, fromInvalidate: small non-negative ints, then a boolean. */
function readFromInvalidate(rest: Buffer): boolean {
  let offset = 0;
  const integer = (): number | null => {
    const type = rest[offset];
    if (type === ZERO) {
      offset += 1;
      return 0;
    }
    if (type === undefined || type < POSITIVE_1_BYTE || type > POSITIVE_8_BYTES) return null;
    const length = type - POSITIVE_1_BYTE + 1;
    let value = 0;
    for (let index = 1; index <= length; index++) value = value * 256 + (rest[offset + index] ?? 0);
    offset += 1 + length;
    return Math.floor(value / 2);
  };
  const version = integer();
  if (version === null) return false;
  if (version >= 2 && integer() === null) return false;
  if (integer() === null) return false;
  const flag = rest[offset];
  return flag === TRUE;
}

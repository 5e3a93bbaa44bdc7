import { MalformedResumeTokenError } from './errors.js';
import type { ClusterTime } from './version.js';

/**
 * Decode a change stream resume token's `_data`: a MongoDB KeyString, i.e. a sequence of
 * (type byte, body) pairs that sort bytewise. Only the types resume tokens use are read; the
 * event identifier (documentKey / operationType) is decoded when it holds only simple types.
 */
export interface DecodedResumeToken {
  clusterTime: ClusterTime;
  /** Token format version: 1 or 2 from current servers (2 adds tokenType and the operation type). */
  version: number | null;
  /** 0 for a high-water-mark token (no event), 128 for an event token (format version 2). */
  tokenType: number | null;
  txnOpIndex: number | null;
  fromInvalidate: boolean | null;
  /** Collection UUID, when the token belongs to an event in a collection. */
  uuid: string | null;
  /** The event's documentKey (and operationType in v2), or null when absent or not decodable here. */
  eventIdentifier: Record<string, unknown> | null;
}

const CTYPE = {
  end: 4,
  minKey: 10,
  undefined: 15,
  null: 20,
  numericZero: 41,
  numericPositive1ByteInt: 43,
  numericPositive8ByteInt: 50,
  numericNegative8ByteInt: 32,
  numericNegative1ByteInt: 39,
  string: 60,
  object: 70,
  array: 80,
  binData: 90,
  objectId: 100,
  false: 110,
  true: 111,
  date: 120,
  timestamp: 130,
  maxKey: 240,
} as const;

class Unsupported extends Error {}

class Reader {
  private offset = 0;
  constructor(private readonly bytes: Buffer) {}

  get done(): boolean {
    return this.offset >= this.bytes.length;
  }

  byte(): number {
    const value = this.bytes[this.offset];
    if (value === undefined)
      throw new MalformedResumeTokenError('resume token ends in the middle of a value');
    this.offset += 1;
    return value;
  }

  peek(): number | undefined {
    return this.bytes[this.offset];
  }

  take(length: number): Buffer {
    if (this.offset + length > this.bytes.length) {
      throw new MalformedResumeTokenError('resume token ends in the middle of a value');
    }
    const slice = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    return slice;
  }

  /** A NUL-terminated string in which a literal NUL is written as 00 FF. */
  cString(): string {
    const parts: number[] = [];
    for (;;) {
      const value = this.byte();
      if (value !== 0) parts.push(value);
      else if (this.peek() === 0xff) {
        this.offset += 1;
        parts.push(0);
      } else return Buffer.from(parts).toString('utf8');
    }
  }

  value(ctype: number): unknown {
    if (ctype === CTYPE.timestamp) {
      const body = this.take(8);
      return { t: body.readUInt32BE(0), i: body.readUInt32BE(4) };
    }
    if (ctype === CTYPE.numericZero) return 0;
    if (ctype >= CTYPE.numericPositive1ByteInt && ctype <= CTYPE.numericPositive8ByteInt) {
      return this.integer(ctype - CTYPE.numericPositive1ByteInt + 1, false);
    }
    if (ctype >= CTYPE.numericNegative8ByteInt && ctype <= CTYPE.numericNegative1ByteInt) {
      return this.integer(CTYPE.numericNegative1ByteInt - ctype + 1, true);
    }
    switch (ctype) {
      case CTYPE.null:
      case CTYPE.undefined:
        return null;
      case CTYPE.minKey:
        return { $minKey: 1 };
      case CTYPE.maxKey:
        return { $maxKey: 1 };
      case CTYPE.false:
        return false;
      case CTYPE.true:
        return true;
      case CTYPE.string:
        return this.cString();
      case CTYPE.objectId:
        return { $oid: this.take(12).toString('hex') };
      case CTYPE.date: {
        const raw = this.take(8).readBigUInt64BE(0) ^ (1n << 63n);
        return { $date: Number(BigInt.asIntN(64, raw)) };
      }
      case CTYPE.binData:
        return this.binData();
      case CTYPE.object:
        return this.object();
      case CTYPE.array:
        return this.array();
      default:
        throw new Unsupported(`KeyString type ${ctype}`);
    }
  }

  private integer(length: number, negative: boolean): number | bigint {
    let raw = 0n;
    for (const value of this.take(length)) raw = (raw << 8n) | BigInt(negative ? ~value & 0xff : value);
    // The low bit says a fractional part follows: that is a double, which this reader leaves alone.
    if ((raw & 1n) === 1n) throw new Unsupported('non-integral number');
    const magnitude = raw >> 1n;
    const signed = negative ? -magnitude : magnitude;
    return signed >= BigInt(Number.MIN_SAFE_INTEGER) && signed <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(signed)
      : signed;
  }

  binData(): { subtype: number; bytes: Buffer } {
    let size = this.byte();
    if (size === 0xff) size = this.take(4).readUInt32BE(0);
    const subtype = this.byte();
    return { subtype, bytes: this.take(size) };
  }

  private object(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (let ctype = this.byte(); ctype !== 0; ctype = this.byte()) {
      const name = this.cString();
      const valueType = this.byte();
      if (valueType !== ctype) throw new MalformedResumeTokenError('resume token field type mismatch');
      out[name] = this.value(valueType);
    }
    return out;
  }

  private array(): unknown[] {
    const out: unknown[] = [];
    for (let ctype = this.byte(); ctype !== 0; ctype = this.byte()) out.push(this.value(ctype));
    return out;
  }

  typedValue(): unknown {
    return this.value(this.byte());
  }
}

function uuidText(bytes: Buffer): string {
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function tokenData(token: unknown): string {
  if (typeof token === 'string') return token;
  const data = (token as { _data?: unknown } | null)?._data;
  if (typeof data === 'string') return data;
  throw new MalformedResumeTokenError('a resume token must be a hex string or an object with a string _data');
}

export function decodeResumeToken(token: unknown): DecodedResumeToken {
  const hex = tokenData(token);
  if (hex.length === 0 || hex.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(hex)) {
    throw new MalformedResumeTokenError('resume token _data must be a non-empty, even-length hex string');
  }
  const reader = new Reader(Buffer.from(hex, 'hex'));
  if (reader.byte() !== CTYPE.timestamp) {
    throw new MalformedResumeTokenError('resume token _data does not start with a cluster time');
  }
  const clusterTime = reader.value(CTYPE.timestamp) as ClusterTime;
  const decoded: DecodedResumeToken = {
    clusterTime,
    version: null,
    tokenType: null,
    txnOpIndex: null,
    fromInvalidate: null,
    uuid: null,
    eventIdentifier: null,
  };
  try {
    readRest(reader, decoded);
  } catch (err) {
    if (!(err instanceof Unsupported)) throw err;
  }
  return decoded;
}

function nextIsEnd(reader: Reader): boolean {
  return reader.done || reader.peek() === CTYPE.end;
}

function readInteger(reader: Reader, field: string): number {
  const value = reader.typedValue();
  if (typeof value !== 'number')
    throw new MalformedResumeTokenError(`resume token ${field} is not a small integer`);
  return value;
}

function readRest(reader: Reader, decoded: DecodedResumeToken): void {
  if (nextIsEnd(reader)) return;
  decoded.version = readInteger(reader, 'version');
  if (decoded.version !== 1 && decoded.version !== 2) return;
  if (nextIsEnd(reader)) return;
  decoded.tokenType = readInteger(reader, 'tokenType');
  if (nextIsEnd(reader)) return;
  decoded.txnOpIndex = readInteger(reader, 'txnOpIndex');
  if (nextIsEnd(reader)) return;
  const fromInvalidate = reader.typedValue();
  if (typeof fromInvalidate !== 'boolean')
    throw new MalformedResumeTokenError('resume token fromInvalidate is not a boolean');
  decoded.fromInvalidate = fromInvalidate;
  if (nextIsEnd(reader)) return;
  const uuid = reader.typedValue() as { subtype?: number; bytes?: Buffer } | null | undefined;
  // Tokens of events without a collection (high-water marks, database-level events) hold null here.
  if (uuid !== null && uuid !== undefined) {
    if (uuid.subtype !== 4 || uuid.bytes?.length !== 16)
      throw new MalformedResumeTokenError('resume token uuid is not a UUID');
    decoded.uuid = uuidText(uuid.bytes);
  }
  if (nextIsEnd(reader)) return;
  const identifier = reader.typedValue();
  if (typeof identifier === 'object' && identifier !== null && !Array.isArray(identifier)) {
    decoded.eventIdentifier = identifier as Record<string, unknown>;
  }
}

/** The cluster time to hand `startAtOperationTime` when the server no longer knows the token. */
export function clusterTimeOfResumeToken(token: unknown): ClusterTime {
  return decodeResumeToken(token).clusterTime;
}

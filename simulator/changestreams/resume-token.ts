/**
 * Change stream resume tokens as MongoDB 7.0 makes them: `{_data: <upper-case hex KeyString>}` of
 * (clusterTime, version, tokenType, txnOpIndex, fromInvalidate, uuid?, eventIdentifier?).
 * Comparing `_data` strings orders tokens the way the server orders events.
 */
import { Binary, type Document, Timestamp, UUID } from 'bson';
import { CommandError } from '../contract.js';
import { compareTimestamps } from '../oplog/clock.js';
import { decodeKey, encodeKey } from './keystring.js';

export const TOKEN_VERSION = 2;
export const HIGH_WATER_MARK = 0;
export const EVENT_TOKEN = 128;

export interface ResumeTokenData {
  clusterTime: Timestamp;
  version: number;
  /** 0 for a high-water mark (no event), 128 for an event. */
  tokenType: number;
  /** Position of the event inside its transaction's applyOps. */
  txnOpIndex: number;
  fromInvalidate: boolean;
  uuid?: UUID;
  /** Version 2: `{operationType, documentKey}` for CRUD, `{operationType, operationDescription}` for DDL. */
  eventIdentifier?: Document;
}

/** The token document: `_typeBits` is present only when some value's numeric type needs it. */
export interface ResumeTokenDocument {
  _data: string;
  _typeBits?: Binary;
}

export function encodeResumeToken(data: ResumeTokenData): ResumeTokenDocument {
  const values: unknown[] = [data.clusterTime, data.version];
  if (data.version >= 1) values.push(data.tokenType);
  values.push(data.txnOpIndex);
  if (data.version >= 1) values.push(data.fromInvalidate);
  // From version 2 on, a missing UUID is written as an explicit null.
  if (data.uuid) values.push(data.uuid);
  else if (data.version >= 2) values.push(null);
  if (data.eventIdentifier) values.push(data.eventIdentifier);
  const { key, typeBits } = encodeKey(values);
  const token: ResumeTokenDocument = { _data: key.toString('hex').toUpperCase() };
  if (typeBits) token._typeBits = typeBits;
  return token;
}

export function highWaterMarkToken(clusterTime: Timestamp): ResumeTokenDocument {
  return encodeResumeToken({
    clusterTime,
    version: TOKEN_VERSION,
    tokenType: HIGH_WATER_MARK,
    txnOpIndex: 0,
    fromInvalidate: false,
  });
}

function invalidToken(reason: string): CommandError {
  return new CommandError(260, 'InvalidResumeToken', `Invalid resume token: ${reason}`);
}

function asNumber(value: unknown, field: string): number {
  if (typeof value !== 'number') throw invalidToken(`${field} is not a number`);
  return value;
}

/** Reads a token document (`{_data: hex}`) back into its parts; throws 260 InvalidResumeToken. */
export function decodeResumeToken(token: unknown): ResumeTokenData {
  if (token === null || typeof token !== 'object' || typeof (token as Document)._data !== 'string') {
    throw invalidToken('expected an object with a string _data field');
  }
  const hex = (token as Document)._data as string;
  if (!/^([0-9A-Fa-f]{2})+$/.test(hex)) throw invalidToken('_data is not a hex string');
  const typeBits = (token as Document)._typeBits;
  if (typeBits !== undefined && !(typeBits instanceof Binary)) throw invalidToken('_typeBits is not BinData');
  let values: unknown[];
  try {
    values = decodeKey(Buffer.from(hex, 'hex'), typeBits);
  } catch (error) {
    throw invalidToken((error as Error).message);
  }
  const [clusterTime, versionValue, ...rest] = values;
  if (!(clusterTime instanceof Timestamp)) throw invalidToken('the first value is not a Timestamp');
  const version = asNumber(versionValue, 'version');
  if (version < 0 || version > TOKEN_VERSION) throw invalidToken(`unsupported version ${version}`);
  const tokenType = version >= 1 ? asNumber(rest.shift(), 'tokenType') : EVENT_TOKEN;
  const txnOpIndex = asNumber(rest.shift(), 'txnOpIndex');
  let fromInvalidate = false;
  if (version >= 1) {
    const flag = rest.shift();
    if (typeof flag !== 'boolean') throw invalidToken('fromInvalidate is not a boolean');
    fromInvalidate = flag;
  }
  const data: ResumeTokenData = { clusterTime, version, tokenType, txnOpIndex, fromInvalidate };
  let next = rest.shift();
  if (next === null) {
    next = rest.shift();
  } else if (next instanceof Binary) {
    if (next.sub_type !== Binary.SUBTYPE_UUID || next.position !== 16)
      throw invalidToken('bad collection UUID');
    data.uuid = new UUID(Buffer.from(next.buffer.subarray(0, 16)));
    next = rest.shift();
  }
  if (next !== undefined) {
    if (next === null || typeof next !== 'object') throw invalidToken('bad event identifier');
    data.eventIdentifier = next as Document;
  }
  return data;
}

/** Orders two token documents as the server orders them (their `_data` strings). */
export function compareTokens(a: { _data: string }, b: { _data: string }): number {
  return a._data < b._data ? -1 : a._data > b._data ? 1 : 0;
}

/** Orders positions (clusterTime, txnOpIndex) without event identity. */
export function comparePositions(a: ResumeTokenData, b: ResumeTokenData): number {
  return compareTimestamps(a.clusterTime, b.clusterTime) || a.txnOpIndex - b.txnOpIndex;
}

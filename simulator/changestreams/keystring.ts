/**
 * The subset of the server's KeyString (V1) encoding that resume tokens use: each value is a type
 * byte followed by a big-endian, order-preserving body, so comparing the bytes (or their hex)
 * orders values the way the server orders them. Type bits (which tell an int from a long or a
 * double with the same value) are not produced: tokens compare by their key bytes only.
 */
import { Binary, type Document, Long, ObjectId, Timestamp } from 'bson';

/** Type bytes (the server's `CType`). */
const T = {
  minKey: 10,
  undefined: 15,
  null: 20,
  zero: 41,
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
  /** kNumericPositive1ByteInt; N-byte positive ints use +N-1. */
  positive1ByteInt: 43,
  positiveLargeMagnitude: 51,
  /** kNumericNegative1ByteInt; N-byte negative ints use -(N-1). */
  negative1ByteInt: 39,
  negativeLargeMagnitude: 31,
  end: 4,
} as const;

export class KeyStringError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyStringError';
  }
}

class ByteWriter {
  private readonly bytes: number[] = [];
  byte(value: number): void {
    this.bytes.push(value & 0xff);
  }
  raw(buffer: Uint8Array): void {
    for (const value of buffer) this.bytes.push(value);
  }
  toBuffer(): Buffer {
    return Buffer.from(this.bytes);
  }
}

function bigIntBytes(value: bigint, length: number): number[] {
  const out: number[] = [];
  for (let shift = BigInt((length - 1) * 8); shift >= 0n; shift -= 8n) {
    out.push(Number((value >> shift) & 0xffn));
  }
  return out;
}

function writeInteger(out: ByteWriter, value: bigint): void {
  if (value === 0n) {
    out.byte(T.zero);
    return;
  }
  const negative = value < 0n;
  // The low bit flags a fractional part; integers leave it clear.
  const preshifted = (negative ? -value : value) << 1n;
  let length = 1;
  while (length < 8 && preshifted >> BigInt(length * 8) !== 0n) length += 1;
  if (preshifted >> 64n !== 0n) throw new KeyStringError(`integer ${value} is out of the 64-bit range`);
  out.byte(negative ? T.negative1ByteInt - (length - 1) : T.positive1ByteInt + (length - 1));
  for (const byte of bigIntBytes(preshifted, length)) out.byte(negative ? ~byte : byte);
}

function writeDouble(out: ByteWriter, value: number): void {
  if (Number.isInteger(value) && Math.abs(value) <= Number.MAX_SAFE_INTEGER) {
    writeInteger(out, BigInt(value));
    return;
  }
  // Simplification: fractional and huge doubles sort by their IEEE bits (not the server's exact
  // bytes); such `_id`s are rare and still produce stable, distinct tokens.
  const buffer = Buffer.alloc(8);
  buffer.writeDoubleBE(Math.abs(value));
  out.byte(value < 0 ? T.negativeLargeMagnitude : T.positiveLargeMagnitude);
  for (const byte of buffer) out.byte(value < 0 ? ~byte : byte);
}

/** Strings end with a 0 byte, so embedded zeros are escaped as 00 FF. */
function writeCString(out: ByteWriter, text: string): void {
  for (const byte of Buffer.from(text, 'utf8')) {
    out.byte(byte);
    if (byte === 0) out.byte(0xff);
  }
  out.byte(0);
}

function writeBinData(out: ByteWriter, subType: number, data: Uint8Array): void {
  out.byte(T.binData);
  if (data.length < 0xff) {
    out.byte(data.length);
  } else {
    out.byte(0xff);
    out.raw(Buffer.from(bigIntBytes(BigInt(data.length), 4)));
  }
  out.byte(subType);
  out.raw(data);
}

/** Writes one value: its type byte, then its order-preserving body. */
function writeValue(out: ByteWriter, value: unknown): void {
  if (value === null) out.byte(T.null);
  else if (value === undefined) out.byte(T.undefined);
  else if (typeof value === 'boolean') out.byte(value ? T.true : T.false);
  else if (typeof value === 'string') {
    out.byte(T.string);
    writeCString(out, value);
  } else if (typeof value === 'number') writeDouble(out, value);
  else if (typeof value === 'bigint') writeInteger(out, value);
  else if (value instanceof Date) {
    out.byte(T.date);
    // Flipping the sign bit makes the signed millisecond count sort as unsigned bytes.
    const millis = BigInt.asUintN(64, BigInt(value.getTime()) ^ (1n << 63n));
    out.raw(Buffer.from(bigIntBytes(millis, 8)));
  } else if (Array.isArray(value)) {
    out.byte(T.array);
    for (const item of value) writeValue(out, item);
    out.byte(0);
  } else {
    writeBsonValue(out, value as { _bsontype?: string });
  }
}

function writeBsonValue(out: ByteWriter, value: { _bsontype?: string }): void {
  switch (value._bsontype) {
    case 'Timestamp': {
      const ts = value as Timestamp;
      out.byte(T.timestamp);
      out.raw(
        Buffer.from([...bigIntBytes(BigInt(ts.high >>> 0), 4), ...bigIntBytes(BigInt(ts.low >>> 0), 4)]),
      );
      break;
    }
    case 'Long':
      writeInteger(out, (value as Long).toBigInt());
      break;
    case 'Int32':
    case 'Double':
      writeDouble(out, (value as { valueOf(): number }).valueOf());
      break;
    case 'ObjectId':
      out.byte(T.objectId);
      out.raw((value as ObjectId).id);
      break;
    case 'Binary': {
      const binary = value as Binary;
      writeBinData(out, binary.sub_type, binary.buffer.subarray(0, binary.position));
      break;
    }
    case 'MinKey':
      out.byte(T.minKey);
      break;
    case 'MaxKey':
      out.byte(T.maxKey);
      break;
    case undefined:
      out.byte(T.object);
      writeObjectBody(out, value as Document);
      break;
    default:
      throw new KeyStringError(`cannot encode a ${value._bsontype} value in a resume token`);
  }
}

function writeObjectBody(out: ByteWriter, doc: Document): void {
  for (const [name, fieldValue] of Object.entries(doc)) {
    if (fieldValue === undefined) continue;
    const field = new ByteWriter();
    writeValue(field, fieldValue);
    const bytes = field.toBuffer();
    // Each field is (type byte, name, value) so objects order by type, then name, then value.
    out.byte(bytes[0] ?? T.null);
    writeCString(out, name);
    out.raw(bytes);
  }
  out.byte(0);
}

/** Encodes the values of a key (field names are not part of a top-level key). */
export function encodeKey(values: unknown[]): Buffer {
  const out = new ByteWriter();
  for (const value of values) writeValue(out, value);
  out.byte(T.end);
  return out.toBuffer();
}

class ByteReader {
  private offset = 0;
  constructor(private readonly bytes: Buffer) {}
  byte(): number {
    const value = this.bytes[this.offset];
    if (value === undefined) throw new KeyStringError('key ends early');
    this.offset += 1;
    return value;
  }
  peek(): number | undefined {
    return this.bytes[this.offset];
  }
  take(length: number): Buffer {
    if (this.offset + length > this.bytes.length) throw new KeyStringError('key ends early');
    const slice = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    return slice;
  }
  cString(): string {
    const collected: number[] = [];
    for (;;) {
      const value = this.byte();
      if (value === 0) {
        if (this.peek() === 0xff) {
          this.offset += 1;
          collected.push(0);
          continue;
        }
        return Buffer.from(collected).toString('utf8');
      }
      collected.push(value);
    }
  }
}

function readUnsigned(bytes: Buffer, invert: boolean): bigint {
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(invert ? ~byte & 0xff : byte);
  return value;
}

function integerValue(value: bigint): number | Long {
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(value)
    : Long.fromBigInt(value);
}

function readValue(reader: ByteReader, type: number): unknown {
  if (type >= T.positive1ByteInt && type < T.positive1ByteInt + 8) {
    return integerValue(readUnsigned(reader.take(type - T.positive1ByteInt + 1), false) >> 1n);
  }
  if (type <= T.negative1ByteInt && type > T.negative1ByteInt - 8) {
    return integerValue(-(readUnsigned(reader.take(T.negative1ByteInt - type + 1), true) >> 1n));
  }
  switch (type) {
    case T.zero:
      return 0;
    case T.positiveLargeMagnitude:
      return reader.take(8).readDoubleBE();
    case T.negativeLargeMagnitude:
      return -Buffer.from(reader.take(8).map((byte) => ~byte & 0xff)).readDoubleBE();
    case T.null:
      return null;
    case T.undefined:
      return undefined;
    case T.true:
      return true;
    case T.false:
      return false;
    case T.string:
      return reader.cString();
    case T.objectId:
      return new ObjectId(Buffer.from(reader.take(12)));
    case T.date:
      return new Date(Number(BigInt.asIntN(64, readUnsigned(reader.take(8), false) ^ (1n << 63n))));
    case T.timestamp: {
      const bytes = reader.take(8);
      return new Timestamp({ t: bytes.readUInt32BE(0), i: bytes.readUInt32BE(4) });
    }
    case T.binData: {
      let length = reader.byte();
      if (length === 0xff) length = reader.take(4).readUInt32BE(0);
      const subType = reader.byte();
      return new Binary(Buffer.from(reader.take(length)), subType);
    }
    case T.array: {
      const items: unknown[] = [];
      for (let next = reader.byte(); next !== 0; next = reader.byte()) items.push(readValue(reader, next));
      return items;
    }
    case T.object: {
      const doc: Document = {};
      for (let fieldType = reader.byte(); fieldType !== 0; fieldType = reader.byte()) {
        const name = reader.cString();
        doc[name] = readValue(reader, reader.byte());
      }
      return doc;
    }
    case T.minKey:
    case T.maxKey:
      throw new KeyStringError('MinKey/MaxKey are not expected in a resume token');
    default:
      throw new KeyStringError(`unknown KeyString type byte 0x${type.toString(16)}`);
  }
}

/** Decodes the values of a key produced by `encodeKey`. */
export function decodeKey(bytes: Buffer): unknown[] {
  const reader = new ByteReader(bytes);
  const values: unknown[] = [];
  for (let type = reader.byte(); type !== T.end; type = reader.byte()) values.push(readValue(reader, type));
  return values;
}

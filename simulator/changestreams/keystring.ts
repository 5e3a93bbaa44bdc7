/**
 * The subset of the server's KeyString (V1) encoding that resume tokens use: each value is a type
 * byte followed by a big-endian, order-preserving body, so comparing the bytes (or their hex)
 * orders values the way the server orders them. Field names are part of object bodies; the
 * numeric type of each number goes to the separate type bits.
 */
import { Binary, Decimal128, type Document, Double, type Int32, Long, ObjectId, Timestamp } from 'bson';
import { KeyStringError } from './keystring-errors.js';
import { decodeNumber, encodeDouble, encodeInteger, isNumericType } from './keystring-numbers.js';
import { type NumberKind, TypeBitsReader, TypeBitsWriter } from './type-bits.js';

export { KeyStringError } from './keystring-errors.js';

/** Type bytes (the server's `CType`) other than numbers. */
const T = {
  minKey: 10,
  undefined: 15,
  null: 20,
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
  end: 4,
} as const;

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

class KeyWriter {
  readonly bytes: number[] = [];
  readonly typeBits = new TypeBitsWriter();
  byte(value: number): void {
    this.bytes.push(value & 0xff);
  }
  raw(buffer: Iterable<number>): void {
    for (const value of buffer) this.bytes.push(value);
  }
}

function bigEndian(value: bigint, length: number): number[] {
  const out: number[] = [];
  for (let index = length - 1; index >= 0; index -= 1) out.push(Number((value >> BigInt(index * 8)) & 0xffn));
  return out;
}

/** Strings end with a 0 byte, so embedded zeros are escaped as 00 FF. */
function writeCString(out: KeyWriter, text: string): void {
  for (const byte of Buffer.from(text, 'utf8')) {
    out.byte(byte);
    if (byte === 0) out.byte(0xff);
  }
  out.byte(0);
}

function writeNumber(out: KeyWriter, value: number, kind: 'int' | 'double'): void {
  out.typeBits.number(kind);
  out.raw(kind === 'double' ? encodeDouble(value) : encodeInteger(BigInt(value)));
}

/** A JS number is written the way the driver would serialise it: int32 when it fits, else double. */
function writePlainNumber(out: KeyWriter, value: number): void {
  const isInt32 =
    Number.isInteger(value) && value >= INT32_MIN && value <= INT32_MAX && !Object.is(value, -0);
  writeNumber(out, value, isInt32 ? 'int' : 'double');
}

function writeValue(out: KeyWriter, value: unknown): void {
  if (value === null) out.byte(T.null);
  else if (value === undefined) out.byte(T.undefined);
  else if (typeof value === 'boolean') out.byte(value ? T.true : T.false);
  else if (typeof value === 'string') {
    out.byte(T.string);
    out.typeBits.string();
    writeCString(out, value);
  } else if (typeof value === 'number') writePlainNumber(out, value);
  else if (typeof value === 'bigint') {
    out.typeBits.number('long');
    out.raw(encodeInteger(value));
  } else if (value instanceof Date) {
    out.byte(T.date);
    // Flipping the sign bit makes the signed millisecond count sort as unsigned bytes.
    out.raw(bigEndian(BigInt.asUintN(64, BigInt(value.getTime()) ^ (1n << 63n)), 8));
  } else if (Array.isArray(value)) {
    out.byte(T.array);
    for (const item of value) writeValue(out, item);
    out.byte(0);
  } else {
    writeBsonValue(out, value as { _bsontype?: string });
  }
}

function writeBsonValue(out: KeyWriter, value: { _bsontype?: string }): void {
  switch (value._bsontype) {
    case 'Timestamp': {
      const ts = value as Timestamp;
      out.byte(T.timestamp);
      out.raw([...bigEndian(BigInt(ts.high >>> 0), 4), ...bigEndian(BigInt(ts.low >>> 0), 4)]);
      break;
    }
    case 'Long':
      out.typeBits.number('long');
      out.raw(encodeInteger((value as Long).toBigInt()));
      break;
    case 'Int32':
      writeNumber(out, (value as Int32).value, 'int');
      break;
    case 'Double':
      writeNumber(out, (value as Double).value, 'double');
      break;
    case 'Decimal128': {
      // Decimals equal to a double get the double's bytes, as on the server; others are close
      // (ordered by their nearest double) but not byte-exact.
      const decimal = value as Decimal128;
      out.typeBits.decimal(decimalExponent(decimal));
      out.raw(encodeDouble(Number(decimal.toString())));
      break;
    }
    case 'ObjectId':
      out.byte(T.objectId);
      out.raw((value as ObjectId).id);
      break;
    case 'Binary': {
      const binary = value as Binary;
      const data = binary.buffer.subarray(0, binary.position);
      out.byte(T.binData);
      if (data.length < 0xff) out.byte(data.length);
      else out.raw([0xff, ...bigEndian(BigInt(data.length), 4)]);
      out.byte(binary.sub_type);
      out.raw(data);
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

/** The biased exponent of a Decimal128 (IEEE 754-2008 BID layout, little-endian bytes). */
function decimalExponent(decimal: Decimal128): number {
  const high = Buffer.from(decimal.bytes).readBigUInt64LE(8);
  const largeCoefficient = ((high >> 61n) & 3n) === 3n;
  return Number((high >> (largeCoefficient ? 47n : 49n)) & 0x3fffn);
}

function writeObjectBody(out: KeyWriter, doc: Document): void {
  for (const [name, fieldValue] of Object.entries(doc)) {
    if (fieldValue === undefined) continue;
    // Each field is (type byte, name, value) so objects order by type, then name, then value.
    const at = out.bytes.length;
    writeCString(out, name);
    const nameBytes = out.bytes.splice(at);
    const valueStart = out.bytes.length;
    writeValue(out, fieldValue);
    const valueBytes = out.bytes.splice(valueStart);
    out.byte(valueBytes[0] ?? T.null);
    out.raw(nameBytes);
    out.raw(valueBytes);
  }
  out.byte(0);
}

/** Encodes the values of a key (field names are not part of a top-level key). */
export function encodeKey(values: unknown[]): { key: Buffer; typeBits: Binary | undefined } {
  const out = new KeyWriter();
  for (const value of values) writeValue(out, value);
  out.byte(T.end);
  return { key: Buffer.from(out.bytes), typeBits: out.typeBits.toBinary() };
}

class KeyReader {
  private offset = 0;
  constructor(
    private readonly bytes: Buffer,
    readonly typeBits: TypeBitsReader,
  ) {}
  byte(): number {
    const value = this.bytes[this.offset];
    if (value === undefined) throw new KeyStringError('key ends early');
    this.offset += 1;
    return value;
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
      if (value !== 0) collected.push(value);
      else if (this.bytes[this.offset] === 0xff) {
        this.offset += 1;
        collected.push(0);
      } else return Buffer.from(collected).toString('utf8');
    }
  }
}

function typedNumber(raw: bigint | number, kind: NumberKind): unknown {
  if (kind === 'long') return Long.fromBigInt(BigInt(raw));
  if (kind === 'decimal') return Decimal128.fromString(String(Number(raw)));
  if (kind === 'double') return Number.isInteger(Number(raw)) ? new Double(Number(raw)) : Number(raw);
  return Number(raw);
}

function readValue(reader: KeyReader, type: number): unknown {
  if (isNumericType(type))
    return typedNumber(
      decodeNumber(type, (length) => reader.take(length)),
      reader.typeBits.number(),
    );
  switch (type) {
    case T.null:
      return null;
    case T.undefined:
      return undefined;
    case T.true:
      return true;
    case T.false:
      return false;
    case T.string:
      reader.typeBits.string();
      return reader.cString();
    case T.objectId:
      return new ObjectId(Buffer.from(reader.take(12)));
    case T.date:
      return new Date(Number(BigInt.asIntN(64, reader.take(8).readBigUInt64BE() ^ (1n << 63n))));
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
    default:
      throw new KeyStringError(`unexpected KeyString type byte 0x${type.toString(16)}`);
  }
}

/** Decodes the values of a key produced by `encodeKey` (with its type bits, when it has any). */
export function decodeKey(bytes: Buffer, typeBits?: Binary): unknown[] {
  const reader = new KeyReader(bytes, new TypeBitsReader(typeBits));
  const values: unknown[] = [];
  for (let type = reader.byte(); type !== T.end; type = reader.byte()) values.push(readValue(reader, type));
  return values;
}

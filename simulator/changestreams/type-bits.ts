/**
 * KeyString type bits: what the key bytes leave out (Int32 vs Long vs Double, String vs Symbol),
 * two bits per number and one per string, packed from the low bit of each byte. A resume token
 * carries them as `_typeBits` only when some bit is set.
 */
import { Binary } from 'bson';

export type NumberKind = 'int' | 'long' | 'double' | 'decimal';

const KIND_BITS: Record<NumberKind, [number, number]> = {
  int: [0, 0],
  long: [0, 1],
  double: [1, 0],
  decimal: [1, 1],
};

/** A Decimal128 also records the low bits of its exponent (its precision). */
const DECIMAL_EXPONENT_BITS = 6;

/** Above this many data bytes the server switches to a 4-byte length prefix. */
const MAX_SHORT_ENCODING = 127;

export class TypeBitsWriter {
  private readonly bits: number[] = [];

  string(): void {
    this.bits.push(0);
  }

  number(kind: Exclude<NumberKind, 'decimal'>): void {
    this.bits.push(...KIND_BITS[kind]);
  }

  decimal(biasedExponent: number): void {
    this.bits.push(...KIND_BITS.decimal);
    for (let bit = DECIMAL_EXPONENT_BITS - 1; bit >= 0; bit -= 1) this.bits.push((biasedExponent >> bit) & 1);
  }

  /** The `_typeBits` value, or undefined when every bit is zero (the server omits it then). */
  toBinary(): Binary | undefined {
    if (!this.bits.includes(1)) return undefined;
    const data = Buffer.alloc(Math.ceil(this.bits.length / 8));
    this.bits.forEach((bit, index) => {
      if (bit) data[index >> 3] = (data[index >> 3] ?? 0) | (1 << (index & 7));
    });
    let encoded: Buffer;
    if (data.length === 1 && ((data[0] ?? 0) & 0x80) === 0) {
      encoded = data;
    } else if (data.length <= MAX_SHORT_ENCODING) {
      encoded = Buffer.concat([Buffer.from([0x80 | data.length]), data]);
    } else {
      const size = Buffer.alloc(4);
      size.writeUInt32LE(data.length);
      encoded = Buffer.concat([Buffer.from([0x80]), size, data]);
    }
    return new Binary(encoded, Binary.SUBTYPE_DEFAULT);
  }
}

/** Reads type bits back (for decoding tokens into typed values). */
export class TypeBitsReader {
  private readonly data: Buffer;
  private position = 0;

  constructor(typeBits: Binary | undefined) {
    const raw = typeBits ? Buffer.from(typeBits.buffer.subarray(0, typeBits.position)) : Buffer.alloc(0);
    const first = raw[0] ?? 0;
    if (raw.length === 0 || first === 0) this.data = Buffer.alloc(0);
    else if ((first & 0x80) === 0) this.data = raw.subarray(0, 1);
    else if (first === 0x80) this.data = raw.subarray(5, 5 + raw.readUInt32LE(1));
    else this.data = raw.subarray(1, 1 + (first & 0x7f));
  }

  private bit(): number {
    const byte = this.data[this.position >> 3] ?? 0;
    const bit = (byte >> (this.position & 7)) & 1;
    this.position += 1;
    return bit;
  }

  string(): void {
    this.bit();
  }

  number(): NumberKind {
    const high = this.bit();
    const low = this.bit();
    if (high === 0) return low === 0 ? 'int' : 'long';
    if (low === 0) return 'double';
    for (let bit = 0; bit < DECIMAL_EXPONENT_BITS; bit += 1) this.bit();
    return 'decimal';
  }
}

/**
 * KeyString (V1) bodies of numbers. All numeric types share one encoding ordered by value, so
 * Int32 1, Long 1 and Double 1.0 give the same bytes (type bits tell them apart):
 * - integers (and integral doubles below 2^63): a type byte giving the sign and byte count, then
 *   the magnitude shifted left by one (the low bit flags a fractional part);
 * - doubles with a fraction: the same integer bytes with the flag set, then fraction bytes, 8
 *   bytes in all;
 * - magnitudes below 1 and from 2^63 up: the IEEE bits, shifted to leave room for a marker bit.
 * Negative values invert their body bytes so they sort below positives.
 */
import { KeyStringError } from './keystring-errors.js';

/** Type bytes of the numeric range (the server's `CType::kNumeric*`). */
export const NUMERIC = {
  nan: 30,
  negativeLargeMagnitude: 31,
  negative8ByteInt: 32,
  negative1ByteInt: 39,
  negativeSmallMagnitude: 40,
  zero: 41,
  positiveSmallMagnitude: 42,
  positive1ByteInt: 43,
  positive8ByteInt: 50,
  positiveLargeMagnitude: 51,
} as const;

const TWO_63 = 2 ** 63;
const MASK_64 = (1n << 64n) - 1n;

function toBytes(value: bigint, length: number, invert: boolean): number[] {
  const out: number[] = [];
  for (let index = length - 1; index >= 0; index -= 1) {
    const byte = Number((value >> BigInt(index * 8)) & 0xffn);
    out.push(invert ? ~byte & 0xff : byte);
  }
  return out;
}

function doubleBits(value: number): bigint {
  const buffer = Buffer.alloc(8);
  buffer.writeDoubleBE(value);
  return buffer.readBigUInt64BE();
}

function bitsToDouble(bits: bigint): number {
  const buffer = Buffer.alloc(8);
  buffer.writeBigUInt64BE(bits & MASK_64);
  return buffer.readDoubleBE();
}

function byteLength(value: bigint): number {
  let length = 1;
  while (length < 8 && value >> BigInt(length * 8) !== 0n) length += 1;
  return length;
}

/** Type byte and body of an integer in the signed 64-bit range. */
export function encodeInteger(value: bigint): number[] {
  if (value === 0n) return [NUMERIC.zero];
  if (value === -(1n << 63n)) return encodeLargeDouble(-TWO_63);
  if (value >= 1n << 63n || value < -(1n << 63n))
    throw new KeyStringError(`integer ${value} is out of range`);
  const negative = value < 0n;
  const preshifted = (negative ? -value : value) << 1n;
  const length = byteLength(preshifted);
  const type = negative ? NUMERIC.negative1ByteInt - (length - 1) : NUMERIC.positive1ByteInt + (length - 1);
  return [type, ...toBytes(preshifted, length, negative)];
}

function encodeLargeDouble(value: number): number[] {
  const negative = value < 0;
  const type = negative ? NUMERIC.negativeLargeMagnitude : NUMERIC.positiveLargeMagnitude;
  const encoded = Number.isFinite(value)
    ? (doubleBits(Math.abs(value)) << 1n) & ~(1n << 63n) & MASK_64
    : MASK_64;
  return [type, ...toBytes(encoded, 8, negative)];
}

/** Type byte and body of a double (the server's encoding with an "equal to double" marker). */
export function encodeDouble(value: number): number[] {
  if (Number.isNaN(value)) return [NUMERIC.nan];
  if (value === 0) return [NUMERIC.zero];
  const negative = value < 0;
  const magnitude = Math.abs(value);
  if (magnitude < 1) {
    // Magnitudes down to 2^-255 keep two spare bits; smaller ones are not expected in keys here.
    const encoded = (doubleBits(magnitude) << 2n) & MASK_64;
    const type = negative ? NUMERIC.negativeSmallMagnitude : NUMERIC.positiveSmallMagnitude;
    return [type, ...toBytes(encoded, 8, negative)];
  }
  if (magnitude >= TWO_63) return encodeLargeDouble(value);
  const integerPart = BigInt(Math.floor(magnitude));
  if (Number(integerPart) === magnitude) return encodeInteger(negative ? -integerPart : integerPart);
  const leadingZeroBits = 64 - (integerPart << 1n).toString(2).length;
  const fractionalBytes = Math.floor(leadingZeroBits / 8);
  const type = negative
    ? NUMERIC.negative8ByteInt + fractionalBytes
    : NUMERIC.positive8ByteInt - fractionalBytes;
  // magnitude * 256^fractionalBytes is exact: it only moves the binary point.
  const scaled = BigInt(magnitude * 256 ** fractionalBytes);
  const encoded = scaled + ((integerPart + 1n) << BigInt(fractionalBytes * 8));
  return [type, ...toBytes(encoded, 8, negative)];
}

/** Whether a type byte starts a number. */
export function isNumericType(type: number): boolean {
  return type >= NUMERIC.nan && type <= NUMERIC.positiveLargeMagnitude;
}

/** Reads a number's body after its type byte; integers come back as bigint, others as number. */
export function decodeNumber(type: number, take: (length: number) => Buffer): bigint | number {
  if (type === NUMERIC.zero) return 0n;
  if (type === NUMERIC.nan) return Number.NaN;
  const negative = type < NUMERIC.zero;
  const read = (length: number): bigint => {
    let value = 0n;
    for (const byte of take(length)) value = (value << 8n) | BigInt(negative ? ~byte & 0xff : byte);
    return value;
  };
  const sign = negative ? -1 : 1;
  if (type === NUMERIC.positiveLargeMagnitude || type === NUMERIC.negativeLargeMagnitude) {
    const encoded = read(8);
    if (encoded === MASK_64) return sign * Number.POSITIVE_INFINITY;
    return sign * bitsToDouble((encoded >> 1n) | (1n << 62n));
  }
  if (type === NUMERIC.positiveSmallMagnitude || type === NUMERIC.negativeSmallMagnitude) {
    return sign * bitsToDouble(read(8) >> 2n);
  }
  const integerBytes = negative ? NUMERIC.negative1ByteInt - type + 1 : type - NUMERIC.positive1ByteInt + 1;
  const preshifted = read(integerBytes);
  const integerPart = preshifted >> 1n;
  if ((preshifted & 1n) === 0n) return negative ? -integerPart : integerPart;
  const fractionalBytes = 8 - integerBytes;
  const fraction = read(fractionalBytes);
  const encoded = (preshifted << BigInt(fractionalBytes * 8)) | fraction;
  const scaled = encoded - ((integerPart + 1n) << BigInt(fractionalBytes * 8));
  return sign * (Number(scaled) / 256 ** fractionalBytes);
}

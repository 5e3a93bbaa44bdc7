/**
 * CityHash128 as ClickHouse computes it for its compressed blocks' checksums: Google's CityHash
 * v1.0.2 (ClickHouse bundles that old version, whose results differ from later CityHash releases).
 *
 * JavaScript has no 64-bit integer arithmetic short of BigInt, which allocates on every operation
 * and is far too slow for 1 MiB blocks, so each 64-bit word is two unsigned 32-bit halves and the
 * arithmetic is done modulo 2^64 by hand. Checked against checksums written by ClickHouse itself
 * (test/fixtures/clickhouse/cityhash128-vectors.json).
 */

interface U64 {
  readonly hi: number;
  readonly lo: number;
}

function u64(hi: number, lo: number): U64 {
  return { hi: hi >>> 0, lo: lo >>> 0 };
}

function fromLength(length: number): U64 {
  return u64(Math.floor(length / 0x1_0000_0000), length);
}

const K0 = u64(0xc3a5c85c, 0x97cb3127);
const K1 = u64(0xb492b66f, 0xbe98f273);
const K2 = u64(0x9ae16a3b, 0x2f90404f);
const K3 = u64(0xc949d7c7, 0x509e6557);
const K_MUL = u64(0x9ddfea08, 0xeb382d69);

function add(a: U64, b: U64): U64 {
  const lo = a.lo + b.lo;
  return { hi: (a.hi + b.hi + (lo > 0xffffffff ? 1 : 0)) >>> 0, lo: lo >>> 0 };
}

function sub(a: U64, b: U64): U64 {
  const lo = a.lo - b.lo;
  return { hi: (a.hi - b.hi - (lo < 0 ? 1 : 0)) >>> 0, lo: lo >>> 0 };
}

function xor(a: U64, b: U64): U64 {
  return { hi: (a.hi ^ b.hi) >>> 0, lo: (a.lo ^ b.lo) >>> 0 };
}

/** a × b modulo 2^64: the low halves' full product (from 16-bit pieces) plus the cross terms' low 32 bits. */
function mul(a: U64, b: U64): U64 {
  const aLow = a.lo & 0xffff;
  const aHigh = a.lo >>> 16;
  const bLow = b.lo & 0xffff;
  const bHigh = b.lo >>> 16;
  const middle1 = aHigh * bLow;
  const middle2 = aLow * bHigh;
  const low = aLow * bLow;
  const carry = Math.floor(((low >>> 16) + (middle1 & 0xffff) + (middle2 & 0xffff)) / 0x10000);
  const highOfLow = aHigh * bHigh + (middle1 >>> 16) + (middle2 >>> 16) + carry;
  return {
    hi: (highOfLow + Math.imul(a.hi, b.lo) + Math.imul(a.lo, b.hi)) >>> 0,
    lo: Math.imul(a.lo, b.lo) >>> 0,
  };
}

/** Rotate right by 0..63 bits. */
function rotate(v: U64, shift: number): U64 {
  if (shift === 0) return v;
  if (shift === 32) return { hi: v.lo, lo: v.hi };
  if (shift < 32) {
    return {
      hi: ((v.hi >>> shift) | (v.lo << (32 - shift))) >>> 0,
      lo: ((v.lo >>> shift) | (v.hi << (32 - shift))) >>> 0,
    };
  }
  const s = shift - 32;
  return {
    hi: ((v.lo >>> s) | (v.hi << (32 - s))) >>> 0,
    lo: ((v.hi >>> s) | (v.lo << (32 - s))) >>> 0,
  };
}

/** v ^ (v >> 47). */
function shiftMix(v: U64): U64 {
  return { hi: v.hi, lo: (v.lo ^ (v.hi >>> 15)) >>> 0 };
}

/** CityHash's Hash128to64 of the pair (low u, high v). */
function hashLen16(u: U64, v: U64): U64 {
  const a = shiftMix(mul(xor(u, v), K_MUL));
  const b = shiftMix(mul(xor(v, a), K_MUL));
  return mul(b, K_MUL);
}

class Input {
  private readonly view: DataView;

  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  fetch64(at: number): U64 {
    return { hi: this.view.getUint32(at + 4, true), lo: this.view.getUint32(at, true) };
  }

  fetch32(at: number): number {
    return this.view.getUint32(at, true);
  }
}

function hashLen0to16(s: Input, at: number, length: number): U64 {
  if (length > 8) {
    const a = s.fetch64(at);
    const b = s.fetch64(at + length - 8);
    return xor(hashLen16(a, rotate(add(b, fromLength(length)), length)), b);
  }
  if (length >= 4) {
    const a = s.fetch32(at);
    return hashLen16(add(fromLength(length), u64(a >>> 29, a << 3)), u64(0, s.fetch32(at + length - 4)));
  }
  if (length > 0) {
    const a = s.bytes[at] as number;
    const b = s.bytes[at + (length >>> 1)] as number;
    const c = s.bytes[at + length - 1] as number;
    const y = a + (b << 8);
    const z = length + (c << 2);
    return mul(shiftMix(xor(mul(u64(0, y), K2), mul(u64(0, z), K3))), K2);
  }
  return K2;
}

type Pair = [U64, U64];

/** WeakHashLen32WithSeeds of the 32 bytes at `at`, with seeds a and b. */
function weakHash32(s: Input, at: number, seedA: U64, seedB: U64): Pair {
  const w = s.fetch64(at);
  const x = s.fetch64(at + 8);
  const y = s.fetch64(at + 16);
  const z = s.fetch64(at + 24);
  let a = add(seedA, w);
  let b = rotate(add(add(seedB, a), z), 21);
  const c = a;
  a = add(add(a, x), y);
  b = add(b, rotate(a, 44));
  return [add(a, z), add(b, c)];
}

/** CityMurmur: the 128-bit hash of inputs shorter than 128 bytes. */
function cityMurmur(s: Input, at: number, length: number, seed: Pair): Pair {
  let [a, b] = seed;
  let c: U64;
  let d: U64;
  if (length <= 16) {
    a = mul(shiftMix(mul(a, K1)), K1);
    c = add(mul(b, K1), hashLen0to16(s, at, length));
    d = shiftMix(add(a, length >= 8 ? s.fetch64(at) : c));
  } else {
    c = hashLen16(add(s.fetch64(at + length - 8), K1), a);
    d = hashLen16(add(b, fromLength(length)), add(c, s.fetch64(at + length - 16)));
    a = add(a, d);
    for (let p = at, left = length - 16; left > 0; p += 16, left -= 16) {
      a = mul(xor(a, mul(shiftMix(mul(s.fetch64(p), K1)), K1)), K1);
      b = xor(b, a);
      c = mul(xor(c, mul(shiftMix(mul(s.fetch64(p + 8), K1)), K1)), K1);
      d = xor(d, c);
    }
  }
  a = hashLen16(a, c);
  b = hashLen16(d, b);
  return [xor(a, b), hashLen16(b, a)];
}

interface LongState {
  x: U64;
  y: U64;
  z: U64;
  v: Pair;
  w: Pair;
}

/** One 64-byte round of the long-input loop; x and z trade places at its end. */
function round64(s: Input, p: number, state: LongState): void {
  const { v, w } = state;
  let x = mul(rotate(add(add(add(state.x, state.y), v[0]), s.fetch64(p + 16)), 37), K1);
  let y = mul(rotate(add(add(state.y, v[1]), s.fetch64(p + 48)), 42), K1);
  x = xor(x, w[1]);
  y = xor(y, v[0]);
  const z = rotate(xor(state.z, w[0]), 33);
  state.v = weakHash32(s, p, mul(v[1], K1), add(x, w[0]));
  state.w = weakHash32(s, p + 32, add(z, w[1]), y);
  state.x = z;
  state.y = y;
  state.z = x;
}

function cityHash128WithSeed(s: Input, at: number, length: number, seed: Pair): Pair {
  if (length < 128) return cityMurmur(s, at, length, seed);
  const [x, y] = seed;
  const v0 = add(mul(rotate(xor(y, K1), 49), K1), s.fetch64(at));
  const state: LongState = {
    x,
    y,
    z: mul(fromLength(length), K1),
    v: [v0, add(mul(rotate(v0, 42), K1), s.fetch64(at + 8))],
    w: [
      add(mul(rotate(add(y, mul(fromLength(length), K1)), 35), K1), x),
      mul(rotate(add(x, s.fetch64(at + 88)), 53), K1),
    ],
  };
  let p = at;
  let left = length;
  do {
    round64(s, p, state);
    round64(s, p + 64, state);
    p += 128;
    left -= 128;
  } while (left >= 128);
  return finish(s, p, left, state);
}

/** Up to four 32-byte pieces from the end of the input, then the 48 bytes of state folded to 16. */
function finish(s: Input, p: number, left: number, state: LongState): Pair {
  let { x, y, v, w } = state;
  const { z } = state;
  y = add(y, add(mul(rotate(w[0], 37), K0), z));
  x = add(x, mul(rotate(add(v[0], z), 49), K0));
  for (let done = 0; done < left; ) {
    done += 32;
    y = add(mul(rotate(sub(y, x), 42), K0), v[1]);
    let w0 = add(w[0], s.fetch64(p + left - done + 16));
    x = add(mul(rotate(x, 49), K0), w0);
    w0 = add(w0, v[0]);
    w = [w0, w[1]];
    v = weakHash32(s, p + left - done, v[0], v[1]);
  }
  x = hashLen16(x, v[0]);
  y = hashLen16(y, w[0]);
  return [add(hashLen16(add(x, v[1]), w[1]), y), hashLen16(add(x, w[1]), add(y, v[1]))];
}

/**
 * CityHash128 v1.0.2 of `bytes`, as the 16 bytes ClickHouse stores before a compressed block:
 * the low 64 bits then the high 64 bits, each little-endian.
 */
export function cityHash128(bytes: Uint8Array): Buffer {
  const s = new Input(bytes);
  const length = bytes.byteLength;
  let hash: Pair;
  if (length >= 16) {
    hash = cityHash128WithSeed(s, 16, length - 16, [xor(s.fetch64(0), K3), s.fetch64(8)]);
  } else if (length >= 8) {
    const seed: Pair = [xor(s.fetch64(0), mul(fromLength(length), K0)), xor(s.fetch64(length - 8), K1)];
    hash = cityHash128WithSeed(s, 0, 0, seed);
  } else {
    hash = cityHash128WithSeed(s, 0, length, [K0, K1]);
  }
  const out = Buffer.allocUnsafe(16);
  out.writeUInt32LE(hash[0].lo, 0);
  out.writeUInt32LE(hash[0].hi, 4);
  out.writeUInt32LE(hash[1].lo, 8);
  out.writeUInt32LE(hash[1].hi, 12);
  return out;
}

/**
 * Differential test of the BSON → row transcoder (functions/core/bson-transcode.ts) against
 * today's path: BSON.deserialize with the adapter's DESERIALIZE_OPTIONS, then snapshotRow /
 * toJsonEachRowLine / documentToJson / renderDocumentId. Every document is compared byte for
 * byte (and error for error: name and message) for both `doc` column types.
 *
 * Sources: the e2e type corpus, hand-made raw BSON the `bson` serializer cannot produce, random
 * documents serialised by `bson`, and random raw documents (repeated / integer-like / non-UTF-8
 * keys, undefined, out-of-range dates, DBPointer, odd array keys, malformed values). The seed is
 * TRANSCODE_SEED (default below) and is printed with any failure.
 */
import {
  Binary,
  BSON,
  BSONRegExp,
  BSONSymbol,
  Code,
  DBRef,
  Decimal128,
  Double,
  Int32,
  Long,
  MaxKey,
  MinKey,
  ObjectId,
  Timestamp,
  UUID,
} from 'mongodb';
import { describe, expect, it } from 'vitest';
import { DESERIALIZE_OPTIONS } from '../../functions/adapters/mongodb/snapshot-source.js';
import { documentToJson, doubleToJson, MAX_NESTING_DEPTH } from '../../functions/core/bson-json.js';
import {
  appendRowLine,
  appendSnapshotLine,
  documentIdText,
  documentJson,
  elementValue,
  findElement,
  JsonSink,
  snapshotLine,
} from '../../functions/core/bson-transcode.js';
import { writeDouble } from '../../functions/core/bson-transcode-scalars.js';
import { renderDocumentId } from '../../functions/core/document-id.js';
import {
  type ChangeEventLike,
  changeEventRow,
  snapshotRow,
  toJsonEachRowLine,
} from '../../functions/core/rows.js';
import { typeCorpus } from '../e2e/type-corpus.js';
import { seededRandom } from '../support/seeded-random.js';

const SEED = Number(process.env.TRANSCODE_SEED ?? 0x5eed_2024);

// ---------------------------------------------------------------------------------------------
// Comparing today's path with the transcoder

type Outcomes = Record<'lineJson' | 'lineString' | 'id' | 'doc', string>;

function thrown(error: unknown): string {
  const err = error as Error;
  return `throws ${err.name}: ${err.message}`;
}

function attempt(run: () => string): string {
  try {
    return run();
  } catch (error) {
    return thrown(error);
  }
}

function todayOutcomes(bytes: Uint8Array): Outcomes {
  let decoded: Record<string, unknown>;
  try {
    decoded = BSON.deserialize(bytes, DESERIALIZE_OPTIONS);
  } catch (error) {
    const failure = thrown(error);
    return { lineJson: failure, lineString: failure, id: failure, doc: failure };
  }
  return {
    lineJson: attempt(() => toJsonEachRowLine(snapshotRow('t', decoded), true)),
    lineString: attempt(() => toJsonEachRowLine(snapshotRow('t', decoded), false)),
    id: attempt(() => renderDocumentId(decoded._id)),
    doc: attempt(() => documentToJson(decoded)),
  };
}

function transcodedOutcomes(bytes: Uint8Array): Outcomes {
  return {
    lineJson: attempt(() => snapshotLine(bytes, true)),
    lineString: attempt(() => snapshotLine(bytes, false)),
    id: attempt(() => documentIdText(bytes)),
    doc: attempt(() => documentJson(bytes)),
  };
}

function firstDifference(a: string, b: string): string {
  let at = 0;
  while (at < a.length && a[at] === b[at]) at++;
  const around = (text: string) => JSON.stringify(text.slice(Math.max(0, at - 60), at + 60));
  return `at ${at} (lengths ${a.length} / ${b.length}): today ${around(a)} vs transcoder ${around(b)}`;
}

/** Compares one document; returns a description of each difference (empty when identical). */
function differences(name: string, bytes: Uint8Array): string[] {
  const today = todayOutcomes(bytes);
  const transcoded = transcodedOutcomes(bytes);
  const found: string[] = [];
  for (const key of Object.keys(today) as (keyof Outcomes)[]) {
    if (today[key] !== transcoded[key])
      found.push(`${name} [${key}] ${firstDifference(today[key], transcoded[key])}`);
  }
  return found;
}

function expectSame(cases: Iterable<[string, Uint8Array]>): void {
  const found: string[] = [];
  for (const [name, bytes] of cases) found.push(...differences(name, bytes));
  expect(found.slice(0, 20), `seed ${SEED} (TRANSCODE_SEED=${SEED}), ${found.length} differences`).toEqual(
    [],
  );
}

// ---------------------------------------------------------------------------------------------
// Raw BSON, for what BSON.serialize cannot write

type Bytes = Uint8Array | number[] | string;

function bytesOf(part: Bytes): Buffer {
  return typeof part === 'string' ? Buffer.from(part, 'utf8') : Buffer.from(part);
}

function int32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeInt32LE(value | 0);
  return out;
}

function int64(value: bigint): Buffer {
  const out = Buffer.alloc(8);
  out.writeBigInt64LE(BigInt.asIntN(64, value));
  return out;
}

/** A document from elements (each: type byte, key bytes, value bytes). */
function rawDoc(...elements: [number, Bytes, Bytes][]): Buffer {
  const body = Buffer.concat(
    elements.map(([type, key, value]) =>
      Buffer.concat([Buffer.from([type]), bytesOf(key), Buffer.from([0]), bytesOf(value)]),
    ),
  );
  return Buffer.concat([int32(body.length + 5), body, Buffer.from([0])]);
}

/** A length-prefixed BSON string from raw bytes. */
function rawString(content: Bytes): Buffer {
  const bytes = bytesOf(content);
  return Buffer.concat([int32(bytes.length + 1), bytes, Buffer.from([0])]);
}

function cstring(content: Bytes): Buffer {
  return Buffer.concat([bytesOf(content), Buffer.from([0])]);
}

/** Type byte and value bytes of a value as BSON.serialize writes it. */
function serializedValue(value: unknown): [number, Buffer] {
  const doc = Buffer.from(BSON.serialize({ x: value }));
  return [doc[4] as number, doc.subarray(7, doc.length - 1)];
}

const OID = [0x62, 0x75, 0x07, 0x7a, 0x2f, 0x31, 0x59, 0xf9, 0x71, 0xe4, 0x05, 0xc6];
const ID: [number, Bytes, Bytes] = [0x07, '_id', OID];

function codeWithScope(code: Bytes, scope: Buffer): Buffer {
  const text = rawString(code);
  return Buffer.concat([int32(4 + text.length + scope.length), text, scope]);
}

function nestedDocs(levels: number, leaf: [number, Bytes, Bytes]): Buffer {
  let doc = rawDoc(leaf);
  for (let level = 1; level < levels; level++) doc = rawDoc([0x03, 'd', doc]);
  return doc;
}

// ---------------------------------------------------------------------------------------------
// Hand-made documents

const INT1 = int32(1);
const INT2 = int32(2);

const HAND_MADE: [string, Buffer][] = [
  ['empty document', rawDoc()],
  ['only _id', rawDoc(ID)],
  [
    'repeated key keeps first place, last value',
    rawDoc(ID, [0x10, 'a', INT1], [0x02, 'b', rawString('x')], [0x03, 'a', rawDoc([0x10, 'z', INT2])]),
  ],
  [
    'repeated _id: the last one is the _id',
    rawDoc(ID, [0x02, 'x', rawString('1')], [0x02, '_id', rawString('second')]),
  ],
  ['repeated __proto__', rawDoc(ID, [0x10, '__proto__', INT1], [0x10, '__proto__', INT2])],
  [
    'integer-like keys come first, ascending',
    rawDoc(
      ID,
      [0x10, 'b', INT1],
      [0x10, '10', INT1],
      [0x10, '2', INT2],
      [0x10, '01', INT1],
      [0x10, '4294967295', INT1],
      [0x10, '4294967294', INT1],
      [0x10, '0', INT1],
      [0x10, '-1', INT1],
    ),
  ],
  [
    'keys that are not UTF-8 decode with replacement (and may then repeat)',
    rawDoc(
      ID,
      [0x10, [0xff], INT1],
      [0x10, [0xfe], INT2],
      [0x10, [0x61, 0xc3], INT1],
      [0x10, [0xed, 0xa0, 0x80], INT2],
    ),
  ],
  ['string that is not UTF-8 is refused', rawDoc(ID, [0x02, 's', rawString([0x61, 0xff, 0x62])])],
  ['surrogate encoded in UTF-8 is refused', rawDoc(ID, [0x02, 's', rawString([0xed, 0xa0, 0x80])])],
  ['overlong UTF-8 is refused', rawDoc(ID, [0x02, 's', rawString([0xc0, 0xaf])])],
  ['truncated UTF-8 is refused', rawDoc(ID, [0x02, 's', rawString([0xe4, 0xb8])])],
  ['code that is not UTF-8 is refused', rawDoc(ID, [0x0d, 'c', rawString([0xff])])],
  ['symbol that is not UTF-8 is refused', rawDoc(ID, [0x0e, 's', rawString([0xff])])],
  [
    'BOM, U+FFFD, 4-byte and U+2028 are kept',
    rawDoc(ID, [0x02, 's', rawString('\ufeffa\ufffd🌍\u2028\u2029\u007f')]),
  ],
  [
    'control characters are escaped',
    rawDoc(
      ID,
      [0x02, 's', rawString(Buffer.from(Array.from({ length: 32 }, (_, k) => k)))],
      [0x02, 'q', rawString('"\\/')],
    ),
  ],
  [
    'array keys are ignored',
    rawDoc(ID, [
      0x04,
      'a',
      rawDoc([0x10, 'x', INT1], [0x10, '5', INT2], [0x10, '', INT1], [0x10, '0', INT2], [0x10, '0', INT1]),
    ]),
  ],
  ['undefined renders {}', rawDoc(ID, [0x06, 'u', []], [0x04, 'a', rawDoc([0x06, '0', []])])],
  ['undefined _id is refused', rawDoc([0x06, '_id', []], [0x10, 'a', INT1])],
  ['undefined inside a composite _id', rawDoc([0x03, '_id', rawDoc([0x06, 'u', []], [0xff, 'lo', []])])],
  ['long string _id (120 KB)', rawDoc([0x02, '_id', rawString('é'.repeat(60_000))])],
  ['missing _id is refused', rawDoc([0x10, 'a', INT1])],
  ['array _id is refused', rawDoc([0x04, '_id', rawDoc([0x10, '0', INT1])])],
  ['regex _id is refused', rawDoc([0x0b, '_id', Buffer.concat([cstring('a'), cstring('')])])],
  [
    'DBPointer becomes a DBRef',
    rawDoc(
      ID,
      [0x0c, 'p', Buffer.concat([rawString('db.coll'), Buffer.from(OID)])],
      [0x0c, 'q', Buffer.concat([rawString('coll'), Buffer.from(OID)])],
      [0x0c, 'r', Buffer.concat([rawString('a.b.c'), Buffer.from(OID)])],
      [0x0c, 's', Buffer.concat([rawString('.x'), Buffer.from(OID)])],
    ),
  ],
  ['DBPointer as _id', rawDoc([0x0c, '_id', Buffer.concat([rawString('db.coll'), Buffer.from(OID)])])],
  [
    'DBPointer namespace that is not UTF-8 is refused',
    rawDoc(ID, [0x0c, 'p', Buffer.concat([rawString([0xff]), Buffer.from(OID)])]),
  ],
  [
    'DBRef-shaped document with integer-like fields',
    rawDoc(ID, [
      0x03,
      'r',
      rawDoc(
        [0x10, 'x', INT1],
        [0x10, '$id', INT2],
        [0x10, '7', INT1],
        [0x02, '$ref', rawString('db.c')],
        [0x02, '$db', rawString('other')],
      ),
    ]),
  ],
  [
    'DBRef-shaped: $db empty, dotted $ref, repeated $ref',
    rawDoc(ID, [
      0x03,
      'r',
      rawDoc(
        [0x02, '$ref', rawString('a')],
        [0x07, '$id', OID],
        [0x02, '$db', rawString('')],
        [0x02, '$ref', rawString('.b')],
      ),
    ]),
  ],
  [
    'not a DBRef: $id null, $ref a symbol, $db an int, extra $ key',
    rawDoc(
      ID,
      [0x03, 'a', rawDoc([0x02, '$ref', rawString('c')], [0x0a, '$id', []])],
      [0x03, 'b', rawDoc([0x0e, '$ref', rawString('c')], [0x10, '$id', INT1])],
      [0x03, 'c', rawDoc([0x02, '$ref', rawString('c')], [0x10, '$id', INT1], [0x10, '$db', INT1])],
      [0x03, 'd', rawDoc([0x02, '$ref', rawString('c')], [0x10, '$id', INT1], [0x10, '$x', INT1])],
      [0x03, 'e', rawDoc([0x02, '$ref', rawString('c')], [0x06, '$id', []])],
    ),
  ],
  [
    'root document shaped like a DBRef has no _id',
    rawDoc(ID, [0x02, '$ref', rawString('c')], [0x10, '$id', INT1]),
  ],
  [
    'code scope shaped like a DBRef stays a document',
    rawDoc(ID, [
      0x0f,
      'c',
      codeWithScope(
        'x',
        rawDoc(
          [0x02, '$ref', rawString('c')],
          [0x10, '$id', INT1],
          [0x03, 'in', rawDoc([0x02, '$ref', rawString('c')], [0x10, '$id', INT1])],
        ),
      ),
    ]),
  ],
  ['code with empty scope', rawDoc(ID, [0x0f, 'c', codeWithScope('x', rawDoc())])],
  [
    'dates out of range and at the edges',
    rawDoc(
      ID,
      ...[
        8.64e15,
        -8.64e15,
        8.64e15 + 1,
        -8.64e15 - 1,
        2 ** 63 - 1,
        -(2 ** 63),
        -62167219200000,
        -62167219200001,
        253402300799999,
        253402300800000,
        -1,
        0,
      ].map((ms, k) => [0x09, `d${k}`, int64(BigInt(ms))] as [number, Bytes, Bytes]),
      [0x09, 'max', int64(2n ** 63n - 1n)],
      [0x09, 'min', int64(-(2n ** 63n))],
    ),
  ],
  [
    'NaN payloads',
    rawDoc(ID, [0x01, 'a', [1, 0, 0, 0, 0, 0, 0xf8, 0x7f]], [0x01, 'b', [0, 0, 0, 0, 0, 0, 0xf8, 0xff]]),
  ],
  ['boolean that is neither 0 nor 1 is refused', rawDoc(ID, [0x08, 'b', [2]])],
  ['unknown type is refused', rawDoc(ID, [0x14, 'x', INT1])],
  [
    'binary subtype 2 with a wrong inner size is refused',
    rawDoc(ID, [0x05, 'b', Buffer.concat([int32(6), Buffer.from([2]), int32(1), Buffer.from([1, 2])])]),
  ],
  [
    'binary subtype 2',
    rawDoc(ID, [0x05, 'b', Buffer.concat([int32(6), Buffer.from([2]), int32(2), Buffer.from([1, 2])])]),
  ],
  [
    'UUID subtype of the wrong length stays Binary',
    rawDoc(
      ID,
      [0x05, 'b', Buffer.concat([int32(3), Buffer.from([4, 1, 2, 3])])],
      [0x05, 'c', Buffer.concat([int32(16), Buffer.from([3]), Buffer.alloc(16, 7)])],
    ),
  ],
  [
    'regex options: s becomes g (dropped), x/l/u dropped',
    rawDoc(
      ID,
      [0x0b, 'r', Buffer.concat([cstring('a/b\n'), cstring('ilmsux')])],
      [0x0b, 'e', Buffer.concat([cstring(''), cstring('')])],
    ),
  ],
  [
    'regex with a repeated option is refused',
    rawDoc(ID, [0x0b, 'r', Buffer.concat([cstring('a'), cstring('ii')])]),
  ],
  [
    'regex JS cannot parse is refused',
    rawDoc(ID, [0x0b, 'r', Buffer.concat([cstring('(?i)a'), cstring('')])]),
  ],
  [
    'regex pattern that is not UTF-8 decodes with replacement',
    rawDoc(ID, [0x0b, 'r', Buffer.concat([cstring([0x61, 0xff]), cstring('')])]),
  ],
  ['truncated document is refused', rawDoc(ID, [0x10, 'a', INT1]).subarray(0, 20)],
  ['document size larger than the bytes is refused', Buffer.concat([int32(100), rawDoc(ID).subarray(4)])],
  [
    'string size past the document is refused',
    rawDoc(ID, [0x02, 's', Buffer.concat([int32(1000), Buffer.from('ab\0')])]),
  ],
  [
    'nesting: 199 levels under the root is fine',
    rawDoc(ID, [0x03, 'n', nestedDocs(199, [0x10, 'leaf', INT1])]),
  ],
  [
    'nesting: one level too deep names the path',
    rawDoc(ID, [0x03, 'n', nestedDocs(200, [0x10, 'leaf', INT1])]),
  ],
  [
    'nesting: empty document at the limit is fine',
    rawDoc(ID, [0x03, 'n', nestedDocs(199, [0x03, 'e', rawDoc()])]),
  ],
  [
    'nesting: code scope at the limit',
    rawDoc(ID, [0x03, 'n', nestedDocs(199, [0x0f, 'c', codeWithScope('x', rawDoc())])]),
  ],
  [
    'nesting: DBPointer at the limit',
    rawDoc(ID, [
      0x03,
      'n',
      nestedDocs(199, [0x0c, 'p', Buffer.concat([rawString('a.b'), Buffer.from(OID)])]),
    ]),
  ],
  [
    'nesting: integer-like key reordered before the deep one',
    rawDoc(
      ID,
      [0x03, 'deep', nestedDocs(201, [0x10, 'x', INT1])],
      [0x03, '3', nestedDocs(205, [0x10, 'y', INT1])],
    ),
  ],
  [
    'nesting: too deep and not UTF-8: the decode error wins',
    rawDoc(ID, [0x03, 'n', nestedDocs(230, [0x10, 'leaf', INT1])], [0x02, 's', rawString([0xff])]),
  ],
  ['nesting: deep composite _id', rawDoc([0x03, '_id', nestedDocs(201, [0x10, 'leaf', INT1])])],
  ['nesting: 10000 levels', rawDoc(ID, [0x03, 'n', nestedDocs(10_000, [0x10, 'leaf', INT1])])],
];

// ---------------------------------------------------------------------------------------------
// Random documents

class Random {
  readonly next: () => number;
  constructor(seed: number) {
    this.next = seededRandom(seed);
  }
  int(below: number): number {
    return Math.floor(this.next() * below);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }
  bytes(length: number): Buffer {
    return Buffer.from(Array.from({ length }, () => this.int(256)));
  }
}

const KEYS = [
  '',
  'a',
  'b',
  'name',
  '_id',
  '$ref',
  '$id',
  '$db',
  '$x',
  '$',
  'a.b',
  '.',
  '__proto__',
  'constructor',
  'toString',
  '0',
  '1',
  '7',
  '10',
  '01',
  '-1',
  '1.5',
  '4294967294',
  '4294967295',
  'ключ',
  '中文',
  '🌍',
  'a"b',
  'a\\b',
  'tab\tkey',
  'nl\nkey',
  '\u2028',
  '\u007f',
  '\u0001',
  'é',
];
const CHARS = [
  'a',
  'Z',
  '0',
  ' ',
  '"',
  '\\',
  '/',
  '\n',
  '\r',
  '\t',
  '\b',
  '\f',
  '\u0000',
  '\u0001',
  '\u001f',
  '\u007f',
  'é',
  'ß',
  '中',
  '🌍',
  '\u2028',
  '\u2029',
  '\ufffd',
  '\ufeff',
  '\ud800',
  '\udfff',
];
const DOUBLES = [
  0,
  -0,
  1,
  -1,
  1.5,
  0.1,
  1 / 3,
  2 ** 31,
  -(2 ** 31),
  2 ** 31 - 1,
  2 ** 53,
  2 ** 53 + 2,
  -(2 ** 53),
  1e21,
  1e20,
  123456789012345680000,
  1e-7,
  1e-6,
  5e-324,
  Number.MAX_VALUE,
  -Number.MAX_VALUE,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  1e300,
  2 ** 64,
];
const DECIMALS = [
  '0',
  '-0',
  '1',
  '-1.5',
  '1.000',
  '1E+6144',
  '-1E+6144',
  '1E-6176',
  '9.999999999999999999999999999999999E+6144',
  '1234567890123456789012345678901234',
  '0.0000001',
  '1E-7',
  '0.000001',
  '12345.6789E-20',
  '1E+3',
  '100',
  'NaN',
  'Infinity',
  '-Infinity',
  '0E-10',
  '0E+10',
];
const DATES = [
  0, -1, 1, 8.64e15, -8.64e15, -62167219200000, -62167219200001, 253402300799999, 253402300800000,
  1_700_000_000_120, 1_700_000_000_100, 1_700_000_000_123, 951_782_400_000, 4_107_542_400_000,
];
const PATTERNS = ['', 'a', '^a.*z$', 'a/b', '\\d+', '[a-z]+', 'é', 'line\nbreak', '\\/', '\u2028', 'a"b'];
const BAD_PATTERNS = ['(?i)x', 'a++', '(', '\\'];
const NAMESPACES = ['c', 'db.c', 'a.b.c', '.x', 'x.', '', 'é.中'];

function randomString(r: Random, max = 12): string {
  let text = '';
  for (let n = r.int(max); n > 0; n--)
    text += r.chance(0.6) ? String.fromCharCode(0x61 + r.int(26)) : r.pick(CHARS);
  return text;
}

function randomKey(r: Random): string {
  return r.chance(0.4) ? r.pick(KEYS) : `k${r.int(50)}`;
}

function setKey(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function randomDocument(r: Random, depth: number, width = 6): Record<string, unknown> {
  const doc: Record<string, unknown> = {};
  for (let n = r.int(width + 1); n > 0; n--) setKey(doc, randomKey(r), randomValue(r, depth + 1));
  return doc;
}

function randomScalar(r: Random): unknown {
  switch (r.int(16)) {
    case 0:
      return new Double(r.chance(0.5) ? r.pick(DOUBLES) : (r.next() - 0.5) * 10 ** (r.int(40) - 20));
    case 1:
      return new Int32(
        r.chance(0.3) ? r.pick([0, 1, -1, 2 ** 31 - 1, -(2 ** 31)]) : r.int(2 ** 32) - 2 ** 31,
      );
    case 2:
      return Long.fromBits(
        r.int(2 ** 32) | 0,
        r.chance(0.5)
          ? r.pick([0, -1, 2 ** 21, -(2 ** 21), 2 ** 21 - 1, -(2 ** 21) - 1, 2 ** 31 - 1, -(2 ** 31)])
          : r.int(2 ** 32) | 0,
      );
    case 3:
      return r.chance(0.5) ? Decimal128.fromString(r.pick(DECIMALS)) : new Decimal128(r.bytes(16));
    case 4:
      return new Date(r.chance(0.4) ? r.pick(DATES) : Math.round((r.next() * 2 - 1) * 8.64e15));
    case 5:
      return new Timestamp({ t: r.int(2 ** 32), i: r.int(2 ** 32) });
    case 6:
      return r.chance(0.2)
        ? new UUID()
        : new Binary(r.bytes(r.int(40)), r.pick([0, 1, 2, 3, 4, 5, 6, 7, 8, 0x80, 0xff]));
    case 7:
      return new ObjectId(r.bytes(12));
    case 8:
      return new BSONRegExp(
        r.chance(0.03) ? r.pick(BAD_PATTERNS) : r.pick(PATTERNS),
        r.pick(['', 'i', 'm', 'ims', 'x', 'l', 'u', 'imsux', 's']),
      );
    case 9:
      return new Code(randomString(r));
    case 10:
      return new BSONSymbol(randomString(r));
    case 11:
      return r.pick([new MinKey(), new MaxKey(), null, true, false]);
    default:
      return randomString(r, 40);
  }
}

function randomValue(r: Random, depth: number): unknown {
  if (depth > 4 || r.chance(0.7)) return randomScalar(r);
  switch (r.int(6)) {
    case 0:
      return r.chance(0.02)
        ? Array.from({ length: 2000 + r.int(20_000) }, () => randomScalar(r))
        : Array.from({ length: r.int(6) }, () => randomValue(r, depth + 1));
    case 1:
      return new Code(randomString(r), randomDocument(r, depth + 1, 3));
    case 2:
      return new DBRef(
        r.pick(NAMESPACES),
        r.chance(0.7) ? new ObjectId(r.bytes(12)) : (randomScalar(r) as ObjectId),
        r.chance(0.5) ? r.pick(['db', '', 'x.y']) : undefined,
        randomDocument(r, depth + 1, 2),
      );
    case 3:
      return dbRefShaped(r, depth);
    default:
      return randomDocument(r, depth);
  }
}

/** A plain document with DBRef-like keys, which may or may not decode to a DBRef. */
function dbRefShaped(r: Random, depth: number): Record<string, unknown> {
  const doc: Record<string, unknown> = {};
  const keys = ['$ref', '$id', '$db', 'x', '5', '$other'].filter(() => r.chance(0.7));
  for (const key of keys) {
    const value =
      key === '$ref' || key === '$db'
        ? r.chance(0.8)
          ? r.pick(NAMESPACES)
          : randomScalar(r)
        : randomValue(r, depth + 1);
    setKey(doc, key, value);
  }
  return doc;
}

function randomId(r: Random): unknown {
  const choice = r.int(20);
  if (choice < 7) return new ObjectId(r.bytes(12));
  if (choice < 10) return randomString(r, 20);
  if (choice === 10) return randomDocument(r, 2, 3);
  if (choice === 11) return r.pick([[1, 2], new BSONRegExp('a', '')]);
  return randomScalar(r);
}

/** A document nested to about the depth limit through documents, arrays and code scopes. */
function deepDocument(r: Random): Record<string, unknown> {
  let value: unknown = randomScalar(r);
  const levels = MAX_NESTING_DEPTH - 40 + r.int(48);
  for (let level = 0; level < levels; level++) {
    const kind = r.int(10);
    value =
      kind === 0 ? [value] : kind === 1 ? new Code('f', { s: value }) : { [randomKey(r) || 'k']: value };
  }
  return { _id: randomId(r), deep: value, after: randomValue(r, 3) };
}

function randomBsonDocument(r: Random): Buffer {
  const doc: Record<string, unknown> = {};
  if (!r.chance(0.03)) doc._id = randomId(r);
  for (let n = r.int(10); n > 0; n--) setKey(doc, randomKey(r), randomValue(r, 1));
  return Buffer.from(BSON.serialize(doc));
}

// Raw random documents: keys and values BSON.serialize cannot write.

const RAW_KEYS: Bytes[] = [
  [0xff],
  [0xfe],
  [0x61, 0xc3],
  [0xc3, 0xa9],
  '3',
  '12',
  '0',
  'a',
  'a',
  '_id',
  '$ref',
  '$id',
  '',
  '__proto__',
];

function rawRandomValue(r: Random, depth: number): [number, Buffer] {
  const choice = r.int(depth > 3 ? 14 : 18);
  switch (choice) {
    case 0:
      return [0x06, Buffer.alloc(0)];
    case 1:
      return [0x09, int64(BigInt(r.int(2 ** 32)) * BigInt(r.int(2 ** 32)) - 2n ** 62n)];
    case 2:
      return [0x0c, Buffer.concat([rawString(r.pick(NAMESPACES)), r.bytes(12)])];
    case 3:
      return [
        0x02,
        rawString(r.chance(0.1) ? r.pick([[0xff], [0xed, 0xa0, 0x80], [0xc0, 0x80]]) : randomString(r)),
      ];
    case 4:
      return [
        0x01,
        Buffer.from([r.int(256), r.int(256), 0, 0, 0, 0, 0xf0 + r.int(16), r.pick([0x7f, 0xff])]),
      ];
    case 5:
      return [
        0x0b,
        Buffer.concat([
          cstring(r.chance(0.2) ? r.bytes(2).map((b) => b | 0x80) : Buffer.from(r.pick(PATTERNS))),
          cstring(r.pick(['', 'sm', 'xs', 'ii', 'u', 'l', 'zz', 'gim'])),
        ]),
      ];
    case 6:
      return r.chance(0.05) ? [0x08, Buffer.from([2])] : [0x08, Buffer.from([r.int(2)])];
    case 7:
      return r.chance(0.03) ? [0x14, Buffer.alloc(0)] : [0xff, Buffer.alloc(0)];
    case 8:
      return [0x0d, rawString(r.chance(0.05) ? [0xff] : randomString(r))];
    case 9:
      return [0x0e, rawString(randomString(r))];
    case 10:
      return [
        0x05,
        Buffer.concat([int32(4 + 3), Buffer.from([2]), int32(r.chance(0.05) ? 2 : 3), r.bytes(3)]),
      ];
    case 11:
    case 12:
    case 13:
      return serializedValue(randomScalar(r));
    case 14:
      return [0x03, rawRandomDocument(r, depth + 1)];
    case 15:
      return [0x04, rawRandomDocument(r, depth + 1)];
    case 16:
      return [0x0f, codeWithScope(randomString(r), rawRandomDocument(r, depth + 1))];
    default:
      return serializedValue(randomValue(r, depth + 1));
  }
}

function rawRandomDocument(r: Random, depth: number): Buffer {
  const elements: [number, Bytes, Bytes][] = [];
  for (let n = r.int(7); n > 0; n--) {
    const [type, value] = rawRandomValue(r, depth);
    elements.push([type, r.chance(0.5) ? r.pick(RAW_KEYS) : `k${r.int(4)}`, value]);
  }
  return rawDoc(...elements);
}

function rawRandomTopDocument(r: Random): Buffer {
  const [type, value] = r.chance(0.9) ? serializedValue(randomId(r)) : rawRandomValue(r, 3);
  const body = rawRandomDocument(r, 1);
  const id = rawDoc([type, '_id', value]);
  // _id first, then the random elements (which may repeat _id).
  const elements = Buffer.concat([id.subarray(4, id.length - 1), body.subarray(4, body.length - 1)]);
  return Buffer.concat([int32(elements.length + 5), elements, Buffer.from([0])]);
}

// ---------------------------------------------------------------------------------------------

describe('BSON transcoder: byte for byte what today’s decode + rows path gives', () => {
  it('the e2e type corpus (every BSON type, 15 MB document included)', () => {
    expectSame(
      typeCorpus('t-', { large: true }).map((doc) => [String(doc._id), Buffer.from(BSON.serialize(doc))]),
    );
  });

  it('hand-made raw BSON: repeated, integer-like and non-UTF-8 keys, undefined, DBPointer, DBRef shapes, odd arrays, bad bytes, nesting', () => {
    expectSame(HAND_MADE);
  });

  it(`3000 random documents serialised by bson (seed ${SEED})`, () => {
    const r = new Random(SEED);
    expectSame(
      Array.from({ length: 3000 }, (_, k) => [`bson #${k}`, randomBsonDocument(r)] as [string, Buffer]),
    );
  });

  it(`200 random documents nested to about the depth limit (seed ${SEED})`, () => {
    const r = new Random(SEED + 1);
    expectSame(
      Array.from(
        { length: 200 },
        (_, k) => [`deep #${k}`, Buffer.from(BSON.serialize(deepDocument(r)))] as [string, Buffer],
      ),
    );
  });

  it(`2000 random raw documents (seed ${SEED})`, () => {
    const r = new Random(SEED + 2);
    expectSame(
      Array.from({ length: 2000 }, (_, k) => [`raw #${k}`, rawRandomTopDocument(r)] as [string, Buffer]),
    );
  });

  it('large documents: 15 MB of escapes and non-ASCII, 15 MB of binary, a 200,000-element array, 100,000 keys', () => {
    const r = new Random(SEED + 3);
    const unit = '"\\\n\té中🌍\u2028a';
    const keys: Record<string, unknown> = { _id: 1 };
    for (let k = 0; k < 100_000; k++) keys[`key${k}`] = k % 3 === 0 ? new Double(k / 7) : `v${k}`;
    expectSame([
      [
        '15 MB escapes',
        Buffer.from(
          BSON.serialize({
            _id: 'big',
            s: unit.repeat(Math.floor((15 * 1024 * 1024) / Buffer.byteLength(unit))),
          }),
        ),
      ],
      [
        '15 MB binary',
        Buffer.from(BSON.serialize({ _id: 'bin', b: new Binary(r.bytes(15 * 1024 * 1024), 0) })),
      ],
      [
        '200k array',
        Buffer.from(
          BSON.serialize({
            _id: 'arr',
            a: Array.from({ length: 200_000 }, (_, k) => (k % 2 ? new Int32(k) : { k: `v${k}` })),
          }),
        ),
      ],
      ['100k keys', Buffer.from(BSON.serialize(keys))],
    ]);
    // CPU-bound: about 4 s on the 2-core machine, several times that on a loaded CI; 120 s leaves
    // room for that, and past it something hangs.
  }, 120_000);
});

describe('BSON transcoder parts', () => {
  it('writes doubles as doubleToJson does (short decimals, their neighbours, and others)', () => {
    const r = new Random(SEED + 6);
    const sink = new JsonSink();
    const bits = new Float64Array(1);
    const word = new BigInt64Array(bits.buffer);
    const wrong: string[] = [];
    const check = (value: number) => {
      sink.reset();
      writeDouble(sink, value);
      if (sink.text() !== doubleToJson(value)) wrong.push(`${doubleToJson(value)} written as ${sink.text()}`);
    };
    for (let k = 0; k < 100_000; k++) {
      const value = Math.round((r.next() - 0.5) * 10 ** r.int(16)) / 10 ** r.int(16);
      for (const v of [
        value,
        -value,
        value / 3,
        value * 7,
        value + 0.1,
        (r.next() - 0.5) * 10 ** (r.int(44) - 22),
      ])
        check(v);
      bits[0] = value;
      const around = word[0] as bigint;
      for (const step of [-1n, 1n]) {
        word[0] = around + step;
        check(bits[0] as number);
      }
    }
    for (const v of DOUBLES) check(v);
    expect(wrong.slice(0, 10), `seed ${SEED}`).toEqual([]);
  });
});

describe('BSON transcoder API', () => {
  it('appends lines of a batch to one sink; a failing document leaves the sink as it was', () => {
    const r = new Random(SEED + 4);
    const docs = Array.from({ length: 50 }, () => randomBsonDocument(r)).concat([
      rawDoc([0x10, 'no_id', INT1]),
    ]);
    const sink = new JsonSink(16);
    const expected: string[] = [];
    for (const bytes of docs) {
      const before = sink.pos;
      try {
        appendSnapshotLine(sink, bytes, true);
        sink.ensure(1);
        sink.buf[sink.pos++] = 0x0a;
        expected.push(`${todayOutcomes(bytes).lineJson}\n`);
      } catch {
        expect(sink.pos).toBe(before);
      }
    }
    expect(sink.text()).toBe(expected.join(''));
    for (const bytes of docs.slice(0, 20)) {
      const copy = new Uint8Array(bytes); // a plain Uint8Array works as well as a Buffer
      expect(attempt(() => snapshotLine(copy, false))).toBe(attempt(() => snapshotLine(bytes, false)));
      expect(attempt(() => documentIdText(copy))).toBe(todayOutcomes(bytes).id);
    }
  });

  it('transcodes an embedded document in place: a change event’s fullDocument and documentKey', () => {
    const r = new Random(SEED + 5);
    for (let k = 0; k < 300; k++) {
      const full = BSON.deserialize(randomBsonDocument(r), { ...DESERIALIZE_OPTIONS, bsonRegExp: true });
      if (full._id === undefined) continue; // the engine refuses such events before any rendering
      const event = BSON.serialize({
        _id: { _data: 'token' },
        operationType: 'insert',
        clusterTime: new Timestamp({ t: 1_700_000_000 + k, i: k }),
        documentKey: { _id: full._id },
        fullDocument: full,
      });
      const docAt = elementValue(event, findElement(event, 0, 'fullDocument'));
      const keyAt = elementValue(event, findElement(event, 0, 'documentKey'));
      let decoded: ChangeEventLike;
      try {
        decoded = BSON.deserialize(event, DESERIALIZE_OPTIONS) as ChangeEventLike;
      } catch (error) {
        expect(attempt(() => documentJson(event, docAt, 0))).toBe(thrown(error));
        continue;
      }
      expect(attempt(() => documentJson(event, docAt, 0))).toBe(
        attempt(() => documentToJson(decoded.fullDocument as Record<string, unknown>)),
      );
      const line = attempt(() => {
        const sink = new JsonSink();
        const version = (BigInt(1_700_000_000 + k) << 32n) | BigInt(k);
        appendRowLine(sink, event, {
          idElement: findElement(event, keyAt, '_id'),
          docAt,
          version,
          isDeleted: 0,
          useJsonNativeFormat: false,
          decodedAt: 0,
        });
        return sink.text();
      });
      expect(line).toBe(
        attempt(() =>
          toJsonEachRowLine(
            changeEventRow('t', decoded) as NonNullable<ReturnType<typeof changeEventRow>>,
            false,
          ),
        ),
      );
    }
  });
});

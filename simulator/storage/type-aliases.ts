/** BSON type names and numbers as `$type` understands them. */
import { CommandError } from '../contract.js';

const CODES: Record<string, number> = {
  double: 1,
  string: 2,
  object: 3,
  array: 4,
  binData: 5,
  undefined: 6,
  objectId: 7,
  bool: 8,
  date: 9,
  null: 10,
  regex: 11,
  dbPointer: 12,
  javascript: 13,
  symbol: 14,
  javascriptWithScope: 15,
  int: 16,
  timestamp: 17,
  long: 18,
  decimal: 19,
  minKey: -1,
  maxKey: 127,
};

const BY_BSONTYPE: Record<string, string> = {
  Int32: 'int',
  Double: 'double',
  Long: 'long',
  Decimal128: 'decimal',
  ObjectId: 'objectId',
  Binary: 'binData',
  Timestamp: 'timestamp',
  MinKey: 'minKey',
  MaxKey: 'maxKey',
  BSONRegExp: 'regex',
  BSONSymbol: 'symbol',
  DBPointer: 'dbPointer',
  DBRef: 'object',
};

/** The `$type` name of a stored value. */
export function bsonTypeName(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return 'array';
  if (value instanceof Date) return 'date';
  if (value instanceof RegExp) return 'regex';
  switch (typeof value) {
    case 'string':
      return 'string';
    case 'boolean':
      return 'bool';
    case 'bigint':
      return 'long';
    case 'number':
      return Number.isInteger(value) && Math.abs(value) <= 0x7fffffff ? 'int' : 'double';
    default:
      break;
  }
  const tag = (value as { _bsontype?: string })._bsontype;
  if (tag === 'Code') return (value as { scope?: unknown }).scope ? 'javascriptWithScope' : 'javascript';
  return (tag && BY_BSONTYPE[tag]) || 'object';
}

/** True when `value` has the BSON type `type` (a name, a number, or the alias `number`). */
export function bsonTypeMatches(value: unknown, type: unknown): boolean {
  const name = bsonTypeName(value);
  if (type === 'number') return name === 'int' || name === 'long' || name === 'double' || name === 'decimal';
  if (typeof type === 'string') {
    if (!(type in CODES)) throw new CommandError(2, 'BadValue', `Unknown type name alias: ${type}`);
    return type === name;
  }
  const code = Number((type as { valueOf(): unknown } | null)?.valueOf?.());
  if (!Number.isInteger(code))
    throw new CommandError(14, 'TypeMismatch', 'type must be represented as a number or a string');
  return CODES[name] === code;
}

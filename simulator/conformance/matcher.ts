/**
 * The unified test format's "Evaluating Matches" rules: root documents may carry extra keys,
 * nested documents may not, arrays match element by element with equal length, numbers
 * compare by value, and `$$`-prefixed special operators replace literal expectations.
 */
import { Binary, BSONRegExp, Decimal128, EJSON, ObjectId, Timestamp } from 'bson';
import { bsonTypeName, isDocument, isNumeric, toNumber } from './bson-types.js';

/** Resolves `$$matchesEntity` and `$$sessionLsid` names; throws when the entity is missing. */
export interface EntityLookup {
  bsonEntity(name: string): unknown;
  sessionLsid(name: string): unknown;
}

/** Thrown when a test file misuses a special operator; this is a runner error, not a mismatch. */
export class MatcherUsageError extends Error {
  override name = 'MatcherUsageError';
}

const noEntities: EntityLookup = {
  bsonEntity: (name) => {
    throw new MatcherUsageError(`no entity map: cannot resolve entity ${name}`);
  },
  sessionLsid: (name) => {
    throw new MatcherUsageError(`no entity map: cannot resolve session ${name}`);
  },
};

/**
 * Matches `actual` against `expected`. Returns null on a match, otherwise a reason naming the
 * path where the values differ.
 */
export function matchValue(
  expected: unknown,
  actual: unknown,
  options: { root?: boolean; entities?: EntityLookup } = {},
): string | null {
  return match(expected, actual, options.root ?? true, '$', options.entities ?? noEntities);
}

function specialOperator(value: unknown): [string, unknown] | null {
  if (!isDocument(value)) return null;
  const keys = Object.keys(value);
  if (keys.length !== 1) return null;
  const key = keys[0]!;
  return key.startsWith('$$') ? [key, (value as Record<string, unknown>)[key]] : null;
}

/** Extended JSON of a value for failure messages; never throws (driver objects can be circular). */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'undefined';
  try {
    return EJSON.stringify(value as never, { relaxed: true });
  } catch {
    return String(value);
  }
}

function match(
  expected: unknown,
  actual: unknown,
  root: boolean,
  path: string,
  entities: EntityLookup,
): string | null {
  const operator = specialOperator(expected);
  // The driver sends some documents (e.g. `sort`) as Maps; BSON encodes them as documents.
  if (actual instanceof Map) actual = Object.fromEntries(actual);
  if (operator) return matchOperator(operator[0], operator[1], actual, root, path, entities);
  if (Array.isArray(expected)) return matchArray(expected, actual, path, entities);
  if (isDocument(expected)) return matchDocument(expected, actual, root, path, entities);
  return matchScalar(expected, actual, path);
}

function matchArray(
  expected: unknown[],
  actual: unknown,
  path: string,
  entities: EntityLookup,
): string | null {
  if (!Array.isArray(actual)) return `${path}: expected an array, got ${describeValue(actual)}`;
  if (actual.length !== expected.length) {
    return `${path}: expected ${expected.length} elements, got ${actual.length}: ${describeValue(actual)}`;
  }
  for (let index = 0; index < expected.length; index++) {
    const reason = match(expected[index], actual[index], false, `${path}[${index}]`, entities);
    if (reason) return reason;
  }
  return null;
}

function matchDocument(
  expected: Record<string, unknown>,
  actual: unknown,
  root: boolean,
  path: string,
  entities: EntityLookup,
): string | null {
  if (!isDocument(actual)) return `${path}: expected a document, got ${describeValue(actual)}`;
  const actualDoc = actual as Record<string, unknown>;
  for (const [key, value] of Object.entries(expected)) {
    const keyPath = `${path}.${key}`;
    const present = actualDoc[key] !== undefined;
    const operator = specialOperator(value);
    if (operator?.[0] === '$$exists') {
      if (typeof operator[1] !== 'boolean')
        throw new MatcherUsageError(`${keyPath}: $$exists needs a boolean`);
      if (operator[1] !== present) {
        return `${keyPath}: expected the key to ${operator[1] ? 'exist' : 'be absent'}, got ${describeValue(actualDoc[key])}`;
      }
      continue;
    }
    if (operator?.[0] === '$$unsetOrMatches' && !present) continue;
    if (!present) return `${keyPath}: missing (expected ${describeValue(value)})`;
    const reason = match(value, actualDoc[key], false, keyPath, entities);
    if (reason) return reason;
  }
  if (!root) {
    const extra = Object.keys(actualDoc).filter((key) => actualDoc[key] !== undefined && !(key in expected));
    if (extra.length > 0)
      return `${path}: unexpected extra keys ${extra.join(', ')} in ${describeValue(actual)}`;
  }
  return null;
}

function matchOperator(
  name: string,
  argument: unknown,
  actual: unknown,
  root: boolean,
  path: string,
  entities: EntityLookup,
): string | null {
  switch (name) {
    case '$$exists':
      // Reached when nested in another operator, e.g. `{$$unsetOrMatches: {$$exists: true}}`.
      if (typeof argument !== 'boolean') throw new MatcherUsageError(`${path}: $$exists needs a boolean`);
      return argument === (actual !== undefined)
        ? null
        : `${path}: expected presence ${argument}, got ${describeValue(actual)}`;
    case '$$type':
      return matchType(argument, actual, path);
    case '$$unsetOrMatches':
      return actual === undefined ? null : match(argument, actual, root, path, entities);
    case '$$matchesEntity':
      if (typeof argument !== 'string') throw new MatcherUsageError(`${path}: $$matchesEntity needs a name`);
      return match(entities.bsonEntity(argument), actual, root, path, entities);
    case '$$sessionLsid': {
      if (typeof argument !== 'string') throw new MatcherUsageError(`${path}: $$sessionLsid needs a name`);
      return match(entities.sessionLsid(argument), actual, false, path, entities);
    }
    case '$$matchesHexBytes':
      return matchHexBytes(argument, actual, path);
    case '$$lte':
      if (!isNumeric(argument)) throw new MatcherUsageError(`${path}: $$lte needs a number`);
      if (!isNumeric(actual))
        return `${path}: expected a number <= ${describeValue(argument)}, got ${describeValue(actual)}`;
      return toNumber(actual) <= toNumber(argument)
        ? null
        : `${path}: expected <= ${describeValue(argument)}, got ${describeValue(actual)}`;
    case '$$matchAsDocument': {
      if (typeof actual !== 'string')
        return `${path}: expected an extended JSON string, got ${describeValue(actual)}`;
      let parsed: unknown;
      try {
        parsed = EJSON.parse(actual, { relaxed: false });
      } catch (error) {
        return `${path}: not extended JSON (${(error as Error).message})`;
      }
      return match(argument, parsed, false, path, entities);
    }
    case '$$matchAsRoot':
      return match(argument, actual, true, path, entities);
    default:
      throw new MatcherUsageError(`${path}: unsupported special operator ${name}`);
  }
}

function matchType(argument: unknown, actual: unknown, path: string): string | null {
  const wanted = Array.isArray(argument) ? argument : [argument];
  if (wanted.length === 0 || !wanted.every((type) => typeof type === 'string')) {
    throw new MatcherUsageError(`${path}: $$type needs a type name or a list of them`);
  }
  if (actual === undefined) return `${path}: expected a value of type ${wanted.join('|')}, got nothing`;
  const names = bsonTypeName(actual);
  return wanted.some((type) => names.includes(type as string))
    ? null
    : `${path}: expected type ${wanted.join('|')}, got ${names.join('|')} (${describeValue(actual)})`;
}

function matchHexBytes(argument: unknown, actual: unknown, path: string): string | null {
  if (typeof argument !== 'string' || !/^([0-9a-fA-F]{2})*$/.test(argument)) {
    throw new MatcherUsageError(`${path}: $$matchesHexBytes needs an even-length hex string`);
  }
  let actualHex: string;
  if (typeof actual === 'string') actualHex = Buffer.from(actual, 'latin1').toString('hex');
  else if (actual instanceof Uint8Array) actualHex = Buffer.from(actual).toString('hex');
  else if (actual instanceof Binary) actualHex = Buffer.from(actual.buffer).toString('hex');
  else return `${path}: expected bytes, got ${describeValue(actual)}`;
  return actualHex === argument.toLowerCase()
    ? null
    : `${path}: expected bytes ${argument}, got ${actualHex}`;
}

function matchScalar(expected: unknown, actual: unknown, path: string): string | null {
  return scalarsEqual(expected, actual)
    ? null
    : `${path}: expected ${describeValue(expected)}, got ${describeValue(actual)}`;
}

/** Equality for non-container values; numbers (except Decimal128) compare by value. */
export function scalarsEqual(expected: unknown, actual: unknown): boolean {
  if (isNumeric(expected) || isNumeric(actual)) {
    return isNumeric(expected) && isNumeric(actual) && toNumber(expected) === toNumber(actual);
  }
  if (expected === null || actual === null) return expected === actual;
  if (expected instanceof Decimal128 || actual instanceof Decimal128) {
    return (
      expected instanceof Decimal128 &&
      actual instanceof Decimal128 &&
      expected.toString() === actual.toString()
    );
  }
  if (expected instanceof ObjectId) return actual instanceof ObjectId && expected.equals(actual);
  if (expected instanceof Timestamp) return actual instanceof Timestamp && expected.equals(actual);
  if (expected instanceof Date) return actual instanceof Date && expected.getTime() === actual.getTime();
  if (expected instanceof Binary) {
    return (
      actual instanceof Binary &&
      expected.sub_type === actual.sub_type &&
      Buffer.from(expected.buffer).equals(Buffer.from(actual.buffer))
    );
  }
  if (expected instanceof BSONRegExp || expected instanceof RegExp) {
    return regexSource(expected) === regexSource(actual);
  }
  if (typeof expected === 'object' && typeof actual === 'object') {
    return describeValue(expected) === describeValue(actual);
  }
  return expected === actual;
}

function regexSource(value: unknown): string | null {
  if (value instanceof BSONRegExp) return `${value.pattern}/${[...value.options].sort().join('')}`;
  if (value instanceof RegExp) return `${value.source}/${[...value.flags].sort().join('')}`;
  return null;
}

/** Exact comparison for `outcome` data: key order free, no extra keys anywhere, no operators. */
export function documentsEqualExactly(expected: unknown, actual: unknown): boolean {
  if (Array.isArray(expected)) {
    return (
      Array.isArray(actual) &&
      actual.length === expected.length &&
      expected.every((value, index) => documentsEqualExactly(value, actual[index]))
    );
  }
  if (isDocument(expected)) {
    if (!isDocument(actual)) return false;
    const expectedDoc = expected as Record<string, unknown>;
    const actualDoc = actual as Record<string, unknown>;
    const expectedKeys = Object.keys(expectedDoc).filter((key) => expectedDoc[key] !== undefined);
    const actualKeys = Object.keys(actualDoc).filter((key) => actualDoc[key] !== undefined);
    return (
      expectedKeys.length === actualKeys.length &&
      expectedKeys.every((key) => key in actualDoc && documentsEqualExactly(expectedDoc[key], actualDoc[key]))
    );
  }
  return scalarsEqual(expected, actual);
}

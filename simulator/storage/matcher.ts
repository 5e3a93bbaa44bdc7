/**
 * Query filters with the server's semantics on typed documents: comparisons only match values
 * of the operand's type bracket (MinKey/MaxKey operands compare across types), null matches
 * missing fields, array fields match when any element (or the whole array) does, and `$type`
 * sees the real BSON type (int vs long vs double). Filters using operators outside this set
 * (`$expr`, `$where`, `$jsonSchema`, geo, bitwise...) return null so the caller can use mingo.
 */
import type { Document } from 'bson';
import { CommandError } from '../contract.js';
import { bsonEquals, canonicalRank, compareBson, isNumeric, numericValue } from './bson-order.js';
import { valuesAtPath } from './paths.js';
import { bsonTypeMatches } from './type-aliases.js';
import { isPlainObject } from './typed-values.js';

type Test = (doc: unknown) => boolean;
/** A predicate over the values found at one path (empty when the field is missing). */
type ValuesTest = (values: unknown[]) => boolean;

class Unsupported extends Error {}

const RANK_MIN_KEY = 1;
const RANK_NULL = 5;
const RANK_MAX_KEY = 127;

function isRegex(value: unknown): value is RegExp | { pattern: string; options: string } {
  return value instanceof RegExp || (value as { _bsontype?: string } | null)?._bsontype === 'BSONRegExp';
}

function toRegExp(value: unknown, extraOptions = ''): RegExp {
  if (value instanceof RegExp)
    return extraOptions ? new RegExp(value.source, value.flags + extraOptions) : value;
  if (typeof value === 'string') return new RegExp(value, jsFlags(extraOptions));
  const bson = value as { pattern: string; options: string };
  return new RegExp(bson.pattern, jsFlags(bson.options + extraOptions));
}

/** MongoDB regex options that JavaScript also knows (`x` is not supported by JS). */
function jsFlags(options: string): string {
  return [...new Set(options.split(''))].filter((flag) => 'ims'.includes(flag)).join('');
}

/** Leaf values plus, for arrays, their elements: what an operator is tried against. */
function candidates(values: unknown[]): unknown[] {
  const out: unknown[] = [];
  for (const value of values) {
    if (Array.isArray(value)) out.push(...value);
    out.push(value);
  }
  return out;
}

function equalsOperand(values: unknown[], operand: unknown): boolean {
  if (isRegex(operand)) {
    const regex = toRegExp(operand);
    return candidates(values).some((value) => typeof value === 'string' && regex.test(value));
  }
  if (operand === null || operand === undefined) {
    return values.length === 0 || candidates(values).some((value) => value === null || value === undefined);
  }
  return candidates(values).some((value) => bsonEquals(value, operand));
}

/** True for a NaN of any numeric BSON type (double, Decimal128). */
function isNaNNumber(value: unknown): boolean {
  return isNumeric(value) && Number.isNaN(numericValue(value));
}

function comparison(op: string, operand: unknown): ValuesTest {
  const operandRank = canonicalRank(operand);
  const crossType = operandRank === RANK_MIN_KEY || operandRank === RANK_MAX_KEY;
  const operandNaN = isNaNNumber(operand);
  const inclusive = op === '$gte' || op === '$lte';
  const accepts = (cmp: number): boolean =>
    op === '$gt' ? cmp > 0 : op === '$gte' ? cmp >= 0 : op === '$lt' ? cmp < 0 : cmp <= 0;
  return (values) => {
    if (operandRank === RANK_NULL && inclusive) return equalsOperand(values, null);
    return candidates(values).some((value) => {
      if (crossType) return accepts(compareBson(value, operand));
      if (canonicalRank(value) !== operandRank) return false;
      // The server's rule (expression_leaf.cpp), though NaN sorts before every number: NaN
      // equals NaN and is neither below nor above any number, so only `$gte`/`$lte` NaN match it.
      if (operandNaN || isNaNNumber(value)) return inclusive && operandNaN && isNaNNumber(value);
      return accepts(compareBson(value, operand));
    });
  };
}

function typeTest(operand: unknown): ValuesTest {
  const wanted = Array.isArray(operand) ? operand : [operand];
  return (values) =>
    values.some(
      (value) =>
        wanted.some((type) => bsonTypeMatches(value, type)) ||
        (Array.isArray(value) && value.some((item) => wanted.some((type) => bsonTypeMatches(item, type)))),
    );
}

function operatorTest(op: string, operand: unknown, spec: Document): ValuesTest | null {
  switch (op) {
    case '$eq':
      return (values) => equalsOperand(values, operand);
    case '$ne':
      return (values) => !equalsOperand(values, operand);
    case '$gt':
    case '$gte':
    case '$lt':
    case '$lte':
      return comparison(op, operand);
    case '$in':
    case '$nin': {
      if (!Array.isArray(operand)) throw new CommandError(2, 'BadValue', `${op} needs an array`);
      const test: ValuesTest = (values) => operand.some((item) => equalsOperand(values, item));
      return op === '$in' ? test : (values) => !test(values);
    }
    case '$exists': {
      const wanted = Boolean(isNumeric(operand) ? numericValue(operand) : operand);
      return (values) => values.length > 0 === wanted;
    }
    case '$type':
      return typeTest(operand);
    case '$regex': {
      const regex = toRegExp(operand, typeof spec.$options === 'string' ? spec.$options : '');
      return (values) => candidates(values).some((value) => typeof value === 'string' && regex.test(value));
    }
    case '$options':
      return null;
    case '$size': {
      const size = numericValue(operand);
      return (values) => values.some((value) => Array.isArray(value) && value.length === size);
    }
    case '$all': {
      if (!Array.isArray(operand)) throw new CommandError(2, 'BadValue', '$all needs an array');
      if (operand.some((item) => isPlainObject(item) && '$elemMatch' in item)) throw new Unsupported();
      return (values) => operand.length > 0 && operand.every((item) => equalsOperand(values, item));
    }
    case '$elemMatch': {
      if (!isPlainObject(operand)) throw new CommandError(2, 'BadValue', '$elemMatch needs an Object');
      const keys = Object.keys(operand);
      const onValues = keys.length > 0 && keys.every((key) => key.startsWith('$') && !LOGICAL.has(key));
      const element: Test = onValues ? valueTest(operand) : documentTest(operand);
      return (values) => values.some((value) => Array.isArray(value) && value.some((item) => element(item)));
    }
    case '$not': {
      const inner = isRegex(operand) ? operatorTest('$regex', operand, {}) : fieldTest(operand);
      if (!inner) throw new Unsupported();
      return (values) => !inner(values);
    }
    case '$mod': {
      if (!Array.isArray(operand) || operand.length !== 2) {
        throw new CommandError(2, 'BadValue', 'malformed mod, needs to be an array of two numbers');
      }
      const [divisor, remainder] = operand.map(numericValue) as [number, number];
      return (values) =>
        candidates(values).some(
          (value) => isNumeric(value) && Math.trunc(numericValue(value)) % divisor === remainder,
        );
    }
    case '$comment':
      return () => true;
    default:
      throw new Unsupported();
  }
}

/** Operators applied to the values at one path (`{$gt: 1, $lt: 5}`) or implicit equality. */
function fieldTest(condition: unknown): ValuesTest {
  if (isPlainObject(condition) && Object.keys(condition).some((key) => key.startsWith('$'))) {
    const tests = Object.entries(condition)
      .map(([op, operand]) => operatorTest(op, operand, condition))
      .filter((test): test is ValuesTest => test !== null);
    return (values) => tests.every((test) => test(values));
  }
  return (values) => equalsOperand(values, condition);
}

/** A predicate over one value (an array element for `$elemMatch` with operators). */
function valueTest(condition: Document): Test {
  const test = fieldTest(condition);
  return (value) => test([value]);
}

const LOGICAL = new Set(['$and', '$or', '$nor']);

function documentTest(filter: Document): Test {
  const tests: Test[] = [];
  for (const [key, condition] of Object.entries(filter)) {
    if (key === '$comment') continue;
    if (LOGICAL.has(key)) {
      if (!Array.isArray(condition) || condition.length === 0) {
        throw new CommandError(2, 'BadValue', `${key} argument must be a non-empty array`);
      }
      const clauses = condition.map((clause) => documentTest(clause as Document));
      if (key === '$and') tests.push((doc) => clauses.every((clause) => clause(doc)));
      else if (key === '$or') tests.push((doc) => clauses.some((clause) => clause(doc)));
      else tests.push((doc) => !clauses.some((clause) => clause(doc)));
    } else if (key.startsWith('$')) {
      throw new Unsupported();
    } else {
      const test = fieldTest(condition);
      tests.push((doc) => test(valuesAtPath(doc, key)));
    }
  }
  return (doc) => tests.every((test) => test(doc));
}

/** A server-faithful predicate for the filter, or null when it needs operators only mingo has. */
export function compileMatcher(filter: Document): ((doc: Document) => boolean) | null {
  try {
    return documentTest(filter);
  } catch (error) {
    if (error instanceof Unsupported) return null;
    throw error;
  }
}

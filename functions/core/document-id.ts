import { ID_STYLE, valueToJson } from './bson-json.js';
import { bsonKind, objectIdHex } from './bson-kind.js';
import { UnsupportedValueError } from './errors.js';

/**
 * The `_id` column's text for a document's `_id`:
 * - ObjectId → its 24 lower-case hex digits (as ClickPipes documents);
 * - string → the string itself, unquoted (as ClickPipes writes it);
 * - every other type → canonical JSON of the value, where numbers MongoDB holds equal render
 *   alike (int 1, long 1, double 1.0 and decimal 1.00 are all `1`), composite documents keep their
 *   key order (MongoDB tells {a,b} and {b,a} apart) and MinKey/MaxKey become {"$minKey":1} /
 *   {"$maxKey":1}.
 * See docs/table-schema.md for the full table and the one known overlap (a string that spells
 * a number or a JSON value).
 */
export function renderDocumentId(id: unknown): string {
  const kind = bsonKind(id);
  switch (kind) {
    case 'undefined':
      throw new UnsupportedValueError('a document without _id cannot be replicated');
    case 'array':
      throw new UnsupportedValueError('an array cannot be an _id');
    case 'RegExp':
    case 'BSONRegExp':
      throw new UnsupportedValueError('a regular expression cannot be an _id');
    case 'string':
      return id as string;
    case 'BSONSymbol':
      return String((id as { value?: unknown }).value);
    case 'ObjectId':
      return objectIdHex(id);
    default:
      return valueToJson(id, ID_STYLE);
  }
}

import { type DestinationRow, toJsonEachRowLine } from '../../functions/core/rows.js';

/**
 * The rows of an encoded insert body (JSONEachRow lines as `toJsonEachRowLine` writes them), for
 * test doubles that keep rows: `doc` is the JSON text whether the column is JSON (inlined) or
 * String (a JSON string), `_peerdb_version` exact.
 */
export function rowsOfBody(table: string, body: readonly Uint8Array[]): DestinationRow[] {
  const lines = textOf(body).split('\n');
  if (lines.pop() !== '') throw new Error('an encoded body ends with a newline');
  return lines.map((line) => rowOfLine(table, line));
}

const ID_PREFIX = '{"_id":';
const DOC_PREFIX = ',"doc":';
const VERSION_PREFIX = ',"_peerdb_version":';

function rowOfLine(table: string, line: string): DestinationRow {
  const docAt = docStart(line);
  const versionAt = line.lastIndexOf(VERSION_PREFIX);
  const docText = line.slice(docAt, versionAt);
  const tail = /^,"_peerdb_version":(\d+),"_peerdb_is_deleted":([01])\}$/.exec(line.slice(versionAt));
  if (!tail) throw new Error(`no version and deleted flag: ${line.slice(-80)}`);
  return {
    table,
    _id: JSON.parse(line.slice(ID_PREFIX.length, docAt - DOC_PREFIX.length)) as string,
    doc: docText.startsWith('"') ? (JSON.parse(docText) as string) : docText,
    _peerdb_version: BigInt(tail[1] as string),
    _peerdb_is_deleted: tail[2] === '1' ? 1 : 0,
  };
}

/** Where `doc`'s value starts: after the `_id` JSON string and `,"doc":`. */
function docStart(line: string): number {
  if (!line.startsWith(`${ID_PREFIX}"`)) throw new Error(`not a row line: ${line.slice(0, 80)}`);
  let end = ID_PREFIX.length + 1;
  while (line[end] !== '"') end += line[end] === '\\' ? 2 : 1;
  if (!line.startsWith(DOC_PREFIX, end + 1)) throw new Error(`no doc after _id: ${line.slice(0, 80)}`);
  return end + 1 + DOC_PREFIX.length;
}

/** True when the body's `doc` is inlined JSON (a JSON column), false when it is a JSON string. */
export function bodyIsJsonNative(body: readonly Uint8Array[]): boolean {
  const text = textOf(body);
  return text[docStart(text)] !== '"';
}

/** The body the product would send for `rows` (one chunk). */
export function bodyOfRows(rows: readonly DestinationRow[], useJsonNativeFormat: boolean): Uint8Array[] {
  return [Buffer.from(rows.map((row) => `${toJsonEachRowLine(row, useJsonNativeFormat)}\n`).join(''))];
}

function textOf(body: readonly Uint8Array[]): string {
  return Buffer.concat(
    body.map((chunk) => Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length)),
  ).toString('utf8');
}

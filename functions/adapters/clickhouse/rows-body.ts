import type { DestinationRow } from '../../core/rows.js';
import { toJsonEachRowLine } from '../../core/rows.js';

/** Lines are grouped into chunks of about this size: one HTTP write per chunk, not per row. */
const CHUNK_BYTES = 1024 * 1024;

export interface BodyTally {
  rows: number;
  bytes: number;
}

/**
 * The JSONEachRow request body for a batch, produced lazily so a batch of any size streams
 * through bounded memory. `tally` counts what was produced.
 */
export async function* jsonEachRowBody(
  rows: Iterable<DestinationRow> | AsyncIterable<DestinationRow>,
  useJsonNativeFormat: boolean,
  tally: BodyTally,
): AsyncGenerator<string> {
  let chunk = '';
  for await (const row of rows) {
    const line = `${toJsonEachRowLine(row, useJsonNativeFormat)}\n`;
    tally.rows += 1;
    tally.bytes += Buffer.byteLength(line);
    chunk += line;
    if (chunk.length >= CHUNK_BYTES) {
      yield chunk;
      chunk = '';
      // When the socket never pushes back, the stream pulls this generator in one chain of
      // microtasks; a macrotask turn per chunk keeps timers and other I/O of the process running.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
  if (chunk.length > 0) yield chunk;
}

/**
 * The rows again, or undefined when there are none: an INSERT with an empty body is an error
 * (NO_DATA_TO_INSERT) rather than a no-op, so empty batches are not sent at all.
 */
export async function nonEmptyRows(
  rows: Iterable<DestinationRow> | AsyncIterable<DestinationRow>,
): Promise<AsyncIterable<DestinationRow> | undefined> {
  const iterator =
    Symbol.asyncIterator in rows
      ? (rows as AsyncIterable<DestinationRow>)[Symbol.asyncIterator]()
      : (rows as Iterable<DestinationRow>)[Symbol.iterator]();
  const first = await iterator.next();
  if (first.done) return undefined;
  return (async function* () {
    yield first.value;
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
  })();
}

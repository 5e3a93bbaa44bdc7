import { BSON } from 'bson';
import { describe, expect, it } from 'vitest';
import { SourceFatalError } from '../../functions/core/errors.js';
import {
  type BatchBounds,
  PIECE_MAX_BYTES,
  PIECE_MAX_ROWS,
  pieceBounds,
} from '../../functions/engines/snapshot-batches.js';
import { encodedBatches } from '../../functions/engines/streamed-batch.js';
import type { SnapshotBatch } from '../../functions/ports/source.js';
import { rowsOfBody } from '../support/encoded-rows.js';

/** Pieces of the given sizes (documents `_id` 1, 2, … of `bytesEach` BSON bytes), noting each read. */
function pieces(sizes: number[], log: string[], bytesEach = 100): AsyncIterable<SnapshotBatch> {
  return (async function* () {
    let id = 0;
    for (const [index, size] of sizes.entries()) {
      log.push(`piece:${index + 1}`);
      const documents = [...Array(size)].map(() => BSON.serialize({ _id: ++id }));
      yield { documents, bytes: size * bytesEach, checkpoint: String(id) };
    }
  })();
}

async function collect(sizes: number[], bounds: BatchBounds, bytesEach = 100) {
  const log: string[] = [];
  const batches = [];
  for await (const batch of encodedBatches(pieces(sizes, log, bytesEach), bounds, true)) {
    log.push(`batch:${batch.rows}`);
    batches.push(batch);
  }
  return { log, batches };
}

describe('encodedBatches: pieces transcoded as they arrive, grouped within the batch bounds', () => {
  it('reads in pieces no bigger than a server reply, nor than the batch', () => {
    expect(pieceBounds({ maxRows: 50_000, maxBytes: 32 << 20 })).toEqual({
      maxRows: PIECE_MAX_ROWS,
      maxBytes: PIECE_MAX_BYTES,
    });
    expect(pieceBounds({ maxRows: 100, maxBytes: 1_000 })).toEqual({ maxRows: 100, maxBytes: 1_000 });
  });

  it('hands a batch over once no further piece could fit, before reading the next piece', async () => {
    const { log, batches } = await collect([5_000, 5_000, 5_000, 5_000, 1_234], {
      maxRows: 12_000,
      maxBytes: 1 << 30,
    });
    expect(log).toEqual([
      'piece:1',
      'piece:2',
      'batch:10000',
      'piece:3',
      'piece:4',
      'batch:10000',
      'piece:5',
      'batch:1234',
    ]);
    expect(batches.map((batch) => batch.checkpoint)).toEqual(['10000', '20000', '21234']);
    expect(batches.map((batch) => batch.bytes)).toEqual([1_000_000, 1_000_000, 123_400]);
    const ids = batches.flatMap((batch) => rowsOfBody('t', batch.body).map((row) => Number(row._id)));
    expect(ids).toEqual([...Array(21_234)].map((_, index) => index + 1));
  });

  it('cuts by BSON bytes too; a piece that does not fit starts the next batch, one over the bound is its own', async () => {
    const bounds = { maxRows: 1_000_000, maxBytes: 9_000_000 };
    // Pieces of 2 MB: after three, less than a full piece (4 MiB) of room is left.
    const even = await collect([20, 20, 20, 20, 20, 20], bounds, 100_000);
    expect(even.log.filter((entry) => entry.startsWith('batch:'))).toEqual(['batch:60', 'batch:60']);
    // A 6 MB piece does not fit beside 4 MB: the batch goes first, the piece starts the next.
    const uneven = await collect([20, 20, 60], bounds, 100_000);
    expect(uneven.log).toEqual(['piece:1', 'piece:2', 'piece:3', 'batch:40', 'batch:60']);
    // Documents over maxBytes: each its own batch, handed over at once.
    const big = await collect([1, 1], { maxRows: 10, maxBytes: 1_000 }, 5_000);
    expect(big.log).toEqual(['piece:1', 'batch:1', 'piece:2', 'batch:1']);
  });

  it('a document the driver could not decode fails as the source classified decode errors', async () => {
    const bad = Buffer.from(BSON.serialize({ _id: 'x', s: 'ok' }));
    bad[bad.length - 3] = 0xff;
    const source = (async function* () {
      yield { documents: [bad], bytes: bad.length, checkpoint: '"x"' };
    })();
    const error = await (async () => {
      for await (const _ of encodedBatches(source, { maxRows: 10, maxBytes: 1_000 }, false));
    })().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SourceFatalError);
    expect((error as Error).message).toBe(
      'MongoDB failed with an error not known to be transient: Invalid UTF-8 string in BSON document',
    );
  });
});

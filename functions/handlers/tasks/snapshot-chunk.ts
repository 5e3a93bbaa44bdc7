import { z } from 'zod';
import { snapshotChunk } from '../../engines/snapshot-chunk.js';
import { loadPipe, withConnections } from '../pipe-runtime.js';
import { defineTask, remainingMs } from '../task.js';
import { pipeInput } from './common.js';

const input = pipeInput.extend({
  tableKey: z.string().min(1),
  partitionIndex: z.number().int().min(0),
  chunks: z.number().int().min(0).default(0),
});

/** Ten minutes at most per call, so a chunk never meets the Lambda's 15-minute limit. */
const MAX_CHUNK_MS = 600_000;
const SAFETY_MARGIN_MS = 5_000;

/** Copies one chunk of a partition; the machine calls it again until `done`. */
export const snapshotChunkTask = defineTask('SnapshotChunk', input, async (runtime, command, context) => {
  const loaded = await loadPipe(runtime, command.pipeId);
  const budgetMs = Math.min(remainingMs(context, MAX_CHUNK_MS), MAX_CHUNK_MS);
  const result = await withConnections(runtime, loaded, ({ snapshotSource, destination }) =>
    snapshotChunk(
      { store: runtime.store, source: snapshotSource, destination, clock: runtime.clock },
      {
        pipeId: command.pipeId,
        table: command.tableKey,
        partitionIndex: command.partitionIndex,
        budget: { deadline: runtime.clock.now() + budgetMs, safetyMarginMs: SAFETY_MARGIN_MS },
      },
    ),
  );
  await runtime.store.refreshTableProgress(command.pipeId, command.tableKey);
  return {
    pipeId: command.pipeId,
    tableKey: command.tableKey,
    partitionIndex: command.partitionIndex,
    chunks: command.chunks + 1,
    done: result.done,
    rowsCopied: result.rowsCopied,
  };
});

export const handler = snapshotChunkTask.handler;

import { defineTask } from '../task.js';
import { pipeInput } from './common.js';

/**
 * The pipe's records go; its ClickHouse tables stay (they are the user's data: drop them with
 * remove tables + dropTables first, or in ClickHouse). Deleting a missing pipe succeeds.
 */
export const deletePipeTask = defineTask('DeletePipe', pipeInput, async (runtime, input) => {
  await runtime.scheduler.remove(input.pipeId);
  await runtime.store.deletePipe(input.pipeId);
  return { deleted: input.pipeId };
});

export const handler = deletePipeTask.handler;

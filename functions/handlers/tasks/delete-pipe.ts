import { defineTask } from '../task.js';
import { pipeInput } from './common.js';

/**
 * The pipe's records go, its table claims first (the store's deletePipe releases them); its
 * ClickHouse tables stay (they are the user's data: drop them with remove tables + dropTables
 * first, or in ClickHouse). A kept table then belongs to no pipe, and a new pipe may map onto
 * it only once it is dropped or renamed. Deleting a missing pipe succeeds.
 */
export const deletePipeTask = defineTask('DeletePipe', pipeInput, async (runtime, input) => {
  await runtime.scheduler.remove(input.pipeId);
  await runtime.store.deletePipe(input.pipeId);
  return { deleted: input.pipeId };
});

export const handler = deletePipeTask.handler;

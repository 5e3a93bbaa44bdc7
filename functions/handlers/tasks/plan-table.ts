import { z } from 'zod';
import { planTableSnapshot } from '../../engines/snapshot-plan.js';
import { loadPipe, withConnections } from '../pipe-runtime.js';
import { defineTask } from '../task.js';
import { pipeInput } from './common.js';

const input = pipeInput.extend({ tableKey: z.string().min(1), parallelism: z.number().int().min(1) });

/** Plans one table (the store keeps the first plan, so a re-run keeps its checkpoints). */
export const planTableTask = defineTask('PlanTable', input, async (runtime, command) => {
  const loaded = await loadPipe(runtime, command.pipeId);
  const planned = await withConnections(runtime, loaded, ({ snapshotSource }) =>
    planTableSnapshot(
      { store: runtime.store, source: snapshotSource },
      { pipeId: command.pipeId, tableKey: command.tableKey },
    ),
  );
  return {
    pipeId: command.pipeId,
    tableKey: command.tableKey,
    parallelism: command.parallelism,
    strategy: planned.strategy,
    partitions: planned.partitions
      .filter((partition) => !partition.done)
      .map((partition) => ({
        pipeId: command.pipeId,
        tableKey: command.tableKey,
        partitionIndex: partition.index,
        chunks: 0,
      })),
  };
});

export const handler = planTableTask.handler;

import type { TaskDefinition } from '../task.js';
import { addTablesTask } from './add-tables.js';
import { applyEventTask } from './apply-event.js';
import { checkDrainedTask } from './check-drained.js';
import { deletePipeTask } from './delete-pipe.js';
import { finishSnapshotTask } from './finish-snapshot.js';
import { markFailedTask } from './mark-failed.js';
import { planSnapshotTask } from './plan-snapshot.js';
import { planTableTask } from './plan-table.js';
import { prepareResyncTask } from './prepare-resync.js';
import { provisionTask } from './provision.js';
import { registerPipeTask } from './register-pipe.js';
import { removeTablesTask } from './remove-tables.js';
import { setScheduleTask } from './set-schedule.js';
import { setUpDestinationTask } from './set-up-destination.js';
import { snapshotChunkTask } from './snapshot-chunk.js';
import { swapTablesTask } from './swap-tables.js';

/** Every Task handler by name: the ASL placeholder `${<name>FunctionArn}` names one of these. */
export const TASKS: Readonly<Record<string, TaskDefinition<unknown>>> = Object.fromEntries(
  [
    addTablesTask,
    applyEventTask,
    checkDrainedTask,
    deletePipeTask,
    finishSnapshotTask,
    markFailedTask,
    planSnapshotTask,
    planTableTask,
    prepareResyncTask,
    provisionTask,
    registerPipeTask,
    removeTablesTask,
    setScheduleTask,
    setUpDestinationTask,
    snapshotChunkTask,
    swapTablesTask,
  ].map((task) => [task.name, task as TaskDefinition<unknown>]),
);

/**
 * What each function does, by Task name (as in statemachines/*.asl.json) plus `CdcBatch` and `Api`:
 * the grants and sizes follow from these lists, and test/infra checks them against the handlers.
 */

/** Tasks that create, enable, disable or remove a pipe's CDC schedule (see functions/handlers/tasks). */
export const SCHEDULE_MANAGERS = new Set(['SetSchedule', 'Provision', 'DeletePipe', 'MarkFailed']);

/** Tasks that open the pipe's MongoDB or ClickHouse (and so read its secrets); the CDC function does too. */
export const CONNECTING_TASKS = new Set([
  'Provision',
  'SetUpDestination',
  'PlanTable',
  'SnapshotChunk',
  'PrepareResync',
  'SwapTables',
  'AddTables',
  'RemoveTables',
]);

/** Functions that read the owner tag of the secrets a create request names (the confused-deputy rule). */
export const READS_SECRET_OWNERS = new Set(['Api', 'RegisterPipe']);

/** Functions that only read the pipe store. */
export const READS_STORE_ONLY = new Set(['CheckDrained']);

/** Fails a pipe and may start its resync machine (auto-resync after a lost change stream history). */
export const STARTS_RESYNC = new Set(['MarkFailed']);

/**
 * Tasks that start a CDC run at once (an asynchronous invocation of the CDC function): enabling
 * the schedule starts the first run, and steps that change the tables CDC writes restart it.
 */
export const STARTS_CDC = new Set([
  'SetSchedule',
  'AddTables',
  'PrepareResync',
  'SwapTables',
  'RemoveTables',
]);

/**
 * The size families (MongoClickHousePipesProps.functionSizes): the API and the short Tasks take
 * seconds; the long Tasks (those that talk to MongoDB or ClickHouse, and PlanSnapshot) minutes;
 * the snapshot chunk and the CDC batch the most.
 */
export type FunctionFamily = 'api' | 'shortTasks' | 'longTasks' | 'snapshotChunk' | 'cdcBatch';

/** Every Task not named here is a short Task. */
const TASK_FAMILIES: Record<string, FunctionFamily> = {
  SnapshotChunk: 'snapshotChunk',
  PlanSnapshot: 'longTasks',
  PlanTable: 'longTasks',
  Provision: 'longTasks',
  SetUpDestination: 'longTasks',
  PrepareResync: 'longTasks',
  SwapTables: 'longTasks',
  AddTables: 'longTasks',
  RemoveTables: 'longTasks',
};

export function familyOfTask(task: string): FunctionFamily {
  return TASK_FAMILIES[task] ?? 'shortTasks';
}

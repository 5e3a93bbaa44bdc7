/**
 * How the control plane starts a pipe operation and manages its CDC schedule. In AWS: a Step
 * Functions StartExecution of the operation's machine, and one EventBridge Scheduler schedule per
 * pipe; locally: the same ASL files run by aws-local-stepfunctions, and an interval timer.
 */

import type { TableShapePatch } from '../core/settings-change-shape.js';

/** One state machine per operation (statemachines/<operation>.asl.json). */
export const LIFECYCLE_OPERATIONS = [
  'create',
  'pause',
  'resume',
  'resync',
  'addTables',
  'removeTables',
  'delete',
] as const;
export type LifecycleOperation = (typeof LIFECYCLE_OPERATIONS)[number];

/** The execution input every operation machine receives. */
export interface OperationInput {
  pipeId: string;
  /** The state the caller saw when it accepted the command: the first Task's conditional write expects it. */
  expectedState: string | null;
  /** Table keys (`<database>.<collection>`) for resync of one table, add tables and remove tables. */
  tables?: string[];
  /** Remove tables: also drop their ClickHouse tables. */
  dropTables?: boolean;
  /**
   * Resync after a shape change (`tableMappingsToChange`): the new shapes, applied by PrepareResync
   * (the live tables take the new columns, then the settings the new shape) before the load.
   */
  tableShapes?: TableShapePatch[];
  /** Who asked (API caller identity, "console", "local"). */
  requestedBy: string;
  /** Idempotency of the start: the same request id starts at most one execution. */
  requestId: string;
}

export interface StartedOperation {
  /** Execution ARN in AWS, a local execution id otherwise. */
  executionId: string;
}

export interface LifecycleStarter {
  start(operation: LifecycleOperation, input: OperationInput): Promise<StartedOperation>;
}

/** The per-pipe CDC trigger (EventBridge Scheduler in AWS). */
export interface CdcScheduler {
  /** Creates the pipe's schedule, disabled, if it does not exist (Provisioning). */
  ensure(pipeId: string, intervalSeconds: number): Promise<void>;
  enable(pipeId: string): Promise<void>;
  disable(pipeId: string): Promise<void>;
  remove(pipeId: string): Promise<void>;
}

/** Why a CDC run is started outside its schedule. */
export type CdcTriggerReason = 'hand-over' | 'restart';

/**
 * Starts a pipe's CDC run now, outside its schedule: a run that ended on its budget with work
 * left hands over to the next one, and a step that revoked the running one's lease (new tables,
 * a resync, a swap) restarts it. In AWS an asynchronous invocation of the CDC function; locally
 * the local schedule runs the handler. Best effort: the schedule is the heartbeat that starts a
 * run anyway within one interval, so a start that fails is reported, never thrown.
 */
export interface CdcTrigger {
  runSoon(pipeId: string, reason: CdcTriggerReason): Promise<boolean>;
}

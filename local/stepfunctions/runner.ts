import { randomUUID } from 'node:crypto';
import { ExecutionError, type RunOptions, StateMachine } from 'aws-local-stepfunctions';
import type { Runtime } from '../../functions/handlers/runtime.js';
import { TASKS } from '../../functions/handlers/tasks/index.js';
import type {
  LifecycleOperation,
  LifecycleStarter,
  OperationInput,
  StartedOperation,
} from '../../functions/ports/lifecycle.js';
import { type LoadedMachine, loadMachine, SNAPSHOT_MACHINE } from './definitions.js';
import { installPromiseWithResolvers } from './polyfill.js';

installPromiseWithResolvers();

export interface LocalRunnerOptions {
  /** The handlers' adapters; the runner adds itself as the runtime's starter (auto-resync). */
  runtime: Runtime;
  /** Replaces every Retry interval (tests: 0 or a few ms). Default: the ASL's own. */
  retryIntervalMs?: number;
  /** Replaces every Wait state's duration (tests: a few ms). Default: the ASL's own. */
  waitMs?: number;
  /** Called when an execution ends (the local runtime prints it). */
  onFinished?: (execution: ExecutionResult) => void;
}

export interface ExecutionResult {
  executionId: string;
  operation: LifecycleOperation;
  pipeId: string;
  status: 'SUCCEEDED' | 'FAILED';
  output?: unknown;
  /** The Fail state's or the error's name, e.g. PipeFailed, CommandRefused. */
  error?: string;
  cause?: string;
}

type JsonValue = Parameters<StateMachine['run']>[0];

/** A failed child execution as `states:startExecution.sync` reports it to the parent's Task. */
class ChildExecutionFailed extends Error {
  constructor(error: string, cause: string) {
    super(JSON.stringify({ Error: error, Cause: cause }));
    this.name = 'States.TaskFailed';
  }
}

/**
 * Runs the committed ASL files with aws-local-stepfunctions: every Task is overridden with the
 * real handler of its `${<name>FunctionArn}` placeholder, and the snapshot child machine runs
 * in-process where the parent starts it. Implements LifecycleStarter for the local API.
 */
export class LocalStateMachines implements LifecycleStarter {
  private readonly runtime: Runtime;
  private readonly machines = new Map<string, LoadedMachine>();
  private readonly byRequest = new Map<string, string>();
  private readonly inFlight = new Set<Promise<ExecutionResult>>();

  constructor(private readonly options: LocalRunnerOptions) {
    this.runtime = { ...options.runtime, starter: this };
  }

  /** Starts an execution in the background; the same requestId starts at most one. */
  async start(operation: LifecycleOperation, input: OperationInput): Promise<StartedOperation> {
    const known = this.byRequest.get(input.requestId);
    if (known) return { executionId: known };
    const executionId = `local:${operation}:${input.pipeId}:${randomUUID()}`;
    this.byRequest.set(input.requestId, executionId);
    const running = this.execute(operation, input, executionId);
    this.inFlight.add(running);
    void running.finally(() => this.inFlight.delete(running));
    return { executionId };
  }

  /** Runs one execution to its end. */
  run(operation: LifecycleOperation, input: OperationInput): Promise<ExecutionResult> {
    return this.execute(operation, input, `local:${operation}:${input.pipeId}:${randomUUID()}`);
  }

  /** Resolves once every started execution (including ones they start) has ended. */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private async execute(
    operation: LifecycleOperation,
    input: OperationInput,
    executionId: string,
  ): Promise<ExecutionResult> {
    const base = { executionId, operation, pipeId: input.pipeId };
    let result: ExecutionResult;
    try {
      const output = await this.runMachine(operation, input as unknown as JsonValue, executionId);
      result = { ...base, status: 'SUCCEEDED', output };
    } catch (error) {
      const failure = failureOf(error);
      result = { ...base, status: 'FAILED', error: failure.error, cause: failure.cause };
    }
    this.options.onFinished?.(result);
    return result;
  }

  private machine(name: string): LoadedMachine {
    let machine = this.machines.get(name);
    if (!machine) {
      machine = loadMachine(name);
      this.machines.set(name, machine);
    }
    return machine;
  }

  private runMachine(name: string, input: JsonValue, executionId: string): Promise<JsonValue> {
    const machine = this.machine(name);
    const handlers: Record<string, (input: JsonValue) => Promise<JsonValue>> = {};
    for (const [stateName, handlerName] of machine.taskHandlers) {
      const task = TASKS[handlerName];
      if (!task) throw new Error(`${name}: no handler ${handlerName} for Task ${stateName}`);
      handlers[stateName] = async (taskInput) => (await task.invoke(this.runtime, taskInput)) as JsonValue;
    }
    for (const stateName of machine.childTasks) {
      handlers[stateName] = (taskInput) => this.runChild(taskInput, executionId);
    }
    const overrides: NonNullable<RunOptions['overrides']> = { taskResourceLocalHandlers: handlers };
    if (this.options.retryIntervalMs !== undefined) {
      const interval = this.options.retryIntervalMs;
      overrides.retryIntervalOverrides = Object.fromEntries(
        [...machine.taskHandlers.keys(), ...machine.childTasks].map((state) => [state, interval]),
      );
    }
    if (this.options.waitMs !== undefined) {
      const wait = this.options.waitMs;
      overrides.waitTimeOverrides = Object.fromEntries(waitStates(machine).map((state) => [state, wait]));
    }
    const stateMachine = new StateMachine(machine.definition);
    return stateMachine.run(input, { overrides, context: { Execution: { Id: executionId, Input: input } } })
      .result;
  }

  /** `states:startExecution.sync:2`: the child's output under `Output`, its failure as States.TaskFailed. */
  private async runChild(taskInput: JsonValue, parentId: string): Promise<JsonValue> {
    const childInput = (taskInput as { Input?: JsonValue }).Input ?? {};
    try {
      const output = await this.runMachine(SNAPSHOT_MACHINE, childInput, `${parentId}/snapshot`);
      return { Status: 'SUCCEEDED', Output: output };
    } catch (error) {
      const failure = failureOf(error);
      throw new ChildExecutionFailed(failure.error, failure.cause);
    }
  }
}

function waitStates(machine: LoadedMachine): string[] {
  return Object.entries(machine.definition.States)
    .filter(([, state]) => state.Type === 'Wait')
    .map(([name]) => name);
}

function failureOf(error: unknown): { error: string; cause: string } {
  const inner = error instanceof ExecutionError && error.cause instanceof Error ? error.cause : error;
  if (inner instanceof Error) return { error: inner.name, cause: inner.message };
  return { error: 'Error', cause: String(inner) };
}

import { randomUUID } from 'node:crypto';
import {
  ExecutionAbortedError,
  ExecutionError,
  type RunOptions,
  StateMachine,
  type StateMachineDefinition,
} from 'aws-local-stepfunctions';
import type { Runtime } from '../../functions/handlers/runtime.js';
import { TASKS } from '../../functions/handlers/tasks/index.js';
import {
  LIFECYCLE_OPERATIONS,
  type LifecycleOperation,
  type LifecycleStarter,
  type OperationInput,
  type StartedOperation,
} from '../../functions/ports/lifecycle.js';
import { type LoadedMachine, loadMachine, SNAPSHOT_MACHINE } from './definitions.js';
import { ExecutionJournal, type JournalEntry } from './journal.js';
import { installPromiseWithResolvers } from './polyfill.js';

installPromiseWithResolvers();

export interface LocalRunnerOptions {
  /** The handlers' adapters; the runner adds itself as the runtime's starter (auto-resync). */
  runtime: Runtime;
  /** Replaces every Retry interval (tests: 0 or a few ms). Default: the ASL's own. */
  retryIntervalMs?: number;
  /** Replaces every Wait state's duration (tests: a few ms). Default: the ASL's own. */
  waitMs?: number;
  /** Called when an execution ends (the local runtime prints it); not for one stopped by `stop()`. */
  onFinished?: (execution: ExecutionResult) => void;
  /**
   * Directory of the execution journal (`npm start`: `<DATA_DIR>/executions`). With it every
   * top-level execution records the state it is in, and `journaled()` / `resume()` continue
   * those executions in a later process. Without it nothing outlives the process.
   */
  journalDir?: string;
  /** A journal write that failed (the execution goes on; a restart would resume it from an older state). */
  onJournalError?: (executionId: string, error: unknown) => void;
}

export interface ExecutionResult {
  executionId: string;
  operation: LifecycleOperation;
  pipeId: string;
  /** STOPPED: `stop()` ended it in this process; its journal entry stays for the next one. */
  status: 'SUCCEEDED' | 'FAILED' | 'STOPPED';
  output?: unknown;
  /** The Fail state's or the error's name, e.g. PipeFailed, CommandRefused. */
  error?: string;
  cause?: string;
}

/** An execution continued from its journal entry. */
export interface ResumedExecution {
  entry: JournalEntry;
  result: Promise<ExecutionResult>;
}

type JsonValue = Parameters<StateMachine['run']>[0];
type RunningExecution = ReturnType<StateMachine['run']>;
type ExecutionEvent = RunningExecution['eventLogs'] extends AsyncGenerator<infer Event> ? Event : never;

/** A failed child execution as `states:startExecution.sync` reports it to the parent's Task. */
class ChildExecutionFailed extends Error {
  constructor(error: string, cause: string) {
    super(JSON.stringify({ Error: error, Cause: cause }));
    this.name = 'States.TaskFailed';
  }
}

/** A promise that never settles: work the runner refuses to begin once it is stopping. */
const never = <T>(): Promise<T> => new Promise<T>(() => undefined);

/**
 * Follows one top-level execution's event log: writes the journal entry on every state entered,
 * and lets a Task invocation begin only once the entry naming its state is on disk (`gate`).
 * So the journal always names the state of the last Task that started, or a later one: a
 * restart re-runs at most that Task (safe, every Task is idempotent) and never an earlier one.
 */
class JournalTap {
  /** Task attempts whose journal entry is written: a Task state entered, or retried. */
  private readonly attempts: string[] = [];
  private cursor = 0;
  private waiters: (() => void)[] = [];
  private ended = false;
  readonly done: Promise<void>;

  private attach!: (events: AsyncGenerator<ExecutionEvent>) => void;

  /** Made before the execution starts (its first Task may be invoked within `run`); `follow` then attaches the log. */
  constructor(
    private readonly journal: ExecutionJournal,
    private readonly base: Omit<JournalEntry, 'version' | 'updatedAt' | 'state' | 'input'>,
    private readonly onError: (error: unknown) => void,
  ) {
    const events = new Promise<AsyncGenerator<ExecutionEvent>>((resolve) => {
      this.attach = resolve;
    });
    this.done = events.then((log) => this.consume(log));
  }

  follow(events: AsyncGenerator<ExecutionEvent>): void {
    this.attach(events);
  }

  /** Resolves once the entry for this invocation of Task `state` is written (or the log ended). */
  async gate(state: string): Promise<void> {
    for (;;) {
      const index = this.attempts.indexOf(state, this.cursor);
      if (index >= 0) {
        this.cursor = index + 1;
        return;
      }
      if (this.ended) return;
      await new Promise<void>((wake) => this.waiters.push(wake));
    }
  }

  private async consume(events: AsyncGenerator<ExecutionEvent>): Promise<void> {
    try {
      for await (const event of events) {
        // Top-level machines have no Map or Parallel; events nested in one carry an index.
        if (event.type === 'StateEntered' && event.index === undefined) {
          try {
            await this.journal.write({ ...this.base, state: event.state.name, input: event.state.input });
          } catch (error) {
            this.onError(error);
          }
          if (event.state.type === 'Task') this.record(event.state.name);
        } else if (event.type === 'StateRetried' && event.index === undefined) {
          this.record(event.state.name);
        }
      }
    } finally {
      this.ended = true;
      this.wake();
    }
  }

  private record(state: string): void {
    this.attempts.push(state);
    this.wake();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}

/**
 * Runs the committed ASL files with aws-local-stepfunctions: every Task is overridden with the
 * real handler of its `${<name>FunctionArn}` placeholder, and the snapshot child machine runs
 * in-process where the parent starts it. Implements LifecycleStarter for the local API.
 *
 * With a journal directory, executions survive a restart the way Step Functions executions are
 * durable: each top-level execution's current state and its input are journaled, `stop()` ends
 * the process's part without ending the executions, and `resume()` starts them again from the
 * journaled state (the snapshot child is not journaled: the parent's RunSnapshot re-runs it,
 * and it continues from the stored plans and checkpoints).
 */
export class LocalStateMachines implements LifecycleStarter {
  private readonly runtime: Runtime;
  private readonly machines = new Map<string, LoadedMachine>();
  private readonly byRequest = new Map<string, string>();
  private readonly inFlight = new Set<Promise<ExecutionResult>>();
  private readonly journal: ExecutionJournal | null;
  /** Every StateMachine run (parents and children), to abort on stop. */
  private readonly running = new Set<RunningExecution>();
  /** Task handler invocations in progress (not RunSnapshot: its child's Tasks are counted). */
  private readonly invocations = new Set<Promise<unknown>>();
  private readonly taps = new Set<Promise<void>>();
  private stopping = false;

  constructor(private readonly options: LocalRunnerOptions) {
    this.runtime = { ...options.runtime, starter: this };
    this.journal = options.journalDir ? new ExecutionJournal(options.journalDir) : null;
  }

  /**
   * Starts an execution in the background; the same requestId starts at most one. With a
   * journal, the execution is on disk before this returns, so it outlives a restart from then on.
   */
  async start(operation: LifecycleOperation, input: OperationInput): Promise<StartedOperation> {
    if (this.stopping) throw new Error('the local state machines are stopping');
    const known = this.byRequest.get(input.requestId);
    if (known) return { executionId: known };
    const executionId = newExecutionId(operation, input.pipeId);
    this.byRequest.set(input.requestId, executionId);
    let startedAt: string;
    try {
      startedAt = await this.journalStart(operation, input, executionId);
    } catch (error) {
      this.byRequest.delete(input.requestId);
      throw error;
    }
    this.track(this.execute(operation, input, executionId, { startedAt }));
    return { executionId };
  }

  /** Runs one execution to its end (journaled like `start`). */
  async run(operation: LifecycleOperation, input: OperationInput): Promise<ExecutionResult> {
    const executionId = newExecutionId(operation, input.pipeId);
    const startedAt = await this.journalStart(operation, input, executionId);
    return this.execute(operation, input, executionId, { startedAt });
  }

  /**
   * Runs the `create` machine from a create request (the body of `POST /pipes`), as the AWS
   * console starts it: `name` is the execution name, the create's idempotency key. Journaled
   * like `run`; the pipe id is not known until the machine stored the pipe.
   */
  async runCreateRequest(request: unknown, name: string): Promise<ExecutionResult> {
    const executionId = `local:create:${name}:${randomUUID()}`;
    const input = request as OperationInput;
    const startedAt = await this.journalStart('create', { ...input, pipeId: '' }, executionId);
    return this.execute('create', input, executionId, { startedAt, pipeId: '', name });
  }

  /** The executions an earlier process left in the journal (none without a journal directory). */
  async journaled(): Promise<{ entries: JournalEntry[]; unreadable: string[] }> {
    if (!this.journal) return { entries: [], unreadable: [] };
    return this.journal.list();
  }

  /**
   * Continues a journaled execution: the same machine, started at the journaled state with the
   * journaled input, under the same execution id. Runs in the background like `start`.
   */
  resume(entry: JournalEntry): ResumedExecution {
    if (this.stopping) throw new Error('the local state machines are stopping');
    if (!(LIFECYCLE_OPERATIONS as readonly string[]).includes(entry.operation))
      throw new Error(`${entry.executionId}: unknown operation ${entry.operation}`);
    const machine = this.machine(entry.operation);
    if (!(entry.state in machine.definition.States))
      throw new Error(`${entry.executionId}: the ${entry.operation} machine has no state ${entry.state}`);
    const input = entry.input as Partial<OperationInput> | null;
    if (typeof input?.requestId === 'string') this.byRequest.set(input.requestId, entry.executionId);
    const result = this.execute(entry.operation, entry.input as OperationInput, entry.executionId, {
      state: entry.state,
      startedAt: entry.startedAt,
      pipeId: entry.pipeId,
    });
    this.track(result);
    return { entry, result };
  }

  /** Forgets a journaled execution without running it. */
  async discard(entry: JournalEntry): Promise<void> {
    await this.journal?.remove(entry.executionId);
  }

  /** Resolves once every started execution (including ones they start) has ended. */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /**
   * Stops running without ending the executions: no Task begins any more, every execution is
   * aborted (Wait states and Retry pauses end at once), and this resolves when the Task
   * invocations already in progress have returned and the journal is written. Each execution
   * ends STOPPED and keeps its journal entry, so a later process resumes it at the state it was in.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const execution of this.running) execution.abort();
    while (this.invocations.size > 0) await Promise.allSettled([...this.invocations]);
    await Promise.allSettled([...this.taps]);
    await this.idle();
  }

  private track(execution: Promise<ExecutionResult>): void {
    this.inFlight.add(execution);
    void execution.finally(() => this.inFlight.delete(execution));
  }

  private async journalStart(
    operation: LifecycleOperation,
    input: OperationInput,
    executionId: string,
  ): Promise<string> {
    const startedAt = new Date().toISOString();
    await this.journal?.write({
      executionId,
      operation,
      pipeId: input.pipeId,
      state: this.machine(operation).definition.StartAt,
      input,
      startedAt,
    });
    return startedAt;
  }

  private async execute(
    operation: LifecycleOperation,
    input: OperationInput,
    executionId: string,
    from: { startedAt: string; state?: string; pipeId?: string; name?: string },
  ): Promise<ExecutionResult> {
    const pipeId = from.pipeId ?? input.pipeId;
    const base = { executionId, operation, pipeId };
    let result: ExecutionResult;
    try {
      const output = await this.runMachine(operation, input as unknown as JsonValue, executionId, {
        operation,
        pipeId,
        startedAt: from.startedAt,
        startAt: from.state,
        name: from.name ?? input.requestId ?? executionId,
      });
      result = { ...base, status: 'SUCCEEDED', output };
    } catch (error) {
      if (this.stopping && error instanceof ExecutionAbortedError) return { ...base, status: 'STOPPED' };
      const failure = failureOf(error);
      result = { ...base, status: 'FAILED', error: failure.error, cause: failure.cause };
    }
    await this.journal
      ?.remove(executionId)
      .catch((error) => this.options.onJournalError?.(executionId, error));
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

  /** One Task handler invocation, unless stopping: then it never begins (the journal names its state). */
  private invoke<T>(work: () => Promise<T>): Promise<T> {
    if (this.stopping) return never();
    const invocation = work();
    this.invocations.add(invocation);
    const forget = () => this.invocations.delete(invocation);
    invocation.then(forget, forget);
    return invocation;
  }

  private async runMachine(
    name: string,
    input: JsonValue,
    executionId: string,
    top?: {
      operation: LifecycleOperation;
      pipeId: string;
      startedAt: string;
      startAt?: string;
      name?: string;
    },
  ): Promise<JsonValue> {
    const machine = this.machine(name);
    let tap: JournalTap | null = null;
    const gate = (state: string) => tap?.gate(state);
    const handlers: Record<string, (input: JsonValue) => Promise<JsonValue>> = {};
    for (const [stateName, handlerName] of machine.taskHandlers) {
      const task = TASKS[handlerName];
      if (!task) throw new Error(`${name}: no handler ${handlerName} for Task ${stateName}`);
      handlers[stateName] = async (taskInput) => {
        await gate(stateName);
        return (await this.invoke(() => task.invoke(this.runtime, taskInput))) as JsonValue;
      };
    }
    for (const stateName of machine.childTasks) {
      handlers[stateName] = async (taskInput) => {
        await gate(stateName);
        if (this.stopping) return never();
        return this.runChild(taskInput, executionId);
      };
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
    const stateMachine = startingAt(machine.definition, top?.startAt);
    if (top && this.journal) {
      const { operation, pipeId, startedAt } = top;
      tap = new JournalTap(this.journal, { executionId, operation, pipeId, startedAt }, (error) =>
        this.options.onJournalError?.(executionId, error),
      );
      const done = tap.done;
      this.taps.add(done);
      void done.finally(() => this.taps.delete(done));
    }
    let execution: RunningExecution;
    try {
      execution = stateMachine.run(input, {
        overrides,
        context: { Execution: { Id: executionId, Name: top?.name ?? executionId, Input: input } },
      });
    } catch (error) {
      tap?.follow(noEvents());
      throw error;
    }
    tap?.follow(execution.eventLogs);
    this.running.add(execution);
    if (this.stopping) execution.abort();
    try {
      return await execution.result;
    } finally {
      this.running.delete(execution);
      // The last entries are written before the execution counts as ended (and its entry is removed).
      await tap?.done;
    }
  }

  /** `states:startExecution.sync:2`: the child's output under `Output`, its failure as States.TaskFailed. */
  private async runChild(taskInput: JsonValue, parentId: string): Promise<JsonValue> {
    const childInput = (taskInput as { Input?: JsonValue }).Input ?? {};
    try {
      const output = await this.runMachine(SNAPSHOT_MACHINE, childInput, `${parentId}/snapshot`);
      return { Status: 'SUCCEEDED', Output: output };
    } catch (error) {
      // Aborted by stop(): the parent is aborted too and resumes at RunSnapshot next time.
      if (this.stopping) return never();
      const failure = failureOf(error);
      throw new ChildExecutionFailed(failure.error, failure.cause);
    }
  }
}

async function* noEvents(): AsyncGenerator<ExecutionEvent> {}

function newExecutionId(operation: LifecycleOperation, pipeId: string): string {
  return `local:${operation}:${pipeId}:${randomUUID()}`;
}

/**
 * The machine, or a copy that starts at `state`. The committed definition is validated as it is;
 * the copy is not (asl-validator would call the states before `state` unreachable).
 */
function startingAt(definition: StateMachineDefinition, state: string | undefined): StateMachine {
  const validated = new StateMachine(definition);
  if (state === undefined || state === definition.StartAt) return validated;
  return new StateMachine({ ...definition, StartAt: state }, { validationOptions: { noValidate: true } });
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

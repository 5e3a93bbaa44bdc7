import type { z } from 'zod';
import { classifyError } from '../core/classify.js';
import { ERROR_NAMES } from '../core/error-names.js';
import { ChangeStreamHistoryLostError, FatalError, PipeError, TransientError } from '../core/errors.js';
import { sanitizeMessage } from '../core/redact.js';
import {
  addLambdaContext,
  type InvocationKeys,
  log,
  traceInvocation,
  withInvocation,
} from './observability.js';
import type { Runtime } from './runtime.js';

/**
 * What Lambda passes as the second argument: the handlers read the remaining time and the
 * request id; the logger takes the whole Lambda context onto its lines (observability.ts).
 */
export interface LambdaContext {
  getRemainingTimeInMillis?: () => number;
  awsRequestId?: string;
}

export interface TaskDefinition<Output> {
  /** The ASL placeholder is `${<name>FunctionArn}`. */
  name: string;
  /** Runs the task with a given runtime (tests, the local runner). */
  invoke(runtime: Runtime, event: unknown, context?: LambdaContext): Promise<Output>;
  /** The Lambda entry point: the runtime is built from the environment once per container. */
  handler(event: unknown, context?: LambdaContext): Promise<Output>;
}

let cached: Promise<Runtime> | undefined;

/** Built on first use, from the environment (env-runtime.ts), and reused by the container. */
function defaultRuntime(): Promise<Runtime> {
  cached ??= import('./env-runtime.js')
    .then((module) => module.runtimeFromEnv(process.env))
    .catch((error: unknown) => {
      cached = undefined;
      throw error;
    });
  return cached;
}

/**
 * Step Functions matches Retry/Catch on the error's name, so every error leaving a handler must
 * carry one of ERROR_NAMES. A named error of the engines that is not in the list (e.g.
 * TableNotMappedError) keeps its message and takes its disposition's base name.
 */
export function namedError(error: unknown): Error {
  const named = nameOf(error);
  // Its message becomes the Step Functions cause, a pipe's lastError and its history.
  named.message = sanitizeMessage(named.message);
  return named;
}

function nameOf(error: unknown): Error {
  if (error instanceof Error && Object.hasOwn(ERROR_NAMES, error.name)) return error;
  const classified = error instanceof PipeError ? error : classifyError(error);
  if (Object.hasOwn(ERROR_NAMES, classified.name)) return classified;
  const message = `${classified.name}: ${classified.message}`;
  if (classified.disposition === 'retry') return new TransientError(message, { cause: error });
  if (classified.disposition === 'history-lost') {
    const lost = new ChangeStreamHistoryLostError(classified.message, { cause: error });
    return lost;
  }
  return new FatalError(message, { cause: error });
}

export function parseInput<S extends z.ZodType>(name: string, schema: S, event: unknown): z.output<S> {
  const result = schema.safeParse(event);
  if (!result.success) {
    const detail = result.error.issues.map(
      (issue) => `${issue.path.join('.') || '(input)'}: ${issue.message}`,
    );
    throw new FatalError(`${name}: invalid input: ${detail.join('; ')}`);
  }
  return result.data;
}

export function defineTask<S extends z.ZodType, Output>(
  name: string,
  schema: S,
  run: (runtime: Runtime, input: z.output<S>, context: LambdaContext) => Promise<Output>,
): TaskDefinition<Output> {
  // One invocation under its log keys; the runtime comes first (a runtime that cannot be built
  // fails the invocation, named and logged like any other failure).
  const invokeWith = (runtimeOf: () => Runtime | Promise<Runtime>, event: unknown, context: LambdaContext) =>
    withInvocation(invocationKeys(name, event), async () => {
      const started = Date.now();
      try {
        const output = await run(await runtimeOf(), parseInput(name, schema, event), context);
        log.debug(`${name} done`, { durationMs: Date.now() - started });
        return output;
      } catch (error) {
        throw failed(name, error, started);
      }
    });
  return {
    name,
    invoke: (runtime, event, context = {}) => invokeWith(() => runtime, event, context),
    handler: async (event, context) => {
      addLambdaContext(context);
      return traceInvocation(invocationKeys(name, event), () =>
        invokeWith(defaultRuntime, event, context ?? {}),
      );
    },
  };
}

/**
 * Every line of an invocation names the operation and, when the input has them, the pipe and
 * what started a CDC run (`hand-over`, `restart`…; the schedule sends none).
 */
function invocationKeys(name: string, event: unknown): InvocationKeys {
  const input: { pipeId?: unknown; trigger?: unknown } =
    typeof event === 'object' && event !== null ? event : {};
  const { pipeId, trigger } = input;
  return {
    operation: name,
    ...(typeof pipeId === 'string' && pipeId.length > 0 ? { pipeId } : {}),
    ...(typeof trigger === 'string' && trigger.length > 0 ? { trigger } : {}),
  };
}

/** The error the invocation ends with, named, and logged: WARN when a retry may fix it, ERROR otherwise. */
function failed(name: string, error: unknown, started: number): Error {
  const named = namedError(error);
  const retried = named instanceof PipeError && named.disposition === 'retry';
  (retried ? log.warn : log.error)(`${name} failed: ${named.name}`, {
    error: named,
    durationMs: Date.now() - started,
  });
  return named;
}

/** The time a chunk or batch may use: the Lambda's remaining time, else the fallback. */
export function remainingMs(context: LambdaContext, fallbackMs: number): number {
  return context.getRemainingTimeInMillis?.() ?? fallbackMs;
}

import type { z } from 'zod';
import { classifyError } from '../core/classify.js';
import { ERROR_NAMES } from '../core/error-names.js';
import { ChangeStreamHistoryLostError, FatalError, PipeError, TransientError } from '../core/errors.js';
import { sanitizeMessage } from '../core/redact.js';
import type { Runtime } from './runtime.js';

/** What Lambda passes as the second argument; only the remaining time is read. */
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
  const invoke = async (runtime: Runtime, event: unknown, context: LambdaContext = {}) => {
    try {
      return await run(runtime, parseInput(name, schema, event), context);
    } catch (error) {
      throw namedError(error);
    }
  };
  return {
    name,
    invoke,
    handler: async (event, context) => {
      let runtime: Runtime;
      try {
        runtime = await defaultRuntime();
      } catch (error) {
        throw namedError(error);
      }
      return invoke(runtime, event, context);
    },
  };
}

/** The time a chunk or batch may use: the Lambda's remaining time, else the fallback. */
export function remainingMs(context: LambdaContext, fallbackMs: number): number {
  return context.getRemainingTimeInMillis?.() ?? fallbackMs;
}

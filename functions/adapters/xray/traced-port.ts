import type { Tracer } from '@aws-lambda-powertools/tracer';

/** The part of an X-Ray subsegment used here. */
interface Span {
  addAnnotation(key: string, value: string | number | boolean): void;
  close(error?: Error | string | null): void;
}

export type Annotations = Record<string, string | number | boolean>;

/**
 * Runs `work` inside an X-Ray subsegment called `name`, the current one while it runs (calls it
 * makes nest under it). The subsegment ends when `work` returns, when its promise settles or,
 * for an async iterable (a snapshot partition read), when the iteration ends; a throw or a
 * rejection is recorded on it (fault flag and the exception) and then rethrown unchanged: the
 * same object, so its name still matches the Step Functions Retry/Catch clauses. With tracing
 * off (outside Lambda) or no segment to attach to, `work` just runs.
 */
export function traceCall<T>(tracer: Tracer, name: string, work: () => T, annotations: Annotations = {}): T {
  if (!tracer.isTracingEnabled()) return work();
  return tracer.provider.captureAsyncFunc(name, (subsegment?: Span) => {
    if (!subsegment) return work();
    for (const [key, value] of Object.entries(annotations)) subsegment.addAnnotation(key, value);
    let result: T;
    try {
      result = work();
    } catch (error) {
      subsegment.close(asError(error));
      throw error;
    }
    if (isPromiseLike(result))
      return result.then(
        (value) => {
          subsegment.close();
          return value;
        },
        (error: unknown) => {
          subsegment.close(asError(error));
          throw error;
        },
      );
    if (isAsyncIterable(result)) return spanIteration(subsegment, result);
    subsegment.close();
    return result;
  }) as T;
}

/**
 * The port with each method call traced as `<system>.<method>` (`MongoDB.readBatch`,
 * `ClickHouse.insertRows`). Methods run on the port itself (private fields, `this`), values and
 * errors pass through untouched. With tracing off it is the port itself.
 */
export function tracedPort<Port extends object>(tracer: Tracer, system: string, port: Port): Port {
  if (!tracer.isTracingEnabled()) return port;
  return new Proxy(port, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function' || typeof property !== 'string' || property === 'constructor')
        return value;
      return (...args: unknown[]) =>
        traceCall(tracer, `${system}.${property}`, () => Reflect.apply(value, target, args));
    },
  });
}

function spanIteration<T>(subsegment: Span, iterable: AsyncIterable<T>): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator]() {
      const iterator = iterable[Symbol.asyncIterator]();
      let open = true;
      const end = (error?: unknown) => {
        if (!open) return;
        open = false;
        subsegment.close(error === undefined ? undefined : asError(error));
      };
      return {
        async next(...args: [] | [unknown]) {
          try {
            const step = await iterator.next(...args);
            if (step.done) end();
            return step;
          } catch (error) {
            end(error);
            throw error;
          }
        },
        async return(value?: unknown) {
          end();
          return iterator.return ? iterator.return(value) : { done: true as const, value: value as T };
        },
        async throw(error?: unknown) {
          end(error);
          if (iterator.throw) return iterator.throw(error);
          throw error;
        },
      };
    },
  };
}

function isPromiseLike(value: unknown): value is PromiseLike<Awaited<unknown>> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function'
  );
}

function asError(error: unknown): Error | string {
  return error instanceof Error ? error : String(error);
}

import { AsyncLocalStorage } from 'node:async_hooks';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Tracer } from '@aws-lambda-powertools/tracer';
import type { Context } from 'aws-lambda';
import { METRIC_NAMESPACE } from '../adapters/cloudwatch/metric-names.js';
import { type Annotations, traceCall, tracedPort } from '../adapters/xray/traced-port.js';
import type { Log } from '../ports/log.js';

/**
 * The product's one Logger, Metrics and Tracer (Powertools for AWS Lambda). Every handler and
 * the local runtime write through these, so a line looks the same in CloudWatch and on a laptop.
 * The level is POWERTOOLS_LOG_LEVEL (INFO when unset; the tests run SILENT, vitest.config.ts).
 * The Tracer exists only where it can trace (below).
 */
const serviceName = process.env.POWERTOOLS_SERVICE_NAME ?? 'mongo-clickhouse-pipes';

export const logger = new Logger({ serviceName });
/**
 * Loading the X-Ray SDK installs an async hook that every promise in the process pays for, traced
 * or not (0.05 → 0.66 µs of CPU per await, measured; several awaits per change event). So the
 * Tracer is loaded only where it will trace: in Lambda, unless POWERTOOLS_TRACE_ENABLED=false.
 * Locally, in tests and in benchmarks there is none, and nothing is wrapped.
 */
const tracingWanted =
  Boolean(process.env.AWS_LAMBDA_FUNCTION_NAME) &&
  process.env.POWERTOOLS_TRACE_ENABLED?.toLowerCase() !== 'false';
export const tracer: Tracer | undefined = tracingWanted
  ? new (await import('@aws-lambda-powertools/tracer')).Tracer({ serviceName })
  : undefined;
/** The namespace is fixed here, not by the environment: the alarms and dashboard read this one. */
export const metrics = new Metrics({ serviceName, namespace: METRIC_NAMESPACE, logger });

/** The keys every line of one invocation carries. */
export interface InvocationKeys {
  /** The Task's name (`SnapshotChunk`, `MarkFailed`…) or `CdcBatch`. */
  operation: string;
  pipeId?: string;
  /** What started a CDC run, when not its schedule (`hand-over`, `restart`…). */
  trigger?: string;
}

/**
 * Kept per async call chain rather than on the logger: locally many Task and CDC invocations
 * run at once in one process, and each line must name its own pipe. Gone when the run ends, so
 * a warm container never carries one invocation's keys into the next.
 */
const invocation = new AsyncLocalStorage<InvocationKeys>();

/** Runs one invocation: every line logged through `log` inside it carries `keys`. */
export function withInvocation<T>(keys: InvocationKeys, run: () => Promise<T>): Promise<T> {
  return invocation.run(keys, run);
}

/**
 * The Lambda context on every line (request id, function name and ARN, cold start). Lambda
 * serves one invocation at a time per container, and each invocation replaces the last one's.
 */
export function addLambdaContext(context: object | undefined): void {
  if (context && 'awsRequestId' in context && 'functionName' in context)
    logger.addContext(context as Context);
}

const keysOf = (detail: Record<string, unknown> | undefined) => ({ ...invocation.getStore(), ...detail });

/**
 * The logger as the engines, adapters and API see it (the Log port): detail becomes keys of the
 * line, after the invocation's `pipeId` and `operation`.
 */
export const log: Log = {
  debug: (message, detail) => logger.debug(message, keysOf(detail)),
  info: (message, detail) => logger.info(message, keysOf(detail)),
  warn: (message, detail) => logger.warn(message, keysOf(detail)),
  error: (message, detail) => logger.error(message, keysOf(detail)),
};

/** An AWS SDK v3 client whose calls show as X-Ray subsegments when tracing is on. */
export function traced<Client extends object>(client: Client): Client {
  return tracer ? tracer.captureAWSv3Client(client) : client;
}

/** A MongoDB or ClickHouse port whose calls show as `<system>.<method>` subsegments when tracing is on. */
export function tracePort<Port extends object>(system: 'MongoDB' | 'ClickHouse', port: Port): Port {
  return tracer ? tracedPort(tracer, system, port) : port;
}

let coldStart = true;

/**
 * One invocation as the `## <operation>` subsegment, annotated with the pipe (X-Ray's filter
 * expressions search annotations: `annotation.pipeId = "…"`), the service and the cold start.
 */
export function traceInvocation<T>(keys: InvocationKeys, run: () => Promise<T>): Promise<T> {
  const annotations: Annotations = {
    operation: keys.operation,
    ...(keys.pipeId ? { pipeId: keys.pipeId } : {}),
    Service: serviceName,
    ColdStart: coldStart,
  };
  coldStart = false;
  return tracer ? traceCall(tracer, `## ${keys.operation}`, run, annotations) : run();
}

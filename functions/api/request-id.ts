import { createHash } from 'node:crypto';
import type { LifecycleOperation } from '../ports/lifecycle.js';

const digest = (text: string): string => createHash('sha256').update(text).digest('hex').slice(0, 16);

/**
 * The request id that makes starting an operation idempotent (the Step Functions execution
 * name). Without an Idempotency-Key it is bound to the pipe version the caller acted on: the
 * same command sent twice against the same version starts one execution, and a version is
 * never reused, so a later command of the same kind gets a new one. Table lists and options
 * are part of it, so two different resyncs of one version do not collapse into one.
 */
export function operationRequestId(
  operation: LifecycleOperation,
  pipeId: string,
  version: number,
  options: { idempotencyKey?: string; detail?: unknown } = {},
): string {
  if (options.idempotencyKey !== undefined)
    return `${operation}-${pipeId}-k${digest(options.idempotencyKey)}`;
  const detail = options.detail === undefined ? '' : `-${digest(JSON.stringify(options.detail))}`;
  return `${operation}-${pipeId}-v${version}${detail}`;
}

import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import type { Log } from '../ports/log.js';

/**
 * The product's one Logger, Metrics and Tracer (Powertools for AWS Lambda). Every handler and
 * the local runtime write through these, so a line looks the same in CloudWatch and on a laptop.
 * Outside Lambda the Tracer is off by itself (no X-Ray daemon to talk to).
 */
const serviceName = process.env.POWERTOOLS_SERVICE_NAME ?? 'mongo-clickhouse-pipes';

export const logger = new Logger({ serviceName });
export const tracer = new Tracer({ serviceName });
export const metrics = new Metrics({ serviceName });

/** The logger as the engines, adapters and API see it (the Log port): detail becomes keys of the line. */
export const log: Log = {
  debug: (message, detail) => logger.debug(message, detail ?? {}),
  info: (message, detail) => logger.info(message, detail ?? {}),
  warn: (message, detail) => logger.warn(message, detail ?? {}),
  error: (message, detail) => logger.error(message, detail ?? {}),
};

/** An AWS SDK v3 client whose calls show as X-Ray subsegments when tracing is on. */
export function traced<Client extends object>(client: Client): Client {
  return tracer.captureAWSv3Client(client);
}

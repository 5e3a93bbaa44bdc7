import { join } from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { ISecurityGroup, IVpc, SubnetSelection } from 'aws-cdk-lib/aws-ec2';
import {
  ApplicationLogLevel,
  Architecture,
  LoggingFormat,
  type RecursiveLoop,
  Runtime,
  Tracing,
} from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { METRIC_NAMESPACE } from '../functions/adapters/cloudwatch/metric-names.js';
import { PACKAGE_ROOT } from './placeholders.js';

/** Levels Powertools and Lambda's application log level share. */
export const LOG_LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** How much a function may use: the API and small tasks take seconds, chunks and batches minutes. */
export interface FunctionSize {
  memoryMiB: number;
  timeout: Duration;
}

export const SMALL: FunctionSize = { memoryMiB: 512, timeout: Duration.seconds(30) };
export const CONNECTING: FunctionSize = { memoryMiB: 1024, timeout: Duration.minutes(2) };
export const HEAVY: FunctionSize = { memoryMiB: 2048, timeout: Duration.minutes(15) };

export interface NetworkPlacement {
  vpc: IVpc;
  vpcSubnets: SubnetSelection;
  securityGroups: ISecurityGroup[];
}

export interface PipeFunctionProps {
  /** The handler's TypeScript source, relative to the repository root (PACKAGE_ROOT); it exports `handler`. */
  entry: string;
  /** A fixed physical name where others must know the ARN before the function exists. */
  functionName?: string;
  description: string;
  size: FunctionSize;
  environment: Record<string, string>;
  logRetention: RetentionDays;
  /** Powertools' level (POWERTOOLS_LOG_LEVEL) and Lambda's application log level, the same. */
  logLevel: LogLevel;
  network?: NetworkPlacement;
  /** Lambda's recursive loop detection (default: terminate loops). */
  recursiveLoop?: RecursiveLoop;
}

/**
 * Modules never bundled: the AWS SDK v3 ships with the Node 22 runtime; the MongoDB driver's
 * optional add-ons are loaded inside try/catch and unused here; chdb is the local embedded
 * ClickHouse (the Lambdas speak HTTP to ClickHouse) and must never reach a Lambda.
 */
const EXTERNAL_MODULES = [
  '@aws-sdk/*',
  'chdb',
  'kerberos',
  '@mongodb-js/zstd',
  'mongodb-client-encryption',
  'snappy',
  'socks',
  'aws4',
  'gcp-metadata',
];

/**
 * The sources are ESM (`"type": "module"`), so the bundle is ESM too. CommonJS dependencies
 * (the MongoDB driver) call `require` for Node built-ins, which ESM lacks: the banner provides it.
 */
const REQUIRE_SHIM =
  "import { createRequire as __pipesCreateRequire } from 'node:module'; const require = __pipesCreateRequire(import.meta.url);";

/**
 * Powertools' settings (functions/handlers/observability.ts): the service every log line, trace
 * and metric names, and the metrics' namespace (the code fixes it too: the alarms read it).
 */
function powertoolsEnvironment(logLevel: LogLevel): Record<string, string> {
  return {
    POWERTOOLS_SERVICE_NAME: 'mongo-clickhouse-pipes',
    POWERTOOLS_METRICS_NAMESPACE: METRIC_NAMESPACE,
    POWERTOOLS_LOG_LEVEL: logLevel,
  };
}

/**
 * One handler as a Lambda: Node 22 on ARM64, bundled by the local esbuild (never Docker), JSON
 * logs at the deployment's level, X-Ray tracing.
 */
export class PipeFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: PipeFunctionProps) {
    const logGroup = new LogGroup(scope, `${id}Logs`, {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    super(scope, id, {
      entry: join(PACKAGE_ROOT, props.entry),
      handler: 'handler',
      ...(props.functionName ? { functionName: props.functionName } : {}),
      description: props.description,
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: props.size.memoryMiB,
      timeout: props.size.timeout,
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        ...powertoolsEnvironment(props.logLevel),
        ...props.environment,
      },
      loggingFormat: LoggingFormat.JSON,
      // Lambda drops JSON lines below its application level: kept equal to Powertools' own.
      applicationLogLevelV2: ApplicationLogLevel[props.logLevel],
      logGroup,
      tracing: Tracing.ACTIVE,
      ...(props.recursiveLoop ? { recursiveLoop: props.recursiveLoop } : {}),
      depsLockFilePath: join(PACKAGE_ROOT, 'package-lock.json'),
      projectRoot: PACKAGE_ROOT,
      bundling: {
        forceDockerBundling: false,
        target: 'node22',
        format: OutputFormat.ESM,
        mainFields: ['module', 'main'],
        banner: REQUIRE_SHIM,
        minify: true,
        // Error classes keep their names: `this.name = new.target.name` is what Step Functions'
        // Retry/Catch clauses match (functions/core/errors.ts), and minifying renames classes.
        keepNames: true,
        sourceMap: true,
        externalModules: EXTERNAL_MODULES,
      },
      ...(props.network
        ? {
            vpc: props.network.vpc,
            vpcSubnets: props.network.vpcSubnets,
            securityGroups: props.network.securityGroups,
          }
        : {}),
    });
  }
}

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { SFNClient } from '@aws-sdk/client-sfn';
import { z } from 'zod';
import { PowertoolsCdcMetrics } from '../adapters/cloudwatch/cdc-metrics.js';
import { DynamoPipeStore } from '../adapters/dynamodb/store.js';
import { LambdaCdcTrigger } from '../adapters/lambda/cdc-trigger.js';
import { EventBridgeCdcScheduler, schedulerConfigFromEnv } from '../adapters/scheduler/cdc-scheduler.js';
import {
  STATE_MACHINE_ARN_ENV,
  StepFunctionsStarter,
  stateMachineArnsFromEnv,
} from '../adapters/stepfunctions/starter.js';
import { FatalError } from '../core/errors.js';
import { systemClock } from '../ports/clock.js';
import type { LifecycleStarter } from '../ports/lifecycle.js';
import { allowedHostsFromEnv, cloudCreateRules } from './create-rules.js';
import { log, metrics, traced, tracePort } from './observability.js';
import { connectWith, type PipeConnections, type Runtime } from './runtime.js';

/**
 * The Lambda environment (set by CDK). Credentials never live here: a pipe's record names its
 * MongoDB URI or a Secrets Manager ARN, and its ClickHouse url plus credentials or an ARN.
 */
const environment = z.object({ PIPE_STORE_TABLE: z.string().min(1) });

export async function runtimeFromEnv(env: Record<string, string | undefined>): Promise<Runtime> {
  const parsed = environment.safeParse(env);
  if (!parsed.success) {
    const missing = parsed.error.issues.map((issue) => issue.path.join('.'));
    throw new FatalError(`the function's environment is incomplete: ${missing.join(', ')}`);
  }
  const config = parsed.data;
  let scheduler: EventBridgeCdcScheduler;
  let cdcTrigger: LambdaCdcTrigger;
  let starter: LifecycleStarter | undefined;
  try {
    const schedule = schedulerConfigFromEnv(env);
    scheduler = new EventBridgeCdcScheduler(traced(new SchedulerClient({})), schedule);
    // The schedule's target is the CDC function: a hand-over invokes the same function.
    cdcTrigger = new LambdaCdcTrigger(traced(new LambdaClient({})), schedule.targetArn, log);
    starter = starterFromEnv(env);
  } catch (error) {
    throw new FatalError(error instanceof Error ? error.message : String(error));
  }
  return {
    store: new DynamoPipeStore({
      client: traced(new DynamoDBClient({})),
      tableName: config.PIPE_STORE_TABLE,
    }),
    scheduler,
    cdcTrigger,
    cdcMetrics: new PowertoolsCdcMetrics(metrics),
    createRules: cloudCreateRules(env),
    clock: systemClock,
    connect: tracedConnections(
      connectWith({ reuseClients: true, allowedHosts: allowedHostsFromEnv(env), log }),
    ),
    ...(starter ? { starter } : {}),
  };
}

/**
 * Auto-resync after a lost history starts the resync machine, so MarkFailed and cdc-batch need
 * the machines' ARNs. Without any of them auto-resync is off (the pipe just fails); with some
 * but not all, the deployment is broken and says so.
 */
function starterFromEnv(env: Record<string, string | undefined>): LifecycleStarter | undefined {
  const present = Object.values(STATE_MACHINE_ARN_ENV).filter((name) => env[name] !== undefined);
  if (present.length === 0) return undefined;
  return new StepFunctionsStarter(traced(new SFNClient({})), stateMachineArnsFromEnv(env));
}

/** Each MongoDB and ClickHouse call of a pipe's connections as an X-Ray subsegment (`MongoDB.readBatch`…). */
function tracedConnections(connect: Runtime['connect']): Runtime['connect'] {
  return async (pipe, settings) => {
    const connections: PipeConnections = await connect(pipe, settings);
    const { changeSource } = connections;
    return {
      ...connections,
      snapshotSource: tracePort('MongoDB', connections.snapshotSource),
      changeSource: changeSource ? tracePort('MongoDB', changeSource) : null,
      destination: tracePort('ClickHouse', connections.destination),
      monitor: tracePort('MongoDB', connections.monitor),
      checkSource: tracePort('MongoDB', { checkSource: () => connections.checkSource() }).checkSource,
    };
  };
}

import { ArnFormat, CfnOutput, Fn, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { AttributeType, Billing, TableEncryptionV2, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { SecurityGroup, Subnet, Vpc } from 'aws-cdk-lib/aws-ec2';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { type IFunction, RecursiveLoop } from 'aws-cdk-lib/aws-lambda';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import {
  PIPE_STORE_KEYS,
  PIPES_BY_CREATION_INDEX,
  PIPES_BY_STATE_INDEX,
} from '../functions/adapters/dynamodb/table-definition.js';
import { STATE_MACHINE_ARN_ENV } from '../functions/adapters/stepfunctions/starter.js';
import { CdcSchedules } from './cdc-schedules.js';
import type { PipesConfig } from './config.js';
import { PipesMonitoring } from './monitoring.js';
import { suppressReviewedFindings } from './nag-suppressions.js';
import { CONNECTING, HEAVY, type NetworkPlacement, PipeFunction, SMALL } from './pipe-function.js';
import { PipesApi } from './pipes-api.js';
import { readMachineFiles, taskFunctionsOf } from './placeholders.js';
import { LifecycleMachines, machineArnOf, machineNameOf, SNAPSHOT_MACHINE } from './state-machines.js';

export interface PipesStackProps extends StackProps {
  config: PipesConfig;
}

/** Tasks that talk to MongoDB or ClickHouse get minutes; the snapshot chunk gets the most. */
const TASK_SIZES: Record<string, typeof SMALL> = {
  SnapshotChunk: HEAVY,
  PlanSnapshot: CONNECTING,
  PlanTable: CONNECTING,
  Provision: CONNECTING,
  SetUpDestination: CONNECTING,
  PrepareResync: CONNECTING,
  SwapTables: CONNECTING,
  AddTables: CONNECTING,
  RemoveTables: CONNECTING,
};

/** Tasks that create, enable, disable or remove a pipe's CDC schedule (see functions/handlers/tasks). */
export const SCHEDULE_MANAGERS = new Set(['SetSchedule', 'Provision', 'DeletePipe', 'MarkFailed']);

/** Tasks that open the pipe's MongoDB or ClickHouse (and so read its secrets); the CDC function does too. */
export const CONNECTING_TASKS = new Set([
  'Provision',
  'SetUpDestination',
  'PlanTable',
  'SnapshotChunk',
  'PrepareResync',
  'SwapTables',
  'AddTables',
  'RemoveTables',
]);

/** Functions that read the owner tag of the secrets a create request names (the confused-deputy rule). */
export const READS_SECRET_OWNERS = new Set(['Api', 'RegisterPipe']);

/** Functions that only read the pipe store. */
export const READS_STORE_ONLY = new Set(['CheckDrained']);

/** What the store's adapter calls (functions/adapters/dynamodb): no scans, no streams, no transactions. */
const STORE_READS = ['dynamodb:GetItem', 'dynamodb:Query'];
const STORE_WRITES = [
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
];

/** Fails a pipe and may start its resync machine (auto-resync after a lost change stream history). */
export const STARTS_RESYNC = new Set(['MarkFailed']);

/**
 * Tasks that start a CDC run at once (an asynchronous invocation of the CDC function): enabling
 * the schedule starts the first run, and steps that change the tables CDC writes restart it.
 */
export const STARTS_CDC = new Set([
  'SetSchedule',
  'AddTables',
  'PrepareResync',
  'SwapTables',
  'RemoveTables',
]);

/** The whole deployment: pipe store, functions, state machines, API, CDC schedules, monitoring. */
export class PipesStack extends Stack {
  readonly table: TableV2;
  readonly functions = new Map<string, PipeFunction>();

  constructor(scope: Construct, id: string, props: PipesStackProps) {
    super(scope, id, props);
    const { config } = props;
    const logRetention = config.logRetentionDays as RetentionDays;
    const network = this.networkOf(config);

    this.table = new TableV2(this, 'PipeStore', {
      partitionKey: { name: PIPE_STORE_KEYS.partitionKey, type: AttributeType.STRING },
      sortKey: { name: PIPE_STORE_KEYS.sortKey, type: AttributeType.STRING },
      globalSecondaryIndexes: [PIPES_BY_CREATION_INDEX, PIPES_BY_STATE_INDEX].map((index) => ({
        indexName: index.name,
        partitionKey: { name: index.partitionKey, type: AttributeType.STRING },
        sortKey: { name: index.sortKey, type: AttributeType.STRING },
      })),
      billing: Billing.onDemand(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: TableEncryptionV2.awsManagedKey(),
      deletionProtection: config.retainData,
      removalPolicy: config.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });

    // Names fixed in advance: the CDC function manages its own schedule, so needs its own ARN.
    const cdcFunctionName = `${this.stackName}-cdc-batch`;
    const cdcFunctionArn = this.formatArn({
      service: 'lambda',
      resource: 'function',
      resourceName: cdcFunctionName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const schedules = new CdcSchedules(this, 'CdcSchedules', { cdcFunctionArn });
    const machineFiles = readMachineFiles();
    const machineArns = Object.fromEntries(
      Object.entries(STATE_MACHINE_ARN_ENV).map(([operation, name]) => [name, machineArnOf(this, operation)]),
    );
    const base = {
      logRetention,
      logLevel: config.logLevel,
      ...(network ? { network } : {}),
    };
    const allowedHostsEnv: Record<string, string> = {
      ...(config.allowedSourceHosts.length > 0
        ? { ALLOWED_SOURCE_HOSTS: config.allowedSourceHosts.join(',') }
        : {}),
      ...(config.allowedDestinationHosts.length > 0
        ? { ALLOWED_DESTINATION_HOSTS: config.allowedDestinationHosts.join(',') }
        : {}),
    };
    const runtimeEnv = {
      PIPE_STORE_TABLE: this.table.tableName,
      ...schedules.environment(cdcFunctionArn),
      ...allowedHostsEnv,
    };
    const defaultDestinationEnv: Record<string, string> = config.defaultDestination
      ? { DEFAULT_DESTINATION: config.defaultDestination }
      : {};

    for (const [task, entry] of taskFunctionsOf(machineFiles)) {
      const fn = new PipeFunction(this, `${task}Function`, {
        ...base,
        entry,
        description: `Step Functions task ${task}`,
        size: TASK_SIZES[task] ?? SMALL,
        environment: {
          ...runtimeEnv,
          ...(STARTS_RESYNC.has(task) ? machineArns : {}),
          ...(task === 'RegisterPipe' ? defaultDestinationEnv : {}),
        },
      });
      this.functions.set(task, fn);
      if (SCHEDULE_MANAGERS.has(task)) schedules.grantManage(fn);
      if (STARTS_RESYNC.has(task)) this.allowStartResync(fn);
      if (STARTS_CDC.has(task)) allowStartCdc(fn, cdcFunctionArn);
    }

    const cdc = new PipeFunction(this, 'CdcBatchFunction', {
      ...base,
      entry: 'functions/handlers/cdc-batch.ts',
      functionName: cdcFunctionName,
      description: 'Scheduled CDC batch of one pipe (EventBridge Scheduler)',
      size: { ...HEAVY, memoryMiB: config.cdcMemoryMiB },
      environment: { ...runtimeEnv, ...machineArns },
      // A run that ends on its budget with events left invokes the next one (docs/engines.md):
      // an intended recursion, bounded by the pipe's lease (one run per pipe at a time).
      recursiveLoop: RecursiveLoop.ALLOW,
    });
    this.functions.set('CdcBatch', cdc);
    schedules.grantManage(cdc);
    this.allowStartResync(cdc);
    allowStartCdc(cdc, cdcFunctionArn);

    const api = new PipeFunction(this, 'ApiFunction', {
      ...base,
      entry: 'functions/handlers/api.ts',
      description: 'HTTP API of the pipes (API Gateway proxy)',
      size: SMALL,
      environment: {
        PIPE_STORE_TABLE: this.table.tableName,
        ...machineArns,
        ...defaultDestinationEnv,
        ...allowedHostsEnv,
      },
    });
    this.functions.set('Api', api);

    for (const [name, fn] of this.functions) {
      this.allowPipeStore(fn, READS_STORE_ONLY.has(name) ? STORE_READS : [...STORE_READS, ...STORE_WRITES]);
      if (CONNECTING_TASKS.has(name) || fn === cdc)
        this.allowPipeSecrets(fn, config.secretPrefix, 'GetSecretValue');
      if (READS_SECRET_OWNERS.has(name)) this.allowPipeSecrets(fn, config.secretPrefix, 'DescribeSecret');
    }

    const machines = new LifecycleMachines(this, 'Machines', {
      machines: machineFiles,
      functions: this.functions as Map<string, IFunction>,
      logRetention,
    });
    for (const [name, machine] of machines.byName) {
      if (name in STATE_MACHINE_ARN_ENV) machine.grantStartExecution(api);
    }

    const pipesApi = new PipesApi(this, 'Http', {
      handler: api,
      logRetention,
      throttling: config.apiThrottling,
    });
    const markFailed = this.functions.get('MarkFailed');
    if (!markFailed) throw new Error('no MarkFailed task in statemachines/: every Catch should end there');
    const monitoring = new PipesMonitoring(this, 'Monitoring', {
      functions: this.functions,
      markFailed,
      lagAlarmMs: config.lagAlarmMs,
      ...(config.alarmEmail ? { alarmEmail: config.alarmEmail } : {}),
    });

    new CfnOutput(this, 'ApiUrl', { value: pipesApi.api.url, description: 'Base URL of the pipes API' });
    new CfnOutput(this, 'PipeStoreTable', { value: this.table.tableName });
    new CfnOutput(this, 'ScheduleGroup', { value: schedules.groupName });
    new CfnOutput(this, 'AlarmTopic', {
      value: monitoring.topic.topicArn,
      description: 'Alarm notifications',
    });
    new CfnOutput(this, 'SecretNamePrefix', { value: `${config.secretPrefix}/` });
    suppressReviewedFindings({
      stack: this,
      table: this.table,
      functions: this.functions.values(),
      secretPrefix: config.secretPrefix,
      scheduleGroup: schedules.groupName,
      snapshotMachineName: machineNameOf(this, SNAPSHOT_MACHINE),
    });
    for (const [name, machine] of machines.byName) {
      new CfnOutput(this, `${name}StateMachineArn`, { value: machine.stateMachineArn });
    }
  }

  private networkOf(config: PipesConfig): NetworkPlacement | undefined {
    if (!config.vpc) return undefined;
    const { vpcId, subnetIds, securityGroupIds, availabilityZones } = config.vpc;
    return {
      // The functions name their subnets, so the AZs are never read; the region's AZs stand in
      // when the context gives none (a token: no lookup at synth).
      vpc: Vpc.fromVpcAttributes(this, 'Vpc', {
        vpcId,
        availabilityZones:
          availabilityZones.length > 0
            ? availabilityZones
            : subnetIds.map((_, i) => Fn.select(i, Fn.getAzs())),
      }),
      subnets: subnetIds.map((subnetId, i) => Subnet.fromSubnetId(this, `Subnet${i}`, subnetId)),
      securityGroups: securityGroupIds.map((groupId, i) =>
        SecurityGroup.fromSecurityGroupId(this, `SecurityGroup${i}`, groupId),
      ),
    };
  }

  /** Auto-resync after a lost history starts the resync machine (only that one). */
  private allowStartResync(fn: PipeFunction): void {
    fn.addToRolePolicy(
      new PolicyStatement({ actions: ['states:StartExecution'], resources: [machineArnOf(this, 'resync')] }),
    );
  }

  /** The pipe store's table and its indexes, with only the calls the function makes. */
  private allowPipeStore(fn: PipeFunction, actions: string[]): void {
    fn.addToRolePolicy(
      new PolicyStatement({ actions, resources: [this.table.tableArn, `${this.table.tableArn}/index/*`] }),
    );
  }

  /** Secrets a pipe names must live under `<prefix>/`: the naming rule in docs/deploy.md. */
  private allowPipeSecrets(
    fn: PipeFunction,
    prefix: string,
    action: 'GetSecretValue' | 'DescribeSecret',
  ): void {
    fn.addToRolePolicy(
      new PolicyStatement({
        actions: [`secretsmanager:${action}`],
        resources: [
          this.formatArn({
            service: 'secretsmanager',
            resource: 'secret',
            resourceName: `${prefix}/*`,
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        ],
      }),
    );
  }
}

/** Invoking the CDC function (by its fixed name: it exists after the functions that name it). */
function allowStartCdc(fn: PipeFunction, cdcFunctionArn: string): void {
  fn.addToRolePolicy(
    new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [cdcFunctionArn] }),
  );
}

import { ArnFormat, type CfnElement, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import type { RestApi } from 'aws-cdk-lib/aws-apigateway';
import { AttributeType, Billing, TableEncryptionV2, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { type ISecurityGroup, SecurityGroup } from 'aws-cdk-lib/aws-ec2';
import { type IGrantable, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { type IFunction, RecursiveLoop } from 'aws-cdk-lib/aws-lambda';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Topic } from 'aws-cdk-lib/aws-sns';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct, type IConstruct } from 'constructs';
import {
  PIPE_STORE_KEYS,
  PIPES_BY_CREATION_INDEX,
  PIPES_BY_STATE_INDEX,
} from '../functions/adapters/dynamodb/table-definition.js';
import { STATE_MACHINE_ARN_ENV } from '../functions/adapters/stepfunctions/starter.js';
import { CdcSchedules } from './cdc-schedules.js';
import {
  CONNECTING_TASKS,
  type FunctionFamily,
  familyOfTask,
  READS_SECRET_OWNERS,
  READS_STORE_ONLY,
  SCHEDULE_MANAGERS,
  STARTS_CDC,
  STARTS_RESYNC,
} from './function-roles.js';
import { PipesMonitoring } from './monitoring.js';
import { suppressReviewedFindings } from './nag-suppressions.js';
import { type FunctionSize, type LogLevel, type NetworkPlacement, PipeFunction } from './pipe-function.js';
import { PipesApi } from './pipes-api.js';
import {
  allowedHostsEnv,
  checkedNamePrefix,
  checkedSecretPrefix,
  DEFAULT_SECRET_PREFIX,
  defaultDestinationEnv,
  type MongoClickHousePipesProps,
  type PipesVpcPlacement,
  sizesOf,
} from './pipes-props.js';
import { type MachineFile, PACKAGE_ROOT, readMachineFiles, taskFunctionsOf } from './placeholders.js';
import { LifecycleMachines, machineArnOf, machineNameOf, SNAPSHOT_MACHINE } from './state-machines.js';

/** What the store's adapter calls (functions/adapters/dynamodb): no scans, no streams, no transactions. */
const STORE_READS = ['dynamodb:GetItem', 'dynamodb:Query'];
const STORE_WRITES = [
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
];

/** The props with their defaults, checked. */
interface Settings {
  secretPrefix: string;
  namePrefix: string;
  logRetention: RetentionDays;
  logLevel: LogLevel;
  sizes: Record<FunctionFamily, FunctionSize>;
  network: NetworkPlacement | undefined;
}

/** What the functions are built from: the settings, the fixed names, the shared environments. */
interface Wiring {
  settings: Settings;
  cdcFunctionName: string;
  cdcFunctionArn: string;
  schedules: CdcSchedules;
  /** STATE_MACHINE_ARN_ENV's variables → the machines' ARNs (by their fixed names). */
  machineArns: Record<string, string>;
  allowedHosts: Record<string, string>;
  /** What every Task and the CDC function read: the store, the scheduler, the allowlists. */
  runtimeEnv: Record<string, string>;
  defaultDestination: Record<string, string>;
}

/**
 * Everything a deployment of the pipes needs, as one construct: the pipe store (DynamoDB), one
 * Lambda per handler, one Step Functions machine per file in statemachines/, the IAM-authorized
 * REST API, the EventBridge Scheduler group for CDC, alarms and a dashboard. Its reviewed cdk-nag
 * (AwsSolutions) findings are acknowledged on the construct itself, so they hold in any app.
 */
export class MongoClickHousePipes extends Construct {
  /** The pipe store. */
  readonly table: TableV2;
  /** Every function by name: each Task name of statemachines/, `CdcBatch` and `Api`. */
  readonly functions: ReadonlyMap<string, PipeFunction>;
  readonly apiFunction: PipeFunction;
  readonly cdcFunction: PipeFunction;
  /** The REST API (stage `v1`, IAM auth on every method); `api.url` is its base URL. */
  readonly api: RestApi;
  /** Every state machine by its file name in statemachines/ (`create`, `resync`, `snapshot`, …). */
  readonly stateMachines: ReadonlyMap<string, StateMachine>;
  readonly monitoring: PipesMonitoring;
  /** Every alarm notifies this topic (alarm and OK). */
  readonly alarmTopic: Topic;
  /** The EventBridge Scheduler group holding one schedule per pipe. */
  readonly scheduleGroupName: string;
  /** Secrets a pipe names must be called `<secretPrefix>/…`. */
  readonly secretPrefix: string;
  readonly namePrefix: string;
  /** The functions' security groups (empty outside a VPC). */
  readonly securityGroups: ISecurityGroup[];

  private readonly stack: Stack;
  private readonly functionsByName = new Map<string, PipeFunction>();

  constructor(scope: Construct, id: string, props: MongoClickHousePipesProps = {}) {
    super(scope, id);
    this.stack = Stack.of(this);
    const settings = this.settingsOf(props);
    this.secretPrefix = settings.secretPrefix;
    this.namePrefix = settings.namePrefix;
    this.securityGroups = settings.network?.securityGroups ?? [];
    this.functions = this.functionsByName;
    this.table = this.pipeStore(props.retainData ?? true);

    const wiring = this.wiringOf(props, settings);
    this.scheduleGroupName = wiring.schedules.groupName;
    const machineFiles = readMachineFiles(PACKAGE_ROOT);
    this.addTaskFunctions(machineFiles, wiring);
    this.cdcFunction = this.addCdcFunction(wiring);
    this.apiFunction = this.addApiFunction(wiring);
    this.grantStoreAndSecrets();
    this.stateMachines = this.addMachines(machineFiles, settings.logRetention);

    this.api = new PipesApi(this, 'Http', {
      handler: this.apiFunction,
      logRetention: settings.logRetention,
      throttling: props.apiThrottling ?? { rateLimit: 10, burstLimit: 20 },
    }).api;
    this.monitoring = this.addMonitoring(props);
    this.alarmTopic = this.monitoring.topic;
    suppressReviewedFindings({
      scope: this,
      table: this.table,
      functions: this.functionsByName.values(),
      secretPrefix: this.secretPrefix,
      scheduleGroup: this.scheduleGroupName,
      snapshotMachineName: machineNameOf(this.namePrefix, SNAPSHOT_MACHINE),
    });
  }

  /** Lets a role or user call every method of the API (execute-api:Invoke on its stage). */
  grantInvokeApi(grantee: IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['execute-api:Invoke'],
        resources: [this.api.arnForExecuteApi('*', '/*', this.api.deploymentStage.stageName)],
      }),
    );
  }

  /**
   * The cdk-nag finding a grantInvokeApi grant raises on the grantee's policy (AwsSolutions-IAM5:
   * every method of the stage is a wildcard): the grantee is yours, so is acknowledging it.
   */
  invokeApiFinding(): string {
    const logicalId = (element: IConstruct) =>
      this.stack.resolve(this.stack.getLogicalId(element.node.defaultChild as CfnElement)) as string;
    return (
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:' +
      `<${logicalId(this.api)}>/<${logicalId(this.api.deploymentStage)}>/*/*]`
    );
  }

  private settingsOf(props: MongoClickHousePipesProps): Settings {
    const namePrefix = props.namePrefix ?? this.stack.stackName;
    return {
      secretPrefix: checkedSecretPrefix(props.secretPrefix ?? DEFAULT_SECRET_PREFIX),
      namePrefix: checkedNamePrefix(namePrefix, Token.isUnresolved(namePrefix)),
      logRetention: props.logRetention ?? RetentionDays.ONE_MONTH,
      logLevel: props.logLevel ?? 'INFO',
      sizes: sizesOf(props.functionSizes ?? {}),
      network: props.vpc ? this.networkOf(props.vpc) : undefined,
    };
  }

  private networkOf(placement: PipesVpcPlacement): NetworkPlacement {
    const securityGroups = placement.securityGroups ?? [
      new SecurityGroup(this, 'FunctionsSecurityGroup', {
        vpc: placement.vpc,
        description: 'The pipes functions: outbound to MongoDB, ClickHouse and AWS APIs, no inbound',
        allowAllOutbound: true,
      }),
    ];
    return { vpc: placement.vpc, vpcSubnets: placement.subnets ?? {}, securityGroups };
  }

  /** The fixed names and ARNs, the schedule group and the environments the functions share. */
  private wiringOf(props: MongoClickHousePipesProps, settings: Settings): Wiring {
    // Names fixed in advance: the CDC function manages its own schedule, so needs its own ARN.
    const cdcFunctionName = `${this.namePrefix}-cdc-batch`;
    const cdcFunctionArn = this.stack.formatArn({
      service: 'lambda',
      resource: 'function',
      resourceName: cdcFunctionName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const schedules = new CdcSchedules(this, 'CdcSchedules', { cdcFunctionArn, namePrefix: this.namePrefix });
    const allowedHosts = allowedHostsEnv(props.allowedHosts);
    return {
      settings,
      cdcFunctionName,
      cdcFunctionArn,
      schedules,
      machineArns: Object.fromEntries(
        Object.entries(STATE_MACHINE_ARN_ENV).map(([operation, name]) => [
          name,
          machineArnOf(this.stack, this.namePrefix, operation),
        ]),
      ),
      allowedHosts,
      runtimeEnv: {
        PIPE_STORE_TABLE: this.table.tableName,
        ...schedules.environment(cdcFunctionArn),
        ...allowedHosts,
      },
      defaultDestination: defaultDestinationEnv(props.defaultDestination),
    };
  }

  /** The props every function shares, for one of them. */
  private functionProps(wiring: Wiring, id: string, entry: string, family: FunctionFamily) {
    const { settings } = wiring;
    return {
      id,
      entry,
      size: settings.sizes[family],
      logRetention: settings.logRetention,
      logLevel: settings.logLevel,
      ...(settings.network ? { network: settings.network } : {}),
    };
  }

  /** One function per Task the machines name, with the grants its role in function-roles.ts needs. */
  private addTaskFunctions(machineFiles: MachineFile[], wiring: Wiring): void {
    for (const [task, entry] of taskFunctionsOf(machineFiles, PACKAGE_ROOT)) {
      const fn = this.addFunction(task, {
        ...this.functionProps(wiring, `${task}Function`, entry, familyOfTask(task)),
        description: `Step Functions task ${task}`,
        environment: {
          ...wiring.runtimeEnv,
          ...(STARTS_RESYNC.has(task) ? wiring.machineArns : {}),
          ...(task === 'RegisterPipe' ? wiring.defaultDestination : {}),
        },
      });
      if (SCHEDULE_MANAGERS.has(task)) wiring.schedules.grantManage(fn);
      if (STARTS_RESYNC.has(task)) this.allowStartResync(fn);
      if (STARTS_CDC.has(task)) allowStartCdc(fn, wiring.cdcFunctionArn);
    }
  }

  private addCdcFunction(wiring: Wiring): PipeFunction {
    const cdc = this.addFunction('CdcBatch', {
      ...this.functionProps(wiring, 'CdcBatchFunction', 'functions/handlers/cdc-batch.ts', 'cdcBatch'),
      functionName: wiring.cdcFunctionName,
      description: 'Scheduled CDC batch of one pipe (EventBridge Scheduler)',
      environment: { ...wiring.runtimeEnv, ...wiring.machineArns },
      // A run that ends on its budget with events left invokes the next one (docs/engines.md):
      // an intended recursion, bounded by the pipe's lease (one run per pipe at a time).
      recursiveLoop: RecursiveLoop.ALLOW,
    });
    wiring.schedules.grantManage(cdc);
    this.allowStartResync(cdc);
    allowStartCdc(cdc, wiring.cdcFunctionArn);
    return cdc;
  }

  private addApiFunction(wiring: Wiring): PipeFunction {
    return this.addFunction('Api', {
      ...this.functionProps(wiring, 'ApiFunction', 'functions/handlers/api.ts', 'api'),
      description: 'HTTP API of the pipes (API Gateway proxy)',
      environment: {
        PIPE_STORE_TABLE: this.table.tableName,
        ...wiring.machineArns,
        ...wiring.defaultDestination,
        ...wiring.allowedHosts,
      },
    });
  }

  /** The machines of statemachines/; the API function starts every operation (not the snapshot child). */
  private addMachines(machineFiles: MachineFile[], logRetention: RetentionDays): Map<string, StateMachine> {
    const machines = new LifecycleMachines(this, 'Machines', {
      machines: machineFiles,
      functions: this.functionsByName as Map<string, IFunction>,
      logRetention,
      namePrefix: this.namePrefix,
    });
    for (const [name, machine] of machines.byName) {
      if (name in STATE_MACHINE_ARN_ENV) machine.grantStartExecution(this.apiFunction);
    }
    return machines.byName;
  }

  private addMonitoring(props: MongoClickHousePipesProps): PipesMonitoring {
    const markFailed = this.functionsByName.get('MarkFailed');
    if (!markFailed) throw new Error('no MarkFailed task in statemachines/: every Catch should end there');
    return new PipesMonitoring(this, 'Monitoring', {
      functions: this.functionsByName,
      markFailed,
      lagAlarmMs: props.lagAlarmMs ?? 10 * 60 * 1000,
      ...(props.alarmEmail ? { alarmEmail: props.alarmEmail } : {}),
    });
  }

  private pipeStore(retainData: boolean): TableV2 {
    return new TableV2(this, 'PipeStore', {
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
      deletionProtection: retainData,
      removalPolicy: retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
  }

  private addFunction(
    name: string,
    props: ConstructorParameters<typeof PipeFunction>[2] & { id: string },
  ): PipeFunction {
    const { id, ...rest } = props;
    const fn = new PipeFunction(this, id, rest);
    this.functionsByName.set(name, fn);
    return fn;
  }

  /** The store with only the calls each function makes; secrets under the prefix where needed. */
  private grantStoreAndSecrets(): void {
    for (const [name, fn] of this.functionsByName) {
      this.allowPipeStore(fn, READS_STORE_ONLY.has(name) ? STORE_READS : [...STORE_READS, ...STORE_WRITES]);
      // The API connects for POST /preflight and POST /sources/sample, after the owner-tag check.
      const connects = CONNECTING_TASKS.has(name) || fn === this.cdcFunction || fn === this.apiFunction;
      if (connects) this.allowPipeSecrets(fn, 'GetSecretValue');
      if (READS_SECRET_OWNERS.has(name)) this.allowPipeSecrets(fn, 'DescribeSecret');
    }
  }

  /** Auto-resync after a lost history starts the resync machine (only that one). */
  private allowStartResync(fn: PipeFunction): void {
    fn.addToRolePolicy(
      new PolicyStatement({
        actions: ['states:StartExecution'],
        resources: [machineArnOf(this.stack, this.namePrefix, 'resync')],
      }),
    );
  }

  /** The pipe store's table and its indexes, with only the calls the function makes. */
  private allowPipeStore(fn: PipeFunction, actions: string[]): void {
    fn.addToRolePolicy(
      new PolicyStatement({ actions, resources: [this.table.tableArn, `${this.table.tableArn}/index/*`] }),
    );
  }

  /** Secrets a pipe names must live under `<prefix>/`: the naming rule in docs/deploy.md. */
  private allowPipeSecrets(fn: PipeFunction, action: 'GetSecretValue' | 'DescribeSecret'): void {
    fn.addToRolePolicy(
      new PolicyStatement({
        actions: [`secretsmanager:${action}`],
        resources: [
          this.stack.formatArn({
            service: 'secretsmanager',
            resource: 'secret',
            resourceName: `${this.secretPrefix}/*`,
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

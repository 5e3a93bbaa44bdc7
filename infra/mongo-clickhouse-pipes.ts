import { ArnFormat, type CfnElement, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import type { RestApi } from 'aws-cdk-lib/aws-apigateway';
import { AttributeType, Billing, TableEncryptionV2, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { type ISecurityGroup, type IVpc, SecurityGroup, type SubnetSelection } from 'aws-cdk-lib/aws-ec2';
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
import {
  CONNECTING,
  type FunctionSize,
  HEAVY,
  type LogLevel,
  type NetworkPlacement,
  PipeFunction,
  SMALL,
} from './pipe-function.js';
import { PipesApi } from './pipes-api.js';
import { PACKAGE_ROOT, readMachineFiles, taskFunctionsOf } from './placeholders.js';
import { LifecycleMachines, machineArnOf, machineNameOf, SNAPSHOT_MACHINE } from './state-machines.js';

/** Where the functions run when they must reach private MongoDB or ClickHouse endpoints. */
export interface PipesVpcPlacement {
  /** An existing VPC (`Vpc.fromLookup`, `Vpc.fromVpcAttributes`, or one your app creates). */
  readonly vpc: IVpc;
  /** @default the VPC's private subnets (CDK's choice for Lambda) */
  readonly subnets?: SubnetSelection;
  /** @default one security group for all the functions, outbound traffic only, created here */
  readonly securityGroups?: ISecurityGroup[];
}

/** The ClickHouse a create request without a `destination` writes to; the secret holds url and credentials. */
export interface PipesDefaultDestination {
  readonly database: string;
  readonly secretArn: string;
}

/** Host names or `*.domain` patterns the pipes may reach (docs/security.md); empty or absent: any. */
export interface PipesAllowedHosts {
  readonly source?: string[];
  readonly destination?: string[];
}

/** Memory and timeout per family (infra/function-roles.ts); a family left out keeps its default. */
export type PipesFunctionSizes = Partial<Record<FunctionFamily, Partial<FunctionSize>>>;

export interface MongoClickHousePipesProps {
  /** @default none: the functions run outside any VPC (public endpoints only) */
  readonly vpc?: PipesVpcPlacement;
  /** @default none: every create request names its destination */
  readonly defaultDestination?: PipesDefaultDestination;
  /**
   * The functions may read secrets named `<secretPrefix>/…` only (IAM resource
   * `arn:…:secret:<secretPrefix>/*`); no wildcards.
   * @default 'mongo-clickhouse-pipes'
   */
  readonly secretPrefix?: string;
  /** @default any host */
  readonly allowedHosts?: PipesAllowedHosts;
  /** Subscribed (email) to the alarm topic. @default no subscription */
  readonly alarmEmail?: string;
  /**
   * @default api and shortTasks 512 MiB / 30 s, longTasks 1024 MiB / 2 min, snapshotChunk and
   * cdcBatch 2048 MiB / 15 min
   */
  readonly functionSizes?: PipesFunctionSizes;
  /** Of every log group (functions, machines, API access logs). @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /** Powertools' and Lambda's application log level alike. @default 'INFO' */
  readonly logLevel?: LogLevel;
  /** Keep the pipe store (RETAIN, deletion protection) when the construct is removed. @default true */
  readonly retainData?: boolean;
  /** CDC lag (milliseconds) above which the lag alarm fires. @default 600000 (10 minutes) */
  readonly lagAlarmMs?: number;
  /** API Gateway stage throttling. @default 10 requests per second, burst 20 */
  readonly apiThrottling?: { readonly rateLimit: number; readonly burstLimit: number };
  /**
   * Prefix of the fixed names (`<prefix>-cdc-batch`, `<prefix>-<operation>` machines,
   * `<prefix>-cdc` schedule group): unique per account and region.
   * @default the stack's name
   */
  readonly namePrefix?: string;
}

const DEFAULT_SECRET_PREFIX = 'mongo-clickhouse-pipes';
const SECRET_PREFIX = /^[A-Za-z0-9/_+=.@-]{1,200}$/;

const DEFAULT_SIZES: Record<FunctionFamily, FunctionSize> = {
  api: SMALL,
  shortTasks: SMALL,
  longTasks: CONNECTING,
  snapshotChunk: HEAVY,
  cdcBatch: HEAVY,
};

/** `<prefix>-cdc-batch` must fit Lambda's 64 characters. */
const MAX_NAME_PREFIX = 64 - '-cdc-batch'.length;

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

    // Names fixed in advance: the CDC function manages its own schedule, so needs its own ARN.
    const cdcFunctionName = `${this.namePrefix}-cdc-batch`;
    const cdcFunctionArn = this.stack.formatArn({
      service: 'lambda',
      resource: 'function',
      resourceName: cdcFunctionName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const schedules = new CdcSchedules(this, 'CdcSchedules', { cdcFunctionArn, namePrefix: this.namePrefix });
    this.scheduleGroupName = schedules.groupName;
    const machineFiles = readMachineFiles(PACKAGE_ROOT);
    const machineArns = Object.fromEntries(
      Object.entries(STATE_MACHINE_ARN_ENV).map(([operation, name]) => [
        name,
        machineArnOf(this.stack, this.namePrefix, operation),
      ]),
    );
    const env = this.environments(props, schedules.environment(cdcFunctionArn));
    const functionOf = (id: string, entry: string, family: FunctionFamily) => ({
      id,
      entry,
      size: settings.sizes[family],
      logRetention: settings.logRetention,
      logLevel: settings.logLevel,
      ...(settings.network ? { network: settings.network } : {}),
    });

    for (const [task, entry] of taskFunctionsOf(machineFiles, PACKAGE_ROOT)) {
      const fn = this.addFunction(task, {
        ...functionOf(`${task}Function`, entry, familyOfTask(task)),
        description: `Step Functions task ${task}`,
        environment: {
          ...env.runtime,
          ...(STARTS_RESYNC.has(task) ? machineArns : {}),
          ...(task === 'RegisterPipe' ? env.defaultDestination : {}),
        },
      });
      if (SCHEDULE_MANAGERS.has(task)) schedules.grantManage(fn);
      if (STARTS_RESYNC.has(task)) this.allowStartResync(fn);
      if (STARTS_CDC.has(task)) allowStartCdc(fn, cdcFunctionArn);
    }

    this.cdcFunction = this.addFunction('CdcBatch', {
      ...functionOf('CdcBatchFunction', 'functions/handlers/cdc-batch.ts', 'cdcBatch'),
      functionName: cdcFunctionName,
      description: 'Scheduled CDC batch of one pipe (EventBridge Scheduler)',
      environment: { ...env.runtime, ...machineArns },
      // A run that ends on its budget with events left invokes the next one (docs/engines.md):
      // an intended recursion, bounded by the pipe's lease (one run per pipe at a time).
      recursiveLoop: RecursiveLoop.ALLOW,
    });
    schedules.grantManage(this.cdcFunction);
    this.allowStartResync(this.cdcFunction);
    allowStartCdc(this.cdcFunction, cdcFunctionArn);

    this.apiFunction = this.addFunction('Api', {
      ...functionOf('ApiFunction', 'functions/handlers/api.ts', 'api'),
      description: 'HTTP API of the pipes (API Gateway proxy)',
      environment: {
        PIPE_STORE_TABLE: this.table.tableName,
        ...machineArns,
        ...env.defaultDestination,
        ...env.allowedHosts,
      },
    });
    this.grantStoreAndSecrets();

    const machines = new LifecycleMachines(this, 'Machines', {
      machines: machineFiles,
      functions: this.functionsByName as Map<string, IFunction>,
      logRetention: settings.logRetention,
      namePrefix: this.namePrefix,
    });
    this.stateMachines = machines.byName;
    for (const [name, machine] of machines.byName) {
      if (name in STATE_MACHINE_ARN_ENV) machine.grantStartExecution(this.apiFunction);
    }

    this.api = new PipesApi(this, 'Http', {
      handler: this.apiFunction,
      logRetention: settings.logRetention,
      throttling: props.apiThrottling ?? { rateLimit: 10, burstLimit: 20 },
    }).api;
    const markFailed = this.functionsByName.get('MarkFailed');
    if (!markFailed) throw new Error('no MarkFailed task in statemachines/: every Catch should end there');
    this.monitoring = new PipesMonitoring(this, 'Monitoring', {
      functions: this.functionsByName,
      markFailed,
      lagAlarmMs: props.lagAlarmMs ?? 10 * 60 * 1000,
      ...(props.alarmEmail ? { alarmEmail: props.alarmEmail } : {}),
    });
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
    const secretPrefix = (props.secretPrefix ?? DEFAULT_SECRET_PREFIX).replace(/\/+$/, '');
    if (!SECRET_PREFIX.test(secretPrefix) || secretPrefix.includes('*'))
      throw new Error(`secretPrefix must be a secret name prefix without wildcards, not ${secretPrefix}`);
    const namePrefix = props.namePrefix ?? this.stack.stackName;
    if (!Token.isUnresolved(namePrefix) && !/^[A-Za-z0-9-_]+$/.test(namePrefix))
      throw new Error(`namePrefix may hold letters, digits, - and _ only, not ${namePrefix}`);
    if (!Token.isUnresolved(namePrefix) && namePrefix.length > MAX_NAME_PREFIX)
      throw new Error(`namePrefix ${namePrefix} is longer than ${MAX_NAME_PREFIX} characters`);
    return {
      secretPrefix,
      namePrefix,
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

  private environments(props: MongoClickHousePipesProps, scheduler: Record<string, string>) {
    const source = props.allowedHosts?.source ?? [];
    const destination = props.allowedHosts?.destination ?? [];
    const allowedHosts: Record<string, string> = {
      ...(source.length > 0 ? { ALLOWED_SOURCE_HOSTS: source.join(',') } : {}),
      ...(destination.length > 0 ? { ALLOWED_DESTINATION_HOSTS: destination.join(',') } : {}),
    };
    return {
      allowedHosts,
      runtime: { PIPE_STORE_TABLE: this.table.tableName, ...scheduler, ...allowedHosts },
      defaultDestination: defaultDestinationEnv(props.defaultDestination),
    };
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
      if (CONNECTING_TASKS.has(name) || fn === this.cdcFunction) this.allowPipeSecrets(fn, 'GetSecretValue');
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

/** The defaults, with each family's memory or timeout replaced where given; Lambda's limits checked. */
function sizesOf(overrides: PipesFunctionSizes): Record<FunctionFamily, FunctionSize> {
  const sizes = { ...DEFAULT_SIZES };
  for (const family of Object.keys(DEFAULT_SIZES) as FunctionFamily[]) {
    const size = { ...DEFAULT_SIZES[family], ...overrides[family] };
    const { memoryMiB, timeout } = size;
    if (!Number.isInteger(memoryMiB) || memoryMiB < 128 || memoryMiB > 10_240)
      throw new Error(`functionSizes.${family}.memoryMiB must be a whole number from 128 to 10240`);
    if (timeout.toSeconds() < 1 || timeout.toSeconds() > 900)
      throw new Error(`functionSizes.${family}.timeout must be from 1 second to 15 minutes`);
    sizes[family] = size;
  }
  return sizes;
}

/** The api's DEFAULT_DESTINATION (functions/handlers/create-rules.ts): never a password. */
function defaultDestinationEnv(destination: PipesDefaultDestination | undefined): Record<string, string> {
  if (!destination) return {};
  if ('password' in destination)
    throw new Error('defaultDestination must not hold a password: name a secret (secretArn)');
  return { DEFAULT_DESTINATION: JSON.stringify(destination) };
}

/** Invoking the CDC function (by its fixed name: it exists after the functions that name it). */
function allowStartCdc(fn: PipeFunction, cdcFunctionArn: string): void {
  fn.addToRolePolicy(
    new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [cdcFunctionArn] }),
  );
}

import { App, type CfnElement, Duration, Stack, Validations } from 'aws-cdk-lib';
import { SecurityGroup, Subnet, Vpc } from 'aws-cdk-lib/aws-ec2';
import { AccountRootPrincipal, Role } from 'aws-cdk-lib/aws-iam';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Topic } from 'aws-cdk-lib/aws-sns';
import type { IConstruct } from 'constructs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MongoClickHousePipes, type MongoClickHousePipesProps } from '../../infra/index.js';
import {
  resourcesOf,
  type Synthesized,
  type SynthesizedConstruct,
  synthesizeApp,
  synthesizeConstruct,
  TEST_STACK_NAME,
} from './synth.js';

type Props = Record<string, unknown>;

const SUBNETS = ['subnet-0123456789abcdef0', 'subnet-0123456789abcdef1'];
const SECURITY_GROUP = 'sg-0123456789abcdef0';
const DESTINATION = {
  database: 'shop',
  secretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:team-a/pipes/clickhouse-AbCdEf',
};

/** Every prop away from its default (the VPC one imported by attributes: no lookup). */
const customised = (stack: Stack): MongoClickHousePipesProps => ({
  vpc: {
    vpc: Vpc.fromVpcAttributes(stack, 'Vpc', {
      vpcId: 'vpc-0123456789abcdef0',
      availabilityZones: ['eu-west-1a', 'eu-west-1b'],
    }),
    subnets: { subnets: SUBNETS.map((id, i) => Subnet.fromSubnetId(stack, `Subnet${i}`, id)) },
    securityGroups: [SecurityGroup.fromSecurityGroupId(stack, 'FunctionsGroup', SECURITY_GROUP)],
  },
  functionSizes: {
    api: { memoryMiB: 256, timeout: Duration.seconds(10) },
    longTasks: { timeout: Duration.minutes(5) },
    cdcBatch: { memoryMiB: 4096 },
  },
  logRetention: RetentionDays.ONE_WEEK,
  alarmEmail: 'oncall@example.com',
  secretPrefix: 'team-a/pipes',
  defaultDestination: DESTINATION,
  allowedHosts: { source: ['cluster0.abcde.mongodb.net'], destination: ['*.clickhouse.cloud'] },
  logLevel: 'DEBUG',
  namePrefix: 'team-a-pipes',
  retainData: false,
});

const logicalIdOf = (stack: Stack, construct: IConstruct) =>
  stack.resolve(stack.getLogicalId(construct.node.defaultChild as CfnElement)) as string;

let defaults: SynthesizedConstruct;
let custom: SynthesizedConstruct;
let invoker: Role;

beforeAll(() => {
  // Id `Default` in both: the logical IDs are the repository stack's, so the two compare by ID.
  defaults = synthesizeConstruct({}, { id: 'Default' });
  custom = synthesizeConstruct(customised, {
    id: 'Default',
    use: (pipes, stack) => {
      invoker = new Role(stack, 'Operator', { assumedBy: new AccountRootPrincipal() });
      pipes.grantInvokeApi(invoker);
      Validations.of(invoker).acknowledge({
        id: pipes.invokeApiFinding(),
        reason: 'test: every method of this one API stage',
      });
    },
  });
}, 240_000);
afterAll(() => {
  defaults?.cleanup();
  custom?.cleanup();
});

const props = (synth: Synthesized, type: string): Props[] =>
  resourcesOf(synth.template, type).map(([, resource]) => resource.Properties ?? {});

function functionByDescription(synth: Synthesized, description: string): Props {
  const found = props(synth, 'AWS::Lambda::Function').find((p) => p.Description === description);
  if (!found) throw new Error(`no function described as ${description}`);
  return found;
}

const envOf = (fn: Props) => (fn.Environment as { Variables: Record<string, unknown> }).Variables;
const API = 'HTTP API of the pipes (API Gateway proxy)';
const CDC = 'Scheduled CDC batch of one pipe (EventBridge Scheduler)';
const task = (name: string) => `Step Functions task ${name}`;

describe('MongoClickHousePipes with its defaults', () => {
  it('is what the repository’s own stack deploys: the same resources, logical IDs and properties', () => {
    const app = synthesizeApp({ stackName: TEST_STACK_NAME }, false);
    try {
      expect(Object.keys(app.template.Resources).length).toBeGreaterThan(100);
      expect(app.template.Resources).toEqual(defaults.template.Resources);
      // The outputs are the stack's own, read from the construct's members.
      expect(Object.keys(app.template.Outputs ?? {})).toEqual(
        expect.arrayContaining([
          'ApiUrl',
          'PipeStoreTable',
          'ScheduleGroup',
          'AlarmTopic',
          'SecretNamePrefix',
        ]),
      );
      // The construct itself adds none but the endpoint output RestApi always has.
      expect(Object.keys(defaults.template.Outputs ?? {})).toEqual([
        expect.stringMatching(/^HttpApiEndpoint/),
      ]);
    } finally {
      app.cleanup();
    }
  }, 120_000);

  it('keeps the logical IDs a stack deployed before the construct existed has (no replacement on update)', () => {
    // Recorded from the stack as it was before the construct: the stateful and named resources.
    for (const [id, type] of [
      ['PipeStoreE4748D05', 'AWS::DynamoDB::GlobalTable'],
      ['CdcSchedulesGroup7963D135', 'AWS::Scheduler::ScheduleGroup'],
      ['HttpApi4E1D4184', 'AWS::ApiGateway::RestApi'],
      ['MonitoringAlarmTopicAF62D4F1', 'AWS::SNS::Topic'],
    ])
      expect(defaults.template.Resources[id as string]?.Type, id).toBe(type);
  });

  it('exposes the API, the machines, the pipe store and the functions', () => {
    const { pipes, stack, template } = defaults;
    const typeOf = (construct: IConstruct) => template.Resources[logicalIdOf(stack, construct)]?.Type;
    expect(typeOf(pipes.api)).toBe('AWS::ApiGateway::RestApi');
    expect(typeOf(pipes.table)).toBe('AWS::DynamoDB::GlobalTable');
    expect(typeOf(pipes.alarmTopic)).toBe('AWS::SNS::Topic');
    expect([...pipes.stateMachines.keys()].sort()).toEqual(
      ['addTables', 'create', 'delete', 'pause', 'removeTables', 'resume', 'resync', 'snapshot'].sort(),
    );
    for (const machine of pipes.stateMachines.values())
      expect(typeOf(machine)).toBe('AWS::StepFunctions::StateMachine');
    expect(pipes.functions.get('Api')).toBe(pipes.apiFunction);
    expect(pipes.functions.get('CdcBatch')).toBe(pipes.cdcFunction);
    expect(pipes.secretPrefix).toBe('mongo-clickhouse-pipes');
    expect(pipes.namePrefix).toBe(TEST_STACK_NAME);
  });
});

describe('each prop changes the template', () => {
  it('vpc: every function runs in the given subnets with the given security groups', () => {
    const functions = props(custom, 'AWS::Lambda::Function');
    expect(functions.length).toBeGreaterThan(10);
    for (const fn of functions)
      expect(fn.VpcConfig, String(fn.Description)).toEqual({
        SubnetIds: SUBNETS,
        SecurityGroupIds: [SECURITY_GROUP],
      });
    for (const fn of props(defaults, 'AWS::Lambda::Function')) expect(fn.VpcConfig).toBeUndefined();
  });

  it('functionSizes: memory and timeout per family, the families left out unchanged', () => {
    const sizeOf = (synth: Synthesized, description: string) => {
      const fn = functionByDescription(synth, description);
      return [fn.MemorySize, fn.Timeout];
    };
    expect(sizeOf(defaults, API)).toEqual([512, 30]);
    expect(sizeOf(custom, API)).toEqual([256, 10]);
    expect(sizeOf(defaults, task('PlanTable'))).toEqual([1024, 120]);
    expect(sizeOf(custom, task('PlanTable'))).toEqual([1024, 300]);
    expect(sizeOf(defaults, CDC)).toEqual([2048, 900]);
    expect(sizeOf(custom, CDC)).toEqual([4096, 900]);
    for (const unchanged of [task('SnapshotChunk'), task('MarkFailed')])
      expect(sizeOf(custom, unchanged)).toEqual(sizeOf(defaults, unchanged));
  });

  it('logRetention: every log group (functions, machines, API access logs)', () => {
    const retentions = (synth: Synthesized) =>
      new Set(props(synth, 'AWS::Logs::LogGroup').map((group) => group.RetentionInDays));
    expect(retentions(defaults)).toEqual(new Set([30]));
    expect(retentions(custom)).toEqual(new Set([7]));
  });

  it('alarmEmail: an email subscription of the alarm topic', () => {
    expect(props(defaults, 'AWS::SNS::Subscription')).toEqual([]);
    const [subscription, ...others] = resourcesOf(custom.template, 'AWS::SNS::Subscription');
    expect(others).toEqual([]);
    const [topicId] = resourcesOf(custom.template, 'AWS::SNS::Topic').map(([id]) => id);
    expect(subscription?.[1].Properties).toEqual({
      Protocol: 'email',
      Endpoint: 'oncall@example.com',
      TopicArn: { Ref: topicId },
    });
  });

  it('secretPrefix: the functions read secrets under that prefix only (and cdk-nag agrees)', () => {
    const secretResources = (synth: Synthesized) =>
      props(synth, 'AWS::IAM::Policy').flatMap((policy) =>
        (
          policy.PolicyDocument as { Statement: Array<{ Action: unknown; Resource: unknown }> }
        ).Statement.filter((statement) => JSON.stringify(statement.Action).includes('secretsmanager:')).map(
          (statement) => JSON.stringify(statement.Resource),
        ),
      );
    const customReads = secretResources(custom);
    expect(customReads.length).toBeGreaterThan(5);
    for (const resource of customReads) expect(resource).toMatch(/:secret:team-a\/pipes\/\*"\]\]\}$/);
    for (const resource of secretResources(defaults))
      expect(resource).toMatch(/:secret:mongo-clickhouse-pipes\/\*"\]\]\}$/);
  });

  it('defaultDestination and allowedHosts: the environment the create rules read', () => {
    const api = envOf(functionByDescription(custom, API));
    expect(api.DEFAULT_DESTINATION).toBe(JSON.stringify(DESTINATION));
    expect(envOf(functionByDescription(custom, task('RegisterPipe'))).DEFAULT_DESTINATION).toBe(
      JSON.stringify(DESTINATION),
    );
    expect(api.ALLOWED_SOURCE_HOSTS).toBe('cluster0.abcde.mongodb.net');
    expect(api.ALLOWED_DESTINATION_HOSTS).toBe('*.clickhouse.cloud');
    expect(envOf(functionByDescription(custom, CDC)).ALLOWED_DESTINATION_HOSTS).toBe('*.clickhouse.cloud');
    const defaultApi = envOf(functionByDescription(defaults, API));
    for (const variable of ['DEFAULT_DESTINATION', 'ALLOWED_SOURCE_HOSTS', 'ALLOWED_DESTINATION_HOSTS'])
      expect(defaultApi[variable], variable).toBeUndefined();
  });

  it('logLevel: Powertools and Lambda log at the level given', () => {
    for (const fn of props(custom, 'AWS::Lambda::Function')) {
      expect(envOf(fn).POWERTOOLS_LOG_LEVEL).toBe('DEBUG');
      expect(fn.LoggingConfig).toMatchObject({ ApplicationLogLevel: 'DEBUG' });
    }
  });

  it('namePrefix: the fixed names of the CDC function, the machines and the schedule group', () => {
    expect(functionByDescription(custom, CDC).FunctionName).toBe('team-a-pipes-cdc-batch');
    expect(functionByDescription(defaults, CDC).FunctionName).toBe(`${TEST_STACK_NAME}-cdc-batch`);
    const machineNames = props(custom, 'AWS::StepFunctions::StateMachine').map((p) => p.StateMachineName);
    expect(machineNames).toContain('team-a-pipes-resync');
    for (const name of machineNames) expect(name).toMatch(/^team-a-pipes-/);
    expect(props(custom, 'AWS::Scheduler::ScheduleGroup')).toEqual([{ Name: 'team-a-pipes-cdc' }]);
  });

  it('retainData false: the pipe store goes with the stack', () => {
    const store = (synth: Synthesized) => resourcesOf(synth.template, 'AWS::DynamoDB::GlobalTable')[0]?.[1];
    expect(store(defaults)?.DeletionPolicy).toBe('Retain');
    expect(store(custom)?.DeletionPolicy).toBe('Delete');
  });

  it('grantInvokeApi: a role of the app may call every method of the API stage', () => {
    const policy = resourcesOf(custom.template, 'AWS::IAM::Policy').find(([id]) =>
      id.startsWith('OperatorDefaultPolicy'),
    );
    const statements = (policy?.[1].Properties?.PolicyDocument as { Statement: Props[] } | undefined)
      ?.Statement;
    expect(statements).toHaveLength(1);
    expect(statements?.[0]?.Action).toBe('execute-api:Invoke');
    const stageId = logicalIdOf(custom.stack, custom.pipes.api.deploymentStage);
    expect(JSON.stringify(statements?.[0]?.Resource)).toContain(`{"Ref":"${stageId}"},"/*/*"`);
    expect(invoker).toBeDefined();
  });
});

describe('VPC placement without security groups or subnets', () => {
  it('creates one outbound-only security group for all the functions, in the VPC’s private subnets', () => {
    const synth = synthesizeConstruct((stack) => ({
      vpc: {
        vpc: Vpc.fromVpcAttributes(stack, 'Vpc', {
          vpcId: 'vpc-0123456789abcdef0',
          availabilityZones: ['eu-west-1a', 'eu-west-1b'],
          privateSubnetIds: SUBNETS,
        }),
      },
    }));
    try {
      const groups = resourcesOf(synth.template, 'AWS::EC2::SecurityGroup');
      expect(groups).toHaveLength(1);
      const [groupId, group] = groups[0]!;
      expect(group.Properties?.SecurityGroupIngress).toBeUndefined();
      expect(group.Properties?.VpcId).toBe('vpc-0123456789abcdef0');
      for (const fn of props(synth, 'AWS::Lambda::Function'))
        expect(fn.VpcConfig).toEqual({
          SubnetIds: SUBNETS,
          SecurityGroupIds: [{ 'Fn::GetAtt': [groupId, 'GroupId'] }],
        });
      expect(synth.pipes.securityGroups).toHaveLength(1);
    } finally {
      synth.cleanup();
    }
  }, 120_000);
});

describe('cdk-nag acknowledgments belong to the construct', () => {
  it('hold for the construct under any id, and for nothing beside it in the same stack', () => {
    let thrown: unknown;
    try {
      synthesizeConstruct({}, { setUp: (stack) => new Topic(stack, 'Beside') }).cleanup();
    } catch (error) {
      thrown = error;
    }
    const message = String(thrown);
    // The topic beside the construct is reported (SNS3: no SSL policy; SNS2: no KMS key)…
    expect(message).toMatch(/AwsSolutions-SNS3/);
    expect(message).toContain(`${TEST_STACK_NAME}/Beside`);
    // …and nothing inside the construct, whose alarm topic has the same SNS2 finding acknowledged.
    expect(message).not.toContain(`${TEST_STACK_NAME}/Pipes/`);
  }, 120_000);
});

describe('props are checked before anything is built', () => {
  const build = (props: MongoClickHousePipesProps) => () =>
    new MongoClickHousePipes(new Stack(new App(), 'Check'), 'Pipes', props);

  it('refuses a secret prefix with a wildcard, a size Lambda refuses, a destination with a password', () => {
    expect(build({ secretPrefix: 'pipes/*' })).toThrow(/secretPrefix/);
    expect(build({ functionSizes: { cdcBatch: { memoryMiB: 64 } } })).toThrow(/cdcBatch\.memoryMiB/);
    expect(build({ functionSizes: { api: { timeout: Duration.minutes(16) } } })).toThrow(/api\.timeout/);
    expect(build({ namePrefix: 'x'.repeat(60) })).toThrow(/namePrefix/);
    const withPassword = { ...DESTINATION, password: 'p' } as MongoClickHousePipesProps['defaultDestination'];
    expect(build({ defaultDestination: withPassword })).toThrow(/password/);
  });
});

import { App, CfnOutput, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import { Vpc } from 'aws-cdk-lib/aws-ec2';
import { AccountRootPrincipal, Role } from 'aws-cdk-lib/aws-iam';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { Construct } from 'constructs';
import { MongoClickHousePipes } from '../index.js';

/** A data platform stack of your own, with the pipes as one of its parts. */
class DataPlatformStack extends Stack {
  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);

    // The VPC whose private subnets reach MongoDB and ClickHouse (and AWS APIs, through a NAT
    // gateway or endpoints). Vpc.fromLookup works too, with credentials at synth.
    const vpc = Vpc.fromVpcAttributes(this, 'Vpc', {
      vpcId: 'vpc-0123456789abcdef0',
      availabilityZones: ['eu-west-1a', 'eu-west-1b'],
      privateSubnetIds: ['subnet-0123456789abcdef0', 'subnet-0123456789abcdef1'],
    });

    const pipes = new MongoClickHousePipes(this, 'Pipes', {
      vpc: { vpc },
      secretPrefix: 'data-platform/pipes',
      defaultDestination: {
        database: 'analytics',
        secretArn:
          'arn:aws:secretsmanager:eu-west-1:123456789012:secret:data-platform/pipes/clickhouse-AbCdEf',
      },
      allowedHosts: { source: ['*.mongodb.net'], destination: ['*.clickhouse.cloud'] },
      alarmEmail: 'data-oncall@example.com',
      functionSizes: { cdcBatch: { memoryMiB: 1024 }, snapshotChunk: { memoryMiB: 4096 } },
      logRetention: RetentionDays.THREE_MONTHS,
      namePrefix: 'data-platform-pipes',
    });

    // Who may call the API: a role of yours. Its grant is your resource, so its cdk-nag finding
    // (every method of the one stage) is yours to acknowledge.
    const operators = new Role(this, 'PipeOperators', { assumedBy: new AccountRootPrincipal() });
    pipes.grantInvokeApi(operators);
    Validations.of(operators).acknowledge({
      id: pipes.invokeApiFinding(),
      reason: 'Operators call every method of the pipes API stage',
    });

    // `ApiUrl`: the output `npx pipes --stack DataPlatform …` reads (docs/cli.md).
    new CfnOutput(this, 'ApiUrl', { value: pipes.api.url });
    new CfnOutput(this, 'PipesAlarmTopic', { value: pipes.alarmTopic.topicArn });
    new CfnOutput(this, 'PipesCreateMachine', {
      value: pipes.stateMachines.get('create')?.stateMachineArn ?? '',
    });
  }
}

const app = new App();
new DataPlatformStack(app, 'DataPlatform', {
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
// The construct acknowledges its own reviewed findings; anything else fails the synth.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();

import { CfnOutput, Fn, Stack, type StackProps } from 'aws-cdk-lib';
import { SecurityGroup, Subnet, Vpc } from 'aws-cdk-lib/aws-ec2';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { PipesConfig } from './config.js';
import { MongoClickHousePipes } from './mongo-clickhouse-pipes.js';
import type { MongoClickHousePipesProps, PipesDefaultDestination, PipesVpcPlacement } from './pipes-props.js';

export interface PipesStackProps extends StackProps {
  config: PipesConfig;
}

/**
 * This repository's own deployment: the MongoClickHousePipes construct configured from CDK
 * context (infra/config.ts), and the stack outputs docs/deploy.md lists.
 */
export class PipesStack extends Stack {
  readonly pipes: MongoClickHousePipes;

  constructor(scope: Construct, id: string, props: PipesStackProps) {
    super(scope, id, props);
    const { config } = props;
    // Id 'Default' leaves no trace in logical IDs: the resources keep the IDs they had when this
    // stack built them itself, so an update of a deployed stack replaces nothing but the API's
    // deployment (its ID hashes the API's construct path; a new deployment of the same stage).
    this.pipes = new MongoClickHousePipes(this, 'Default', this.constructPropsOf(config));

    new CfnOutput(this, 'ApiUrl', { value: this.pipes.api.url, description: 'Base URL of the pipes API' });
    new CfnOutput(this, 'PipeStoreTable', { value: this.pipes.table.tableName });
    new CfnOutput(this, 'ScheduleGroup', { value: this.pipes.scheduleGroupName });
    new CfnOutput(this, 'AlarmTopic', {
      value: this.pipes.alarmTopic.topicArn,
      description: 'Alarm notifications',
    });
    new CfnOutput(this, 'SecretNamePrefix', { value: `${this.pipes.secretPrefix}/` });
    for (const [name, machine] of this.pipes.stateMachines) {
      new CfnOutput(this, `${name}StateMachineArn`, { value: machine.stateMachineArn });
    }
  }

  private constructPropsOf(config: PipesConfig): MongoClickHousePipesProps {
    return {
      secretPrefix: config.secretPrefix,
      retainData: config.retainData,
      logRetention: config.logRetentionDays as RetentionDays,
      logLevel: config.logLevel,
      lagAlarmMs: config.lagAlarmMs,
      apiThrottling: config.apiThrottling,
      functionSizes: { cdcBatch: { memoryMiB: config.cdcMemoryMiB } },
      allowedHosts: { source: config.allowedSourceHosts, destination: config.allowedDestinationHosts },
      ...(config.alarmEmail ? { alarmEmail: config.alarmEmail } : {}),
      ...(config.defaultDestination
        ? { defaultDestination: JSON.parse(config.defaultDestination) as PipesDefaultDestination }
        : {}),
      ...(config.vpc ? { vpc: this.vpcPlacementOf(config.vpc) } : {}),
    };
  }

  private vpcPlacementOf(vpc: NonNullable<PipesConfig['vpc']>): PipesVpcPlacement {
    const { vpcId, subnetIds, securityGroupIds, availabilityZones } = vpc;
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
      subnets: { subnets: subnetIds.map((subnetId, i) => Subnet.fromSubnetId(this, `Subnet${i}`, subnetId)) },
      securityGroups: securityGroupIds.map((groupId, i) =>
        SecurityGroup.fromSecurityGroupId(this, `SecurityGroup${i}`, groupId),
      ),
    };
  }
}

import { ArnFormat, Stack } from 'aws-cdk-lib';
import { type IGrantable, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { CfnScheduleGroup } from 'aws-cdk-lib/aws-scheduler';
import { Construct } from 'constructs';

export interface CdcSchedulesProps {
  /** The ARN of the CDC batch function (by name: that function itself manages schedules). */
  cdcFunctionArn: string;
  /** The group is named `<namePrefix>-cdc`. */
  namePrefix: string;
}

/**
 * EventBridge Scheduler: one group holds every pipe's schedule, and one role is what the scheduler
 * assumes to invoke the CDC function. The control plane creates and edits schedules at run time.
 */
export class CdcSchedules extends Construct {
  readonly group: CfnScheduleGroup;
  readonly invokeRole: Role;
  readonly groupName: string;

  constructor(scope: Construct, id: string, props: CdcSchedulesProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.groupName = `${props.namePrefix}-cdc`;
    this.group = new CfnScheduleGroup(this, 'Group', { name: this.groupName });
    this.invokeRole = new Role(this, 'InvokeRole', {
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
      description: 'Assumed by EventBridge Scheduler to run the CDC batch function for a pipe',
    });
    this.invokeRole.addToPolicy(
      new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [props.cdcFunctionArn] }),
    );
  }

  /** The environment the scheduler adapter reads (SCHEDULER_ENV in functions/adapters/scheduler). */
  environment(cdcFunctionArn: string): Record<string, string> {
    return {
      CDC_SCHEDULE_GROUP: this.groupName,
      CDC_FUNCTION_ARN: cdcFunctionArn,
      CDC_SCHEDULER_ROLE_ARN: this.invokeRole.roleArn,
    };
  }

  /** Create, read, update and delete schedules in this group only, passing only the invoke role. */
  grantManage(grantee: IGrantable): void {
    const stack = Stack.of(this);
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: [
          'scheduler:CreateSchedule',
          'scheduler:UpdateSchedule',
          'scheduler:DeleteSchedule',
          'scheduler:GetSchedule',
        ],
        resources: [
          stack.formatArn({
            service: 'scheduler',
            resource: 'schedule',
            resourceName: `${this.groupName}/*`,
            arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
          }),
        ],
      }),
    );
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['iam:PassRole'],
        resources: [this.invokeRole.roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
      }),
    );
  }
}

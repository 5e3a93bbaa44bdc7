import { type CfnElement, Stack, Validations } from 'aws-cdk-lib';
import type { TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';

export interface ReviewedScope {
  /** The MongoClickHousePipes construct: acknowledgments hold for it and what it contains, nothing else. */
  scope: Construct;
  table: TableV2;
  functions: Iterable<IFunction>;
  secretPrefix: string;
  scheduleGroup: string;
  snapshotMachineName: string;
}

/**
 * cdk-nag findings reviewed and accepted, each with why. Every acknowledgment names one finding
 * (a rule, or a rule and the exact resource pattern); anything new fails the synth.
 */
export function suppressReviewedFindings(scope: ReviewedScope): void {
  const stack = Stack.of(scope.scope);
  const ack = (id: string, reason: string) => Validations.of(scope.scope).acknowledge({ id, reason });
  const logicalId = (element: unknown) => stack.resolve(stack.getLogicalId(element as CfnElement)) as string;

  ack(
    'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    'AWS-maintained minimum for a Lambda function to write its own log group',
  );
  ack(
    'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]',
    'AWS-maintained minimum for a Lambda function placed in a VPC to manage its network interfaces',
  );
  ack(
    'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
    'The account-level role API Gateway needs to write execution logs; AWS maintains its minimal policy',
  );
  ack(
    'AwsSolutions-IAM5[Resource::*]',
    'Only X-Ray (PutTraceSegments/PutTelemetryRecords) and Step Functions log delivery (logs:*LogDelivery, ' +
      'DescribeLogGroups, Put/DescribeResourcePolicy) use *: these actions support no resource-level permissions',
  );
  ack(
    `AwsSolutions-IAM5[Resource::<${logicalId(scope.table.node.defaultChild)}.Arn>/index/*]`,
    'Queries on the pipe store GSIs (PipesByCreation, PipesByState) of this one table',
  );
  ack(
    `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:${scope.secretPrefix}/*]`,
    `A pipe names its MongoDB and ClickHouse secrets at run time; read access is limited to the ${scope.secretPrefix}/ name prefix (docs/deploy.md)`,
  );
  ack(
    `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule/${scope.scheduleGroup}/*]`,
    'One schedule per pipe, created at run time: access is limited to the CDC schedule group of this deployment',
  );
  ack(
    `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:${scope.snapshotMachineName}:*]`,
    'A .sync child start describes and stops the executions of the snapshot machine only',
  );
  for (const fn of scope.functions) {
    ack(
      `AwsSolutions-IAM5[Resource::<${logicalId(fn.node.defaultChild)}.Arn>:*]`,
      'grantInvoke covers the versions and aliases of this one function',
    );
  }
  ack(
    'AwsSolutions-L1',
    'Node.js 22 is the runtime the handlers are built and tested for (esbuild target node22); move with the test matrix',
  );
  ack(
    'AwsSolutions-SNS2',
    'The alarm topic carries alarm names and states only; CloudWatch cannot publish to a topic under the ' +
      'AWS-managed SNS key, and a customer key would be the only fixed cost of an idle deployment',
  );
  ack('AwsSolutions-COG4', 'The API uses IAM (SigV4) authorization on every method, not Cognito user pools');
  ack(
    'AwsSolutions-APIG2',
    'The api function validates every request body with zod and answers 400 with field-level errors',
  );
  ack(
    'AwsSolutions-APIG3',
    'IAM-authorized control-plane API with no anonymous access; add a WAF web ACL in front if required by policy',
  );
}

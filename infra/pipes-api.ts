import { RemovalPolicy } from 'aws-cdk-lib';
import {
  AccessLogFormat,
  AuthorizationType,
  LambdaIntegration,
  LogGroupLogDestination,
  MethodLoggingLevel,
  RestApi,
} from 'aws-cdk-lib/aws-apigateway';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

export interface PipesApiProps {
  handler: IFunction;
  logRetention: RetentionDays;
  /** Stage throttling: steady requests per second and burst, for every method together. */
  throttling: { rateLimit: number; burstLimit: number };
}

/** The routes of the HTTP API (docs/api); every method requires SigV4-signed IAM callers. */
export const API_ROUTES: ReadonlyArray<{ path: string; methods: string[] }> = [
  { path: '/pipes', methods: ['GET', 'POST'] },
  { path: '/pipes/{id}', methods: ['GET', 'PATCH', 'DELETE'] },
  { path: '/pipes/{id}/state', methods: ['PATCH'] },
  { path: '/pipes/{id}/history', methods: ['GET'] },
];

/** REST API in front of the api function (Lambda proxy), IAM auth, access logs, X-Ray. */
export class PipesApi extends Construct {
  readonly api: RestApi;

  constructor(scope: Construct, id: string, props: PipesApiProps) {
    super(scope, id);
    const accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.api = new RestApi(this, 'Api', {
      description: 'MongoDB to ClickHouse pipes: create, inspect, pause, resume, resync, delete',
      cloudWatchRole: true,
      cloudWatchRoleRemovalPolicy: RemovalPolicy.DESTROY,
      defaultMethodOptions: { authorizationType: AuthorizationType.IAM },
      deployOptions: {
        stageName: 'v1',
        accessLogDestination: new LogGroupLogDestination(accessLogs),
        accessLogFormat: AccessLogFormat.jsonWithStandardFields(),
        loggingLevel: MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        tracingEnabled: true,
        // A runaway client cannot start executions (or read the store) without bound.
        throttlingRateLimit: props.throttling.rateLimit,
        throttlingBurstLimit: props.throttling.burstLimit,
      },
    });
    const integration = new LambdaIntegration(props.handler, { proxy: true });
    for (const route of API_ROUTES) {
      const resource = this.api.root.resourceForPath(route.path);
      for (const method of route.methods) {
        resource.addMethod(method, integration, { authorizationType: AuthorizationType.IAM });
      }
    }
  }
}

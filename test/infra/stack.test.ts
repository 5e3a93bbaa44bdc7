import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PowertoolsCdcMetrics } from '../../functions/adapters/cloudwatch/cdc-metrics.js';
import { STATE_MACHINE_ARN_ENV } from '../../functions/adapters/stepfunctions/starter.js';
import { metrics as productMetrics } from '../../functions/handlers/observability.js';
import { readMachineFiles, taskFunctionsOf } from '../../infra/placeholders.js';
import { emfLinesOf } from '../support/output.js';
import { inConstruct, resourcesOf, type Synthesized, synthesizeConstruct } from './synth.js';

let synth: Synthesized;
const tasks = [...taskFunctionsOf(readMachineFiles()).keys()];

// The construct with its defaults, in a bare stack, bundled for real (construct.test.ts checks the
// repository's own stack synthesizes the same resources).
beforeAll(() => {
  synth = synthesizeConstruct({}, { bundle: true });
}, 240_000);
afterAll(() => synth?.cleanup());

type Props = Record<string, unknown>;
const props = (type: string): Props[] =>
  resourcesOf(synth.template, type).map(([, resource]) => resource.Properties ?? {});

function functionByDescription(description: string): Props {
  const found = props('AWS::Lambda::Function').find((p) => p.Description === description);
  if (!found) throw new Error(`no function described as ${description}`);
  return found;
}

const envOf = (fn: Props) => (fn.Environment as { Variables: Record<string, unknown> }).Variables;

describe('pipe store', () => {
  it('is a TableV2 with the keys and indexes of the store, PITR, encryption and RETAIN', () => {
    const [entry] = resourcesOf(synth.template, 'AWS::DynamoDB::GlobalTable');
    expect(entry).toBeDefined();
    const [, table] = entry!;
    const p = table.Properties as Props;
    expect(p.KeySchema).toEqual([
      { AttributeName: 'PK', KeyType: 'HASH' },
      { AttributeName: 'SK', KeyType: 'RANGE' },
    ]);
    const indexes = (p.GlobalSecondaryIndexes as Array<{ IndexName: string; KeySchema: unknown }>).map(
      (index) => [index.IndexName, index.KeySchema],
    );
    expect(indexes).toEqual([
      [
        'PipesByCreation',
        [
          { AttributeName: 'GSI1PK', KeyType: 'HASH' },
          { AttributeName: 'GSI1SK', KeyType: 'RANGE' },
        ],
      ],
      [
        'PipesByState',
        [
          { AttributeName: 'GSI2PK', KeyType: 'HASH' },
          { AttributeName: 'GSI2SK', KeyType: 'RANGE' },
        ],
      ],
    ]);
    const replica = (p.Replicas as Props[])[0] as Props;
    expect(replica.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    expect(p.SSESpecification).toBeDefined();
    expect((table as unknown as { DeletionPolicy: string }).DeletionPolicy).toBe('Retain');
  });
});

describe('functions', () => {
  it('one Node 22 ARM64 function per task, plus CDC batch and API, JSON logs, X-Ray', () => {
    const functions = props('AWS::Lambda::Function');
    expect(functions).toHaveLength(tasks.length + 2);
    for (const fn of functions) {
      expect(fn.Runtime).toBe('nodejs22.x');
      expect(fn.Architectures).toEqual(['arm64']);
      expect(fn.LoggingConfig).toMatchObject({ LogFormat: 'JSON' });
      expect(fn.TracingConfig).toEqual({ Mode: 'Active' });
      expect(fn.Handler).toBe('index.handler');
    }
    for (const task of tasks) functionByDescription(`Step Functions task ${task}`);
  });

  it('sizes chunks and batches in minutes and the API in seconds', () => {
    const chunk = functionByDescription('Step Functions task SnapshotChunk');
    const cdc = functionByDescription('Scheduled CDC batch of one pipe (EventBridge Scheduler)');
    const api = functionByDescription('HTTP API of the pipes (API Gateway proxy)');
    for (const heavy of [chunk, cdc]) {
      expect(heavy.Timeout as number).toBeGreaterThanOrEqual(300);
      expect(heavy.MemorySize as number).toBeGreaterThanOrEqual(1024);
    }
    expect(api.Timeout as number).toBeLessThanOrEqual(30);
  });

  it('every log group has a retention', () => {
    const groups = props('AWS::Logs::LogGroup');
    expect(groups.length).toBeGreaterThanOrEqual(tasks.length + 2);
    for (const group of groups) expect(group.RetentionInDays).toBeGreaterThan(0);
  });

  it('sets exactly the environment the handlers read', () => {
    const scheduler = ['CDC_SCHEDULE_GROUP', 'CDC_FUNCTION_ARN', 'CDC_SCHEDULER_ROLE_ARN'];
    const powertools = ['POWERTOOLS_SERVICE_NAME', 'POWERTOOLS_METRICS_NAMESPACE', 'POWERTOOLS_LOG_LEVEL'];
    const machines = Object.values(STATE_MACHINE_ARN_ENV);
    for (const task of tasks) {
      const env = envOf(functionByDescription(`Step Functions task ${task}`));
      const expected = [
        'NODE_OPTIONS',
        ...powertools,
        'PIPE_STORE_TABLE',
        ...scheduler,
        ...(task === 'MarkFailed' ? machines : []),
      ];
      expect(Object.keys(env).sort(), task).toEqual(expected.sort());
    }
    const api = envOf(functionByDescription('HTTP API of the pipes (API Gateway proxy)'));
    expect(Object.keys(api).sort()).toEqual(
      ['NODE_OPTIONS', ...powertools, 'PIPE_STORE_TABLE', ...machines].sort(),
    );
    const names = new Set(props('AWS::StepFunctions::StateMachine').map((p) => p.StateMachineName));
    for (const variable of machines) {
      const arn = JSON.stringify(api[variable]);
      const name = /stateMachine:([A-Za-z0-9-]+)/.exec(arn)?.[1];
      expect(names.has(name), `${variable} → ${arn}`).toBe(true);
    }
  });

  it('names the service and the metrics namespace, and logs at one level for Powertools and Lambda', () => {
    for (const fn of props('AWS::Lambda::Function')) {
      expect(envOf(fn), String(fn.Description)).toMatchObject({
        POWERTOOLS_SERVICE_NAME: 'mongo-clickhouse-pipes',
        POWERTOOLS_METRICS_NAMESPACE: 'MongoClickHousePipes',
        POWERTOOLS_LOG_LEVEL: 'INFO',
      });
      expect(fn.LoggingConfig).toMatchObject({ LogFormat: 'JSON', ApplicationLogLevel: 'INFO' });
    }
  });

  it('the CDC function knows its own ARN by its fixed name', () => {
    const cdc = functionByDescription('Scheduled CDC batch of one pipe (EventBridge Scheduler)');
    expect(JSON.stringify(envOf(cdc).CDC_FUNCTION_ARN)).toContain(`function:${String(cdc.FunctionName)}`);
  });

  it('the CDC function runs up to 15 minutes and may invoke itself (the hand-over), nothing else may loop', () => {
    const cdc = functionByDescription('Scheduled CDC batch of one pipe (EventBridge Scheduler)');
    expect(cdc.Timeout).toBe(900);
    expect(cdc.RecursiveLoop).toBe('Allow');
    const others = props('AWS::Lambda::Function').filter((fn) => fn !== cdc);
    for (const fn of others) expect(fn.RecursiveLoop, String(fn.Description)).toBeUndefined();
  });

  it('bundles ESM that loads, without chdb', async () => {
    const assets = props('AWS::Lambda::Function').map((fn) => {
      const key = (fn.Code as { S3Key: string }).S3Key;
      return join(synth.assembly.directory, `asset.${key.replace(/\.zip$/, '')}`, 'index.mjs');
    });
    for (const file of assets) {
      expect(existsSync(file), file).toBe(true);
      expect(readFileSync(file, 'utf8'), file).not.toContain('chdb');
    }
    // Plain Node loads them (as Lambda would), not vitest's transform.
    const script =
      'const files = JSON.parse(process.argv[1]);' +
      'const kinds = await Promise.all(files.map(async (f) => typeof (await import(f)).handler));' +
      'console.log(JSON.stringify(kinds));';
    const output = execFileSync(
      process.execPath,
      ['--input-type=module', '-e', script, JSON.stringify(assets)],
      {
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    expect(JSON.parse(output.trim().split('\n').at(-1) ?? '[]')).toEqual(assets.map(() => 'function'));
  }, 90_000);

  it('a bundled handler, tracing on, throws the error names the machines match (minified, names kept)', () => {
    const assetOf = (fn: Props) =>
      join(
        synth.assembly.directory,
        `asset.${(fn.Code as { S3Key: string }).S3Key.replace(/\.zip$/, '')}`,
        'index.mjs',
      );
    const files = [
      assetOf(functionByDescription('Scheduled CDC batch of one pipe (EventBridge Scheduler)')),
      assetOf(functionByDescription('Step Functions task SnapshotChunk')),
    ];
    // No PIPE_STORE_TABLE: the runtime cannot be built, which every handler reports as FatalError.
    const script =
      'const context = { awsRequestId: "r-1", functionName: "f", invokedFunctionArn: "arn:aws:lambda:eu-west-1:1:function:f", memoryLimitInMB: "512", getRemainingTimeInMillis: () => 1000 };' +
      'const names = [];' +
      'for (const f of JSON.parse(process.argv[1])) names.push(await (await import(f)).handler({ pipeId: "p-1" }, context).then(() => "returned", (e) => e.name));' +
      'console.log(JSON.stringify(names));';
    const { PIPE_STORE_TABLE: _, ...env } = process.env;
    const output = execFileSync(
      process.execPath,
      ['--input-type=module', '-e', script, JSON.stringify(files)],
      {
        encoding: 'utf8',
        timeout: 60_000,
        env: {
          ...env,
          // As in Lambda: Powertools turns the Tracer on (no facade segment here, so none to attach to).
          AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
          AWS_LAMBDA_FUNCTION_NAME: 'f',
          AWS_XRAY_CONTEXT_MISSING: 'IGNORE_ERROR',
          POWERTOOLS_LOG_LEVEL: 'SILENT',
        },
      },
    );
    expect(JSON.parse(output.trim().split('\n').at(-1) ?? '[]')).toEqual(['FatalError', 'FatalError']);
  }, 90_000);
});

describe('HTTP API', () => {
  it('routes the methods of the API to the api function, every one with IAM auth', () => {
    const methods = props('AWS::ApiGateway::Method');
    expect(methods).toHaveLength(7);
    for (const method of methods) {
      expect(method.AuthorizationType).toBe('AWS_IAM');
      expect(method.Integration).toMatchObject({ Type: 'AWS_PROXY' });
    }
    const paths = props('AWS::ApiGateway::Resource').map((p) => p.PathPart);
    expect(paths.sort()).toEqual(['history', 'pipes', 'state', '{id}'].sort());
  });

  it('logs access and traces', () => {
    const [stage] = props('AWS::ApiGateway::Stage');
    expect(stage?.AccessLogSetting).toBeDefined();
    expect(stage?.TracingEnabled).toBe(true);
  });

  it('throttles the stage (the defaults of apiRateLimit and apiBurstLimit)', () => {
    const [stage] = props('AWS::ApiGateway::Stage');
    expect(stage?.MethodSettings).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          HttpMethod: '*',
          ResourcePath: '/*',
          ThrottlingRateLimit: 10,
          ThrottlingBurstLimit: 20,
        }),
      ]),
    );
  });
});

describe('EventBridge Scheduler', () => {
  it('has a schedule group and a role only the scheduler assumes, invoking only the CDC function', () => {
    expect(props('AWS::Scheduler::ScheduleGroup')).toHaveLength(1);
    const role = resourcesOf(synth.template, 'AWS::IAM::Role').find(([id]) =>
      id.startsWith(inConstruct('CdcSchedulesInvokeRole')),
    );
    expect(JSON.stringify(role?.[1].Properties?.AssumeRolePolicyDocument)).toContain(
      'scheduler.amazonaws.com',
    );
    const policy = props('AWS::IAM::Policy').find((p) => JSON.stringify(p.Roles).includes(role?.[0] ?? '?'));
    const statements = (policy?.PolicyDocument as { Statement: Props[] } | undefined)?.Statement ?? [];
    expect(statements).toHaveLength(1);
    expect(statements[0]?.Action).toBe('lambda:InvokeFunction');
    expect(JSON.stringify(statements[0]?.Resource)).toContain(':function:');
  });
});

describe('monitoring', () => {
  it('alarms on a failed pipe, CDC lag and each function errors, and has a dashboard', () => {
    const alarms = resourcesOf(synth.template, 'AWS::CloudWatch::Alarm').map(([id]) => id);
    expect(alarms.some((id) => id.startsWith(inConstruct('MonitoringPipeFailed')))).toBe(true);
    expect(alarms.some((id) => id.startsWith(inConstruct('MonitoringCdcLag')))).toBe(true);
    expect(alarms.filter((id) => /Errors[0-9A-F]{8}$/.test(id))).toHaveLength(tasks.length + 2);
    for (const alarm of props('AWS::CloudWatch::Alarm')) {
      expect(alarm.AlarmActions).toEqual([
        { Ref: expect.stringMatching(new RegExp(`^${inConstruct('MonitoringAlarmTopic')}`)) },
      ]);
    }
    const [dashboard] = props('AWS::CloudWatch::Dashboard');
    const body = JSON.stringify(dashboard?.DashboardBody);
    for (const metric of ['CdcLagMs', 'CdcEvents', 'CdcRows']) expect(body).toContain(metric);
  });

  it('the alarms and the dashboard read exactly the metrics the CDC function publishes', async () => {
    // What the deployed code writes: the adapter on the handlers' Metrics instance, as EMF.
    const cdcMetrics = new PowertoolsCdcMetrics(productMetrics);
    const lines = await emfLinesOf(() => {
      cdcMetrics.batchApplied('p-1', { events: 1, rows: 1, bytes: 1, lagMs: 1 });
      cdcMetrics.pipeFailed('p-1');
    });
    const published = lines.flatMap((line) =>
      line._aws.CloudWatchMetrics.flatMap((directive) =>
        directive.Metrics.flatMap((metric) =>
          directive.Dimensions.map((dimensions) => key(directive.Namespace, metric.Name, dimensions)),
        ),
      ),
    );
    const namespaces = new Set(lines.flatMap((line) => line._aws.CloudWatchMetrics.map((d) => d.Namespace)));
    expect(namespaces).toEqual(new Set(['MongoClickHousePipes']));

    // What the template reads, outside AWS/* (Lambda's own metrics).
    const read = [...alarmMetrics(), ...dashboardMetrics()].filter(
      (ref) => !ref.namespace.startsWith('AWS/'),
    );
    expect(read.length).toBeGreaterThan(0);
    // Each read names a namespace, metric and dimension set that is published…
    for (const ref of read) expect(published).toContain(key(ref.namespace, ref.name, ref.dimensions));
    // …and every metric published is read by something (the alarms or the dashboard).
    const names = (refs: Array<{ name: string }>) => [...new Set(refs.map((ref) => ref.name))].sort();
    const publishedNames = lines.flatMap((line) =>
      line._aws.CloudWatchMetrics.flatMap((d) => d.Metrics.map((m) => m.Name)),
    );
    expect(names(read)).toEqual([...new Set(publishedNames)].sort());
  });
});

interface MetricRead {
  namespace: string;
  name: string;
  dimensions: string[];
}

const key = (namespace: string, name: string, dimensions: string[]) =>
  `${namespace} ${name} {${[...dimensions].sort().join(',')}}`;

const dimensionNames = (dimensions: unknown) =>
  ((dimensions as Array<{ Name: string }> | undefined) ?? []).map((dimension) => dimension.Name);

/** Metrics the alarms read: a single metric, or the metrics of a math expression. */
function alarmMetrics(): MetricRead[] {
  return props('AWS::CloudWatch::Alarm').flatMap((alarm): MetricRead[] => {
    if (typeof alarm.MetricName === 'string')
      return [
        {
          namespace: String(alarm.Namespace),
          name: alarm.MetricName,
          dimensions: dimensionNames(alarm.Dimensions),
        },
      ];
    return ((alarm.Metrics as Props[] | undefined) ?? []).flatMap((query) => {
      const metric = (query.MetricStat as { Metric?: Props } | undefined)?.Metric;
      if (!metric) return [];
      return [
        {
          namespace: String(metric.Namespace),
          name: String(metric.MetricName),
          dimensions: dimensionNames(metric.Dimensions),
        },
      ];
    });
  });
}

/** Metrics the dashboard's widgets read: SEARCH expressions and `[namespace, name, dim, value…]` entries. */
function dashboardMetrics(): MetricRead[] {
  const [dashboard] = props('AWS::CloudWatch::Dashboard');
  const body = dashboard?.DashboardBody as string | { 'Fn::Join': [string, unknown[]] };
  // Tokens (the region, function names) only ever stand inside JSON strings.
  const text =
    typeof body === 'string'
      ? body
      : body['Fn::Join'][1].map((part) => (typeof part === 'string' ? part : 'TOKEN')).join('');
  const widgets = (JSON.parse(text) as { widgets: Array<{ properties: { metrics?: unknown[][] } }> }).widgets;
  return widgets.flatMap((widget) =>
    (widget.properties.metrics ?? []).flatMap((entry): MetricRead[] => {
      const [first] = entry;
      if (typeof first === 'object' && first !== null) {
        const expression = String((first as { expression?: unknown }).expression ?? '');
        const search = /^SEARCH\('\{([^,}]+)((?:,[^,}]+)*)\} MetricName="([^"]+)"'/.exec(expression);
        if (!search) return [];
        const [, namespace = '', dimensions = '', name = ''] = search;
        return [{ namespace, name, dimensions: dimensions.split(',').filter((part) => part.length > 0) }];
      }
      const [namespace, name, ...rest] = entry.filter((part): part is string => typeof part === 'string');
      return [
        {
          namespace: String(namespace),
          name: String(name),
          dimensions: rest.filter((_, index) => index % 2 === 0),
        },
      ];
    }),
  );
}

import { Duration } from 'aws-cdk-lib';
import {
  type Alarm,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  MathExpression,
  Metric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { METRIC_NAMESPACE, METRICS, PIPE_DIMENSION } from '../functions/adapters/cloudwatch/metric-names.js';

export interface PipesMonitoringProps {
  /** Every function by a readable name; each gets an errors alarm. */
  functions: Map<string, IFunction>;
  /** Every machine Catch ends in MarkFailed, so each of its invocations is a pipe entering Failed. */
  markFailed: IFunction;
  lagAlarmMs: number;
  /** Who hears about the alarms (an email subscription of the alarm topic); none by default. */
  alarmEmail?: string;
}

const PERIOD = Duration.minutes(5);

/**
 * Per-pipe series on the dashboard: a SEARCH over the PipeId dimension finds every pipe. The
 * names, namespace and dimension are the ones the CDC function publishes
 * (functions/adapters/cloudwatch/metric-names.ts); test/infra/stack.test.ts checks both agree.
 */
function perPipe(metric: string, statistic: string, label: string): MathExpression {
  return new MathExpression({
    expression: `SEARCH('{${METRIC_NAMESPACE},${PIPE_DIMENSION}} MetricName="${metric}"', '${statistic}', 60)`,
    label,
    period: Duration.minutes(1),
  });
}

function total(metric: string, statistic: string): Metric {
  return new Metric({ namespace: METRIC_NAMESPACE, metricName: metric, statistic, period: PERIOD });
}

/** Alarms (pipe failed, CDC lag, function errors) and a dashboard of lag, events, rows and bytes per pipe. */
export class PipesMonitoring extends Construct {
  readonly pipeFailedAlarm: Alarm;
  readonly lagAlarm: Alarm;
  readonly errorAlarms: Alarm[] = [];
  readonly dashboard: Dashboard;
  /** Every alarm notifies this topic (alarm and OK); subscribe your paging tool to it. */
  readonly topic: Topic;

  constructor(scope: Construct, id: string, props: PipesMonitoringProps) {
    super(scope, id);
    // The CDC function fails a pipe without a machine (no MarkFailed): it reports PipesFailed.
    const failed = new MathExpression({
      expression: 'FILL(markFailed, 0) + FILL(cdcFailed, 0)',
      usingMetrics: {
        markFailed: props.markFailed.metricInvocations({ period: PERIOD, statistic: 'Sum' }),
        cdcFailed: total(METRICS.pipesFailed, 'Sum'),
      },
      period: PERIOD,
      label: 'pipes entering Failed',
    });
    this.pipeFailedAlarm = failed.createAlarm(this, 'PipeFailed', {
      alarmDescription: 'A pipe entered Failed: GET /pipes/{id} shows lastError; resync or delete it',
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    this.lagAlarm = total(METRICS.lagMs, 'Maximum').createAlarm(this, 'CdcLag', {
      alarmDescription: `CDC lag of some pipe above ${props.lagAlarmMs} ms (the dashboard shows which)`,
      threshold: props.lagAlarmMs,
      evaluationPeriods: 3,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    for (const [name, fn] of props.functions) {
      this.errorAlarms.push(
        fn.metricErrors({ period: PERIOD, statistic: 'Sum' }).createAlarm(this, `${name}Errors`, {
          alarmDescription: `The ${name} function threw (see its log group)`,
          threshold: 1,
          evaluationPeriods: 1,
          comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          treatMissingData: TreatMissingData.NOT_BREACHING,
        }),
      );
    }
    this.topic = new Topic(this, 'AlarmTopic', {
      displayName: 'MongoDB to ClickHouse pipes alarms',
      enforceSSL: true,
    });
    if (props.alarmEmail) this.topic.addSubscription(new EmailSubscription(props.alarmEmail));
    const action = new SnsAction(this.topic);
    for (const alarm of [this.pipeFailedAlarm, this.lagAlarm, ...this.errorAlarms]) {
      alarm.addAlarmAction(action);
      alarm.addOkAction(action);
    }
    this.dashboard = new Dashboard(this, 'Dashboard', {
      widgets: [
        [
          new GraphWidget({
            title: 'CDC lag per pipe (ms)',
            left: [perPipe(METRICS.lagMs, 'Maximum', '')],
            width: 12,
          }),
          new GraphWidget({
            title: 'Change events per pipe',
            left: [perPipe(METRICS.events, 'Sum', '')],
            width: 12,
          }),
        ],
        [
          new GraphWidget({
            title: 'Rows written per pipe',
            left: [perPipe(METRICS.rows, 'Sum', '')],
            width: 12,
          }),
          new GraphWidget({ title: 'Pipes entering Failed', left: [failed], width: 12 }),
        ],
        [
          new GraphWidget({
            title: 'Change-event bytes per pipe',
            left: [perPipe(METRICS.bytes, 'Sum', '')],
            width: 12,
          }),
        ],
      ],
    });
  }
}

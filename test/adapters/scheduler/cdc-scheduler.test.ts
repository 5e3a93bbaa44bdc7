import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  EventBridgeCdcScheduler,
  rateExpressionOf,
  scheduleNameOf,
  schedulerConfigFromEnv,
} from '../../../functions/adapters/scheduler/cdc-scheduler.js';
import { FatalError, TransientError } from '../../../functions/core/errors.js';
import {
  type AwsEndpoint,
  errorAnswer,
  startAwsEndpoint,
  TEST_CLIENT_CONFIG,
} from '../stepfunctions/aws-endpoint.js';

const config = schedulerConfigFromEnv({
  CDC_SCHEDULE_GROUP: 'pipes-cdc',
  CDC_FUNCTION_ARN: 'arn:aws:lambda:eu-west-1:123456789012:function:pipes-cdc-batch',
  CDC_SCHEDULER_ROLE_ARN: 'arn:aws:iam::123456789012:role/pipes-scheduler',
});
const target = { Arn: config.targetArn, RoleArn: config.roleArn, Input: '{"pipeId":"p-1"}' };

let endpoint: AwsEndpoint;
let client: SchedulerClient;
let scheduler: EventBridgeCdcScheduler;

beforeAll(async () => {
  endpoint = await startAwsEndpoint('application/json');
  client = new SchedulerClient({ ...TEST_CLIENT_CONFIG, endpoint: endpoint.url });
  scheduler = new EventBridgeCdcScheduler(client, config);
});
afterAll(async () => {
  client?.destroy();
  await endpoint?.stop();
});
beforeEach(() => {
  endpoint.calls.length = 0;
});

/** What GetSchedule answers for the pipe's schedule. */
function stored(state: 'ENABLED' | 'DISABLED', expression = 'rate(1 minute)') {
  return {
    status: 200,
    body: {
      Name: 'cdc-p-1',
      GroupName: 'pipes-cdc',
      ScheduleExpression: expression,
      State: state,
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: target,
      Description: 'CDC batches of pipe p-1',
    },
  };
}

describe('EventBridgeCdcScheduler', () => {
  it('creates the schedule disabled, in the group, with the rate, no flexible window and the pipe as input', async () => {
    endpoint.answer({
      status: 200,
      body: { ScheduleArn: 'arn:aws:scheduler:eu-west-1:123456789012:schedule/pipes-cdc/cdc-p-1' },
    });
    await scheduler.ensure('p-1', 300);
    expect(endpoint.calls).toHaveLength(1);
    const [call] = endpoint.calls;
    expect(call?.method).toBe('POST');
    expect(call?.url).toBe('/schedules/cdc-p-1');
    expect(call?.body).toEqual({
      GroupName: 'pipes-cdc',
      ScheduleExpression: 'rate(5 minutes)',
      FlexibleTimeWindow: { Mode: 'OFF' },
      State: 'DISABLED',
      Target: target,
      Description: 'CDC batches of pipe p-1',
      ClientToken: expect.any(String),
    });
  });

  it('leaves an existing schedule alone when the interval is the same, and rewrites only a new interval', async () => {
    endpoint.answer(errorAnswer(409, 'ConflictException'), stored('ENABLED'));
    await scheduler.ensure('p-1', 60);
    expect(endpoint.calls.map((call) => call.method)).toEqual(['POST', 'GET']);
    expect(endpoint.calls[1]?.url).toBe('/schedules/cdc-p-1?groupName=pipes-cdc');
    endpoint.calls.length = 0;
    endpoint.answer(errorAnswer(409, 'ConflictException'), stored('ENABLED'), { status: 200, body: {} });
    await scheduler.ensure('p-1', 90);
    expect(endpoint.calls.map((call) => call.method)).toEqual(['POST', 'GET', 'PUT']);
    expect(endpoint.calls[2]?.body).toMatchObject({
      ScheduleExpression: 'rate(2 minutes)',
      State: 'ENABLED',
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: target,
    });
  });

  it('enables and disables by rewriting the whole schedule with the new state', async () => {
    endpoint.answer(stored('DISABLED', 'rate(3 minutes)'), { status: 200, body: {} });
    await scheduler.enable('p-1');
    expect(endpoint.calls[1]).toMatchObject({
      method: 'PUT',
      url: '/schedules/cdc-p-1',
      body: {
        GroupName: 'pipes-cdc',
        ScheduleExpression: 'rate(3 minutes)',
        State: 'ENABLED',
        FlexibleTimeWindow: { Mode: 'OFF' },
        Target: target,
      },
    });
    endpoint.calls.length = 0;
    endpoint.answer(stored('ENABLED'), { status: 200, body: {} });
    await scheduler.disable('p-1');
    expect(endpoint.calls[1]?.body).toMatchObject({ State: 'DISABLED' });
    endpoint.calls.length = 0;
    endpoint.answer(stored('DISABLED'));
    await scheduler.disable('p-1');
    expect(endpoint.calls.map((call) => call.method)).toEqual(['GET']);
  });

  it('removes the schedule, and a schedule already gone is not an error', async () => {
    endpoint.answer({ status: 200, body: {} }, errorAnswer(404, 'ResourceNotFoundException'));
    await scheduler.remove('p-1');
    await scheduler.remove('p-1');
    expect(endpoint.calls.map((call) => call.method)).toEqual(['DELETE', 'DELETE']);
    const url = new URL(endpoint.calls[0]?.url ?? '', 'http://x');
    expect(url.pathname).toBe('/schedules/cdc-p-1');
    expect(url.searchParams.get('groupName')).toBe('pipes-cdc');
  });

  it('maps a missing schedule on enable to FatalError, accepts disabling it, and maps throttling to TransientError', async () => {
    endpoint.answer(errorAnswer(404, 'ResourceNotFoundException'));
    await expect(scheduler.enable('p-1')).rejects.toMatchObject({ name: 'FatalError' });
    endpoint.answer(errorAnswer(404, 'ResourceNotFoundException'));
    await expect(scheduler.disable('p-1')).resolves.toBeUndefined();
    endpoint.answer(errorAnswer(429, 'ThrottlingException'));
    await expect(scheduler.disable('p-1')).rejects.toBeInstanceOf(TransientError);
  });

  it('rounds intervals up to whole minutes and keeps names within 64 characters', () => {
    expect(rateExpressionOf(60)).toBe('rate(1 minute)');
    expect(rateExpressionOf(61)).toBe('rate(2 minutes)');
    expect(rateExpressionOf(86_400)).toBe('rate(1440 minutes)');
    expect(() => rateExpressionOf(0)).toThrow(FatalError);
    expect(scheduleNameOf('p-1')).toBe('cdc-p-1');
    expect(scheduleNameOf('x'.repeat(64))).toMatch(/^cdc-[0-9a-f]{56}$/);
  });
});

import { LambdaClient } from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LambdaCdcTrigger } from '../../../functions/adapters/lambda/cdc-trigger.js';
import { recordingLog } from '../../support/log.js';
import {
  type AwsEndpoint,
  errorAnswer,
  startAwsEndpoint,
  TEST_CLIENT_CONFIG,
} from '../stepfunctions/aws-endpoint.js';

const FUNCTION_ARN = 'arn:aws:lambda:eu-west-1:123456789012:function:pipes-cdc-batch';

let endpoint: AwsEndpoint;
let client: LambdaClient;
const logged = recordingLog();
let trigger: LambdaCdcTrigger;

beforeAll(async () => {
  endpoint = await startAwsEndpoint('application/json');
  client = new LambdaClient({ ...TEST_CLIENT_CONFIG, endpoint: endpoint.url });
  trigger = new LambdaCdcTrigger(client, FUNCTION_ARN, logged.log);
});
afterAll(async () => {
  client?.destroy();
  await endpoint?.stop();
});
beforeEach(() => {
  endpoint.calls.length = 0;
  logged.lines.length = 0;
});

describe('LambdaCdcTrigger (the hand-over, on the wire)', () => {
  it('invokes the CDC function asynchronously with the schedule payload and why', async () => {
    endpoint.answer({ status: 202 });
    await expect(trigger.runSoon('p-1', 'hand-over')).resolves.toBe(true);
    const [call] = endpoint.calls;
    expect(call?.method).toBe('POST');
    expect(call?.url).toBe(`/2015-03-31/functions/${encodeURIComponent(FUNCTION_ARN)}/invocations`);
    expect(call?.headers['x-amz-invocation-type']).toBe('Event');
    expect(call?.body).toEqual({ pipeId: 'p-1', trigger: 'hand-over' });
  });

  it('reports a failed start instead of throwing: the schedule starts the run within one interval', async () => {
    endpoint.answer(errorAnswer(429, 'TooManyRequestsException', 'Rate exceeded'));
    await expect(trigger.runSoon('p-2', 'restart')).resolves.toBe(false);
    expect(logged.lines).toEqual([
      {
        level: 'warn',
        message:
          'pipe p-2: could not start the next CDC run (restart): TooManyRequestsException; the schedule will',
        detail: { pipeId: 'p-2', trigger: 'restart', errorName: 'TooManyRequestsException' },
      },
    ]);
  });
});

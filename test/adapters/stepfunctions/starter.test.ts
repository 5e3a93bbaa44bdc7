import { SFNClient } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  executionNameOf,
  STATE_MACHINE_ARN_ENV,
  StepFunctionsStarter,
  stateMachineArnsFromEnv,
} from '../../../functions/adapters/stepfunctions/starter.js';
import { TransientError } from '../../../functions/core/errors.js';
import { LIFECYCLE_OPERATIONS, type OperationInput } from '../../../functions/ports/lifecycle.js';
import { type AwsEndpoint, errorAnswer, startAwsEndpoint, TEST_CLIENT_CONFIG } from './aws-endpoint.js';

const ACCOUNT = '123456789012';
const arnOf = (machine: string) => `arn:aws:states:eu-west-1:${ACCOUNT}:stateMachine:${machine}`;
const ENV = Object.fromEntries(
  LIFECYCLE_OPERATIONS.map((operation) => [STATE_MACHINE_ARN_ENV[operation], arnOf(`pipes-${operation}`)]),
);

let endpoint: AwsEndpoint;
let client: SFNClient;
let starter: StepFunctionsStarter;

beforeAll(async () => {
  endpoint = await startAwsEndpoint('application/x-amz-json-1.0');
  client = new SFNClient({ ...TEST_CLIENT_CONFIG, endpoint: endpoint.url });
  starter = new StepFunctionsStarter(client, stateMachineArnsFromEnv(ENV));
});
afterAll(async () => {
  client?.destroy();
  await endpoint?.stop();
});
beforeEach(() => {
  endpoint.calls.length = 0;
});

const input: OperationInput = {
  pipeId: 'p-1',
  expectedState: 'Running',
  tables: ['shop.orders'],
  requestedBy: 'arn:aws:iam::123456789012:user/alice',
  requestId: 'resync-p-1-v4',
};

describe('StepFunctionsStarter', () => {
  it('starts the operation machine with the request id as execution name and the input as JSON', async () => {
    const executionArn = `arn:aws:states:eu-west-1:${ACCOUNT}:execution:pipes-resync:resync-p-1-v4`;
    endpoint.answer({ status: 200, body: { executionArn, startDate: 1_700_000_000 } });
    const started = await starter.start('resync', input);
    expect(started).toEqual({ executionId: executionArn });
    expect(endpoint.calls).toHaveLength(1);
    const [call] = endpoint.calls;
    expect(call?.method).toBe('POST');
    expect(call?.headers['x-amz-target']).toBe('AWSStepFunctions.StartExecution');
    expect(call?.body).toEqual({
      stateMachineArn: arnOf('pipes-resync'),
      name: 'resync-p-1-v4',
      input: JSON.stringify(input),
    });
  });

  it('treats ExecutionAlreadyExists as already started, answering with that execution', async () => {
    endpoint.answer(errorAnswer(400, 'ExecutionAlreadyExists', 'Execution Already Exists'));
    const started = await starter.start('pause', { ...input, requestId: 'pause-p-1-v4' });
    expect(started.executionId).toBe(
      `arn:aws:states:eu-west-1:${ACCOUNT}:execution:pipes-pause:pause-p-1-v4`,
    );
  });

  it('maps throttling and service errors to TransientError, and other refusals to FatalError saying what to fix', async () => {
    endpoint.answer(errorAnswer(400, 'ThrottlingException', 'Rate exceeded'));
    await expect(starter.start('create', input)).rejects.toBeInstanceOf(TransientError);
    endpoint.answer(errorAnswer(500, 'InternalError'));
    await expect(starter.start('create', input)).rejects.toBeInstanceOf(TransientError);
    endpoint.answer(errorAnswer(400, 'StateMachineDoesNotExist'));
    await expect(starter.start('create', input)).rejects.toMatchObject({
      name: 'FatalError',
      message: expect.stringMatching(/pipes-create does not exist \(StateMachineDoesNotExist, HTTP 400\)/),
    });
  });

  it('hashes request ids that are not valid execution names', () => {
    expect(executionNameOf('create-abc_1')).toBe('create-abc_1');
    const hashed = executionNameOf('key with spaces and a long tail '.repeat(4));
    expect(hashed).toMatch(/^r-[0-9a-f]{64}$/);
    expect(hashed.length).toBeLessThanOrEqual(80);
  });

  it('refuses to start with a missing or malformed state machine ARN in the environment', () => {
    const { [STATE_MACHINE_ARN_ENV.delete]: _removed, ...partial } = ENV;
    expect(() => stateMachineArnsFromEnv({ ...partial, PAUSE_STATE_MACHINE_ARN: 'nope' })).toThrow(
      /PAUSE_STATE_MACHINE_ARN, DELETE_STATE_MACHINE_ARN/,
    );
  });
});

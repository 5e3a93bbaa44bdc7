import { LambdaClient } from '@aws-sdk/client-lambda';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { SFNClient } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LambdaCdcTrigger } from '../../functions/adapters/lambda/cdc-trigger.js';
import { EventBridgeCdcScheduler } from '../../functions/adapters/scheduler/cdc-scheduler.js';
import {
  STATE_MACHINE_ARN_ENV,
  StepFunctionsStarter,
  stateMachineArnsFromEnv,
} from '../../functions/adapters/stepfunctions/starter.js';
import { ERROR_NAMES } from '../../functions/core/error-names.js';
import { FatalError, TransientError } from '../../functions/core/errors.js';
import { LIFECYCLE_OPERATIONS, type OperationInput } from '../../functions/ports/lifecycle.js';
import { type AwsFault, FAULTS, injectAwsFaults } from '../support/aws-faults.js';
import { recordingLog } from '../support/log.js';
import { type AwsEndpoint, startAwsEndpoint, TEST_CLIENT_CONFIG } from './stepfunctions/aws-endpoint.js';

/**
 * EventBridge Scheduler, Step Functions and Lambda clients (real SDK clients, pointed at a local
 * stand-in) whose answers are replaced at the wire: every adapter turns what the SDK throws into
 * a named error — retried for throttling, 5xx and broken connections, fatal with what to fix
 * for a denied, invalid or missing thing.
 */
let endpoint: AwsEndpoint;
const clients: { destroy(): void }[] = [];

beforeAll(async () => {
  endpoint = await startAwsEndpoint('application/x-amz-json-1.0');
});
afterAll(async () => {
  for (const client of clients) client.destroy();
  await endpoint?.stop();
});

function withFault<C extends { destroy(): void }>(client: C, fault: AwsFault): C {
  clients.push(client);
  injectAwsFaults(client as unknown as Parameters<typeof injectAwsFaults>[0], () => fault);
  return client;
}

const schedulerConfig = {
  groupName: 'pipes-cdc',
  targetArn: 'arn:aws:lambda:eu-west-1:123456789012:function:pipes-cdc-batch',
  roleArn: 'arn:aws:iam::123456789012:role/pipes-scheduler',
};
const ENV = Object.fromEntries(
  LIFECYCLE_OPERATIONS.map((operation) => [
    STATE_MACHINE_ARN_ENV[operation],
    `arn:aws:states:eu-west-1:123456789012:stateMachine:pipes-${operation}`,
  ]),
);
const input: OperationInput = {
  pipeId: 'p-1',
  expectedState: 'Running',
  requestedBy: 'test',
  requestId: 'resync-p-1-v4',
};

const scheduler = (fault: AwsFault) =>
  new EventBridgeCdcScheduler(
    withFault(new SchedulerClient({ ...TEST_CLIENT_CONFIG, endpoint: endpoint.url }), fault),
    schedulerConfig,
  );
const starter = (fault: AwsFault) =>
  new StepFunctionsStarter(
    withFault(new SFNClient({ ...TEST_CLIENT_CONFIG, endpoint: endpoint.url }), fault),
    stateMachineArnsFromEnv(ENV),
  );

/** Every call of each adapter. */
const CALLS: [string, (fault: AwsFault) => Promise<unknown>][] = [
  ['Scheduler ensure (CreateSchedule)', (fault) => scheduler(fault).ensure('p-1', 60)],
  ['Scheduler enable (GetSchedule)', (fault) => scheduler(fault).enable('p-1')],
  ['Scheduler disable (GetSchedule)', (fault) => scheduler(fault).disable('p-1')],
  ['Scheduler remove (DeleteSchedule)', (fault) => scheduler(fault).remove('p-1')],
  ['Step Functions start (StartExecution)', (fault) => starter(fault).start('resync', input)],
];

const TRANSIENT: [string, AwsFault][] = [
  ['ThrottlingException', FAULTS.throttling],
  ['TooManyRequestsException (429)', FAULTS.tooManyRequests],
  ['InternalServerException (500)', { kind: 'answer', status: 500, type: 'InternalServerException' }],
  ['ServiceUnavailable (503)', FAULTS.serviceUnavailable],
  ['ECONNRESET', FAULTS.connectionReset],
  [
    'EAI_AGAIN',
    { kind: 'socket', code: 'EAI_AGAIN', message: 'getaddrinfo EAI_AGAIN states.eu-west-1.amazonaws.com' },
  ],
  ['TimeoutError', FAULTS.timeout],
  [
    'ExpiredTokenException',
    {
      kind: 'answer',
      status: 400,
      type: 'ExpiredTokenException',
      message: 'The security token included in the request is expired',
    },
  ],
];

const accessDenied: AwsFault = {
  kind: 'answer',
  status: 400,
  type: 'AccessDeniedException',
  message: 'User: arn:aws:sts::123456789012:assumed-role/pipes/fn is not authorized to perform this action',
};

describe('AWS adapters under throttling and 5xx answers', () => {
  it.each(TRANSIENT)('%s → a retried name (TransientError), from every call', async (_what, fault) => {
    for (const [label, call] of CALLS) {
      const error = await call(fault).then(
        () => undefined,
        (thrown: unknown) => thrown,
      );
      expect(error, label).toBeInstanceOf(TransientError);
      expect(ERROR_NAMES[(error as Error).name], label).toBe('retry');
    }
  });

  it.each(CALLS)('%s: access denied is fatal and names the permission', async (label, call) => {
    const error = await call(accessDenied).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(error, label).toBeInstanceOf(FatalError);
    expect((error as Error).name).toBe('FatalError');
    expect((error as Error).message).toMatch(/denied/);
    expect((error as Error).message).toMatch(/(scheduler|states):[A-Za-z]+/);
  });

  it('a state machine that does not exist is fatal and says which one and what to check', async () => {
    const error = await starter({ kind: 'answer', status: 400, type: 'StateMachineDoesNotExist' })
      .start('resync', input)
      .catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(FatalError);
    expect((error as Error).message).toContain('stateMachine:pipes-resync');
    expect((error as Error).message).toMatch(/does not exist/);
  });

  it('a schedule group that is not there (ensure) is fatal and names it', async () => {
    const error = await scheduler({
      kind: 'answer',
      status: 404,
      type: 'ResourceNotFoundException',
      message: 'Schedule group pipes-cdc does not exist.',
    })
      .ensure('p-1', 60)
      .catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(FatalError);
    expect((error as Error).message).toMatch(/pipes-cdc/);
  });

  it('the CDC trigger never throws; a denied invoke is logged with the permission to grant', async () => {
    const logged = recordingLog();
    const functionArn = 'arn:aws:lambda:eu-west-1:123456789012:function:pipes-cdc-batch';
    const client = withFault(
      new LambdaClient({ ...TEST_CLIENT_CONFIG, endpoint: endpoint.url }),
      accessDenied,
    );
    const trigger = new LambdaCdcTrigger(client, functionArn, logged.log);
    await expect(trigger.runSoon('p-1', 'hand-over')).resolves.toBe(false);
    expect(logged.lines).toHaveLength(1);
    expect(logged.lines[0]?.level).toBe('error');
    expect(logged.lines[0]?.message).toMatch(/lambda:InvokeFunction/);
    const throttled = withFault(
      new LambdaClient({ ...TEST_CLIENT_CONFIG, endpoint: endpoint.url }),
      FAULTS.tooManyRequests,
    );
    const quiet = new LambdaCdcTrigger(throttled, functionArn, logged.log);
    await expect(quiet.runSoon('p-1', 'hand-over')).resolves.toBe(false);
    expect(logged.lines.map((line) => line.level)).toEqual(['error', 'warn']);
  });
});

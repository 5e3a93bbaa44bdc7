import { createHash } from 'node:crypto';
import { type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { awsCall } from '../../core/classify.js';
import {
  LIFECYCLE_OPERATIONS,
  type LifecycleOperation,
  type LifecycleStarter,
  type OperationInput,
  type StartedOperation,
} from '../../ports/lifecycle.js';

/** The environment variable holding each operation's state machine ARN (set by the CDK app). */
export const STATE_MACHINE_ARN_ENV: Readonly<Record<LifecycleOperation, string>> = {
  create: 'CREATE_STATE_MACHINE_ARN',
  pause: 'PAUSE_STATE_MACHINE_ARN',
  resume: 'RESUME_STATE_MACHINE_ARN',
  resync: 'RESYNC_STATE_MACHINE_ARN',
  addTables: 'ADD_TABLES_STATE_MACHINE_ARN',
  removeTables: 'REMOVE_TABLES_STATE_MACHINE_ARN',
  delete: 'DELETE_STATE_MACHINE_ARN',
};

const STATE_MACHINE_ARN = /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[A-Za-z0-9_-]{1,80}$/;

/** Reads every operation's ARN; a missing or malformed one fails at cold start, not on first use. */
export function stateMachineArnsFromEnv(
  env: Record<string, string | undefined>,
): Record<LifecycleOperation, string> {
  const arns = {} as Record<LifecycleOperation, string>;
  const problems: string[] = [];
  for (const operation of LIFECYCLE_OPERATIONS) {
    const name = STATE_MACHINE_ARN_ENV[operation];
    const value = env[name];
    if (value === undefined || !STATE_MACHINE_ARN.test(value)) problems.push(name);
    else arns[operation] = value;
  }
  if (problems.length > 0) {
    throw new Error(`missing or malformed state machine ARNs in the environment: ${problems.join(', ')}`);
  }
  return arns;
}

const EXECUTION_NAME = /^[A-Za-z0-9_-]{1,80}$/;

/**
 * Step Functions keeps execution names unique per machine (90 days after they close), which is
 * what makes the start idempotent. A request id that is not a valid name is hashed into one.
 */
export function executionNameOf(requestId: string): string {
  if (EXECUTION_NAME.test(requestId)) return requestId;
  return `r-${createHash('sha256').update(requestId).digest('hex')}`;
}

/** `arn:…:stateMachine:<machine>` + name → `arn:…:execution:<machine>:<name>`. */
export function executionArnOf(stateMachineArn: string, name: string): string {
  return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
}

const alreadyStarted = (error: unknown): boolean =>
  error instanceof Error && error.name === 'ExecutionAlreadyExists';

/** LifecycleStarter on Step Functions StartExecution: one machine per operation. */
export class StepFunctionsStarter implements LifecycleStarter {
  constructor(
    private readonly client: SFNClient,
    private readonly stateMachineArns: Readonly<Record<LifecycleOperation, string>>,
  ) {}

  async start(operation: LifecycleOperation, input: OperationInput): Promise<StartedOperation> {
    const stateMachineArn = this.stateMachineArns[operation];
    const name = executionNameOf(input.requestId);
    try {
      // Throttling, 5xx and broken connections leave retried; a denied call or a machine that does
      // not exist fatal, naming the machine and what to fix.
      const result = await awsCall(
        'stepfunctions',
        { operation: 'StartExecution', resource: `the ${operation} state machine ${stateMachineArn}` },
        () =>
          this.client.send(
            new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }),
          ),
        alreadyStarted,
      );
      return { executionId: result.executionArn ?? executionArnOf(stateMachineArn, name) };
    } catch (error) {
      // The same request id already started this machine (a retried request): that start stands.
      if (alreadyStarted(error)) return { executionId: executionArnOf(stateMachineArn, name) };
      throw error;
    }
  }
}

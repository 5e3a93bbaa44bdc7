import { createHash } from 'node:crypto';
import {
  CreateScheduleCommand,
  DeleteScheduleCommand,
  GetScheduleCommand,
  type GetScheduleCommandOutput,
  type SchedulerClient,
  UpdateScheduleCommand,
} from '@aws-sdk/client-scheduler';
import { awsCall } from '../../core/classify.js';
import { FatalError } from '../../core/errors.js';
import type { CdcScheduler } from '../../ports/lifecycle.js';

export interface EventBridgeCdcSchedulerConfig {
  /** The schedule group every pipe's schedule lives in (created by the CDK app). */
  groupName: string;
  /** The CDC batch Lambda function's ARN. */
  targetArn: string;
  /** The role EventBridge Scheduler assumes to invoke the target. */
  roleArn: string;
}

/** The environment variables the CDK app sets for functions that manage schedules. */
export const SCHEDULER_ENV = {
  groupName: 'CDC_SCHEDULE_GROUP',
  targetArn: 'CDC_FUNCTION_ARN',
  roleArn: 'CDC_SCHEDULER_ROLE_ARN',
} as const;

export function schedulerConfigFromEnv(
  env: Record<string, string | undefined>,
): EventBridgeCdcSchedulerConfig {
  const missing = Object.values(SCHEDULER_ENV).filter((name) => !env[name]);
  if (missing.length > 0)
    throw new Error(`missing scheduler settings in the environment: ${missing.join(', ')}`);
  return {
    groupName: env[SCHEDULER_ENV.groupName]!,
    targetArn: env[SCHEDULER_ENV.targetArn]!,
    roleArn: env[SCHEDULER_ENV.roleArn]!,
  };
}

/** Schedule names are at most 64 characters; pipe ids are at most 64, so long ones are hashed. */
export function scheduleNameOf(pipeId: string): string {
  const name = `cdc-${pipeId}`;
  return name.length <= 64 ? name : `cdc-${createHash('sha256').update(pipeId).digest('hex').slice(0, 56)}`;
}

/**
 * `rate()` counts whole minutes (at least one), so the interval is rounded up: a batch never
 * runs more often than the pipe's syncIntervalSeconds asks.
 */
export function rateExpressionOf(intervalSeconds: number): string {
  if (!Number.isFinite(intervalSeconds) || intervalSeconds <= 0) {
    throw new FatalError(`sync interval must be a positive number of seconds, not ${intervalSeconds}`);
  }
  const minutes = Math.max(1, Math.ceil(intervalSeconds / 60));
  return minutes === 1 ? 'rate(1 minute)' : `rate(${minutes} minutes)`;
}

/** Reported under the core's FatalError name: enabling a schedule that does not exist cannot succeed by retrying. */
class ScheduleMissingError extends FatalError {
  constructor(pipeId: string) {
    super(`pipe ${pipeId} has no CDC schedule: it was never created or was removed`);
    this.name = 'FatalError';
  }
}

function isNamed(error: unknown, name: string): boolean {
  return error instanceof Error && error.name === name;
}

/** CdcScheduler on EventBridge Scheduler: one schedule per pipe, invoking the CDC function. */
export class EventBridgeCdcScheduler implements CdcScheduler {
  constructor(
    private readonly client: SchedulerClient,
    private readonly config: EventBridgeCdcSchedulerConfig,
  ) {}

  /** Creates the schedule disabled; when it exists, only a changed interval is written. */
  async ensure(pipeId: string, intervalSeconds: number): Promise<void> {
    const expression = rateExpressionOf(intervalSeconds);
    const Name = scheduleNameOf(pipeId);
    try {
      await this.send(
        'CreateSchedule',
        pipeId,
        () =>
          this.client.send(
            new CreateScheduleCommand({
              Name,
              GroupName: this.config.groupName,
              ScheduleExpression: expression,
              FlexibleTimeWindow: { Mode: 'OFF' },
              State: 'DISABLED',
              Target: {
                Arn: this.config.targetArn,
                RoleArn: this.config.roleArn,
                Input: JSON.stringify({ pipeId }),
              },
              Description: `CDC batches of pipe ${pipeId}`,
            }),
          ),
        'ConflictException',
      );
    } catch (error) {
      if (!isNamed(error, 'ConflictException')) throw error;
      const current = await this.get(pipeId);
      if (current.ScheduleExpression !== expression) {
        await this.update(pipeId, current, { ScheduleExpression: expression });
      }
    }
  }

  enable(pipeId: string): Promise<void> {
    return this.setState(pipeId, 'ENABLED');
  }

  /** A pipe without a schedule has nothing to trigger: disabling it succeeds (delete runs this first). */
  async disable(pipeId: string): Promise<void> {
    try {
      await this.setState(pipeId, 'DISABLED');
    } catch (error) {
      if (!(error instanceof ScheduleMissingError)) throw error;
    }
  }

  /** Removing a schedule that is already gone is not an error (delete may run twice). */
  async remove(pipeId: string): Promise<void> {
    try {
      await this.send(
        'DeleteSchedule',
        pipeId,
        () =>
          this.client.send(
            new DeleteScheduleCommand({ Name: scheduleNameOf(pipeId), GroupName: this.config.groupName }),
          ),
        'ResourceNotFoundException',
      );
    } catch (error) {
      if (!isNamed(error, 'ResourceNotFoundException')) throw error;
    }
  }

  private async setState(pipeId: string, state: 'ENABLED' | 'DISABLED'): Promise<void> {
    const current = await this.get(pipeId);
    if (current.State !== state) await this.update(pipeId, current, { State: state });
  }

  private async get(pipeId: string): Promise<GetScheduleCommandOutput> {
    try {
      return await this.send(
        'GetSchedule',
        pipeId,
        () =>
          this.client.send(
            new GetScheduleCommand({ Name: scheduleNameOf(pipeId), GroupName: this.config.groupName }),
          ),
        'ResourceNotFoundException',
      );
    } catch (error) {
      if (isNamed(error, 'ResourceNotFoundException')) throw new ScheduleMissingError(pipeId);
      throw error;
    }
  }

  /** UpdateSchedule replaces the whole definition, so everything not changed is sent back as read. */
  private async update(
    pipeId: string,
    current: GetScheduleCommandOutput,
    change: { State?: 'ENABLED' | 'DISABLED'; ScheduleExpression?: string },
  ): Promise<void> {
    await this.send('UpdateSchedule', pipeId, () =>
      this.client.send(
        new UpdateScheduleCommand({
          Name: scheduleNameOf(pipeId),
          GroupName: this.config.groupName,
          ScheduleExpression: change.ScheduleExpression ?? current.ScheduleExpression,
          FlexibleTimeWindow: { Mode: 'OFF' },
          State: change.State ?? (current.State === 'ENABLED' ? 'ENABLED' : 'DISABLED'),
          Target: {
            Arn: this.config.targetArn,
            RoleArn: this.config.roleArn,
            Input: JSON.stringify({ pipeId }),
          },
          ...(current.Description === undefined ? {} : { Description: current.Description }),
        }),
      ),
    );
  }

  /**
   * One Scheduler call: whatever it throws leaves as a named error (throttling, 5xx and broken
   * connections retried; a denied or invalid call fatal, saying what to fix), except the refusal
   * named `expected`, which the caller handles itself.
   */
  private send<T>(operation: string, pipeId: string, work: () => Promise<T>, expected?: string): Promise<T> {
    const resource = `schedule ${scheduleNameOf(pipeId)} in group ${this.config.groupName}`;
    return awsCall('scheduler', { operation, resource }, work, (error) =>
      expected === undefined ? false : isNamed(error, expected),
    );
  }
}

import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { classifyAwsError } from '../../core/classify.js';
import type { CdcTrigger, CdcTriggerReason } from '../../ports/lifecycle.js';
import type { Log } from '../../ports/log.js';

/**
 * CdcTrigger in AWS: an asynchronous invocation of the CDC function with the payload the schedule
 * sends (`{pipeId}`, plus why). Lambda queues it and returns at once; the invoked run takes the
 * lease or, when another run holds it, ends as a cheap no-op. A failed invocation is reported,
 * not thrown: the pipe's schedule starts a run within one interval anyway. A failure retrying
 * cannot fix (a denied invoke, a function that does not exist) is logged with what to fix.
 */
export class LambdaCdcTrigger implements CdcTrigger {
  constructor(
    private readonly client: LambdaClient,
    private readonly functionArn: string,
    private readonly log: Log,
  ) {}

  async runSoon(pipeId: string, reason: CdcTriggerReason): Promise<boolean> {
    try {
      await this.client.send(
        new InvokeCommand({
          FunctionName: this.functionArn,
          InvocationType: 'Event',
          Payload: new TextEncoder().encode(JSON.stringify({ pipeId, trigger: reason })),
        }),
      );
      return true;
    } catch (error) {
      const name = error instanceof Error ? error.name : 'Error';
      const classified = classifyAwsError(error, 'lambda', {
        operation: 'Invoke',
        resource: `the CDC function ${this.functionArn}`,
      });
      const message = `pipe ${pipeId}: could not start the next CDC run (${reason}): ${name}; the schedule will`;
      // A throttle or a 5xx passes; a denied or missing function needs the deployment fixed.
      if (classified.disposition === 'retry')
        this.log.warn(message, { pipeId, trigger: reason, errorName: name });
      else this.log.error(`${message}; ${classified.message}`, { pipeId, trigger: reason, errorName: name });
      return false;
    }
  }
}

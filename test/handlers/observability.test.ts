import { execFileSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { FatalError, TransientError } from '../../functions/core/errors.js';
import { log, logger } from '../../functions/handlers/observability.js';
import type { Runtime } from '../../functions/handlers/runtime.js';
import { defineTask } from '../../functions/handlers/task.js';
import { type JsonLine, jsonLinesWritten } from '../support/output.js';

const runtime = {} as Runtime;

/** A Task that logs one line, after a pause of its own so two invocations interleave. */
const probe = defineTask(
  'Probe',
  z.object({ pipeId: z.string(), fail: z.string().optional() }),
  async (_, input) => {
    await new Promise((resolve) => setTimeout(resolve, input.pipeId === 'p-1' ? 30 : 1));
    log.info('working', { step: 1 });
    if (input.fail === 'transient') throw new TransientError('ClickHouse busy');
    if (input.fail === 'fatal') throw new FatalError('bad settings');
    return input.pipeId;
  },
);

const byMessage = (lines: JsonLine[], message: string) => lines.filter((line) => line.message === message);

let level: string;
beforeEach(() => {
  // The tests run SILENT (vitest.config.ts); these look at the lines.
  level = logger.getLevelName();
  logger.setLogLevel('DEBUG');
});
afterEach(() => logger.setLogLevel(level as 'SILENT'));

describe('the product logger in a Task invocation', () => {
  it('puts the pipe and the operation on every line of the invocation, its own even when runs overlap', async () => {
    const lines = await jsonLinesWritten(async () => {
      await Promise.all([
        probe.invoke(runtime, { pipeId: 'p-1' }),
        probe.invoke(runtime, { pipeId: 'p-2', trigger: 'hand-over' }),
      ]);
      log.info('between invocations');
    });
    const working = byMessage(lines, 'working');
    expect(working.map((line) => [line.pipeId, line.operation, line.trigger, line.step]).sort()).toEqual([
      ['p-1', 'Probe', undefined, 1],
      ['p-2', 'Probe', 'hand-over', 1],
    ]);
    for (const line of working) {
      expect(line).toMatchObject({ level: 'INFO', service: 'mongo-clickhouse-pipes' });
      expect(typeof line.timestamp).toBe('string');
    }
    expect(
      byMessage(lines, 'Probe done')
        .map((line) => line.pipeId)
        .sort(),
    ).toEqual(['p-1', 'p-2']);
    // Nothing of an invocation outlives it.
    const [after] = byMessage(lines, 'between invocations');
    expect(after).toBeDefined();
    expect(after).not.toHaveProperty('pipeId');
    expect(after).not.toHaveProperty('operation');
  });

  it('logs a failure with its name: WARN when a retry may fix it, ERROR otherwise; the same error is thrown', async () => {
    const thrown: unknown[] = [];
    const lines = await jsonLinesWritten(async () => {
      for (const fail of ['transient', 'fatal'])
        thrown.push(await probe.invoke(runtime, { pipeId: 'p-3', fail }).catch((error: unknown) => error));
    });
    expect(thrown.map((error) => (error as Error).name)).toEqual(['TransientError', 'FatalError']);
    const failures = lines.filter((line) => String(line.message).startsWith('Probe failed'));
    expect(failures.map((line) => [line.level, line.message, line.pipeId, line.operation])).toEqual([
      ['WARN', 'Probe failed: TransientError', 'p-3', 'Probe'],
      ['ERROR', 'Probe failed: FatalError', 'p-3', 'Probe'],
    ]);
    expect(failures[1]?.error).toMatchObject({ name: 'FatalError', message: 'bad settings' });
  });

  it('as a Lambda handler, adds the Lambda context (request id, function) to the lines', async () => {
    const context = {
      awsRequestId: 'c0ffee00-0000-4000-8000-000000000001',
      functionName: 'pipes-probe',
      functionVersion: '$LATEST',
      invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:pipes-probe',
      memoryLimitInMB: '512',
      getRemainingTimeInMillis: () => 30_000,
    };
    let error: unknown;
    // No PIPE_STORE_TABLE here: building the runtime fails, as in a misconfigured deployment.
    const lines = await jsonLinesWritten(async () => {
      error = await probe.handler({ pipeId: 'p-4' }, context).catch((caught: unknown) => caught);
    });
    expect((error as Error).name).toBe('FatalError');
    const [failure] = lines.filter((line) => line.message === 'Probe failed: FatalError');
    expect(failure).toMatchObject({
      level: 'ERROR',
      pipeId: 'p-4',
      operation: 'Probe',
      function_request_id: context.awsRequestId,
      function_name: 'pipes-probe',
      function_arn: context.invokedFunctionArn,
    });
  });
});

describe('the tracer outside Lambda', () => {
  it('is not loaded, so nothing is wrapped and promises pay no X-Ray async hook', async () => {
    const { tracer, traced, tracePort } = await import('../../functions/handlers/observability.js');
    expect(process.env.AWS_LAMBDA_FUNCTION_NAME).toBeUndefined();
    expect(tracer).toBeUndefined();
    const client = { send: async () => 'sent' };
    expect(traced(client)).toBe(client);
    expect(tracePort('MongoDB', client)).toBe(client);
  });

  it('is loaded in Lambda unless POWERTOOLS_TRACE_ENABLED is false', async () => {
    const script =
      "const o = await import('./functions/handlers/observability.ts'); console.log(String(o.tracer !== undefined));";
    const run = (env: Record<string, string>) =>
      execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        env: { ...process.env, ...env },
        encoding: 'utf8',
      }).trim();
    expect(run({ AWS_LAMBDA_FUNCTION_NAME: 'f' })).toBe('true');
    expect(run({ AWS_LAMBDA_FUNCTION_NAME: 'f', POWERTOOLS_TRACE_ENABLED: 'false' })).toBe('false');
  });
});

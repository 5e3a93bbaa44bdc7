import { describe, expect, it } from 'vitest';
import { STATE_MACHINE_ARN_ENV } from '../../functions/adapters/stepfunctions/starter.js';
import { ERROR_NAMES } from '../../functions/core/error-names.js';
import { DestinationUnavailableError, FatalError } from '../../functions/core/errors.js';
import { TableNotMappedError } from '../../functions/engines/table-context.js';
import { runtimeFromEnv } from '../../functions/handlers/env-runtime.js';
import { describeFailure } from '../../functions/handlers/fail-pipe.js';
import type { Runtime } from '../../functions/handlers/runtime.js';
import { resolveDestination, resolveSourceUri } from '../../functions/handlers/secrets.js';
import { namedError } from '../../functions/handlers/task.js';
import { applyEventTask } from '../../functions/handlers/tasks/apply-event.js';
import { installPromiseWithResolvers } from '../../local/stepfunctions/polyfill.js';

describe('namedError: every error leaving a handler carries a name the machines know', () => {
  it('keeps a listed name', () => {
    const error = new DestinationUnavailableError('busy');
    expect(namedError(error)).toBe(error);
  });

  it('maps an engine error outside the list to its disposition, keeping the message', () => {
    const mapped = namedError(new TableNotMappedError('p1', 'shop.orders'));
    expect(mapped.name).toBe('FatalError');
    expect(mapped.message).toContain('TableNotMappedError: pipe p1 has no table mapping shop.orders');
  });

  it('classifies plain errors (unknown is fatal)', () => {
    const mapped = namedError(new TypeError('x is undefined'));
    expect(Object.hasOwn(ERROR_NAMES, mapped.name)).toBe(true);
    expect(mapped).toBeInstanceOf(FatalError);
  });

  it('rejects invalid Task input as FatalError naming the field', async () => {
    await expect(
      applyEventTask.invoke({} as Runtime, { pipeId: 'p1', event: 'explode' }),
    ).rejects.toMatchObject({
      name: 'FatalError',
      message: expect.stringContaining('event'),
    });
  });
});

describe('errors leaving a handler never carry credentials, and stay short', () => {
  const leaky =
    'insert to https://writer:s3cr3t@ch.example.com:8443/ failed; source mongodb://app:hunter2@db.example:27017/ ' +
    'answered 401 for Authorization: Basic d3JpdGVyOnMzY3IzdA==';

  it('namedError masks every URL user-info, password option and auth header, and cuts the rest', () => {
    for (const error of [new Error(leaky), new DestinationUnavailableError(leaky)]) {
      const named = namedError(error);
      for (const secret of ['s3cr3t', 'hunter2', 'd3JpdGVyOnMzY3IzdA=='])
        expect(named.message, named.name).not.toContain(secret);
      expect(named.message).toContain('ch.example.com');
    }
    expect(namedError(new Error('x'.repeat(50_000))).message.length).toBeLessThan(1_100);
  });

  it('describeFailure masks a Lambda error cause before it becomes lastError and history', () => {
    const cause = JSON.stringify({ errorType: 'DestinationFatalError', errorMessage: leaky });
    const failure = describeFailure({ Error: 'DestinationFatalError', Cause: cause });
    expect(failure.name).toBe('DestinationFatalError');
    expect(failure.message).not.toMatch(/s3cr3t|hunter2|d3JpdGVy/);
  });
});

describe('describeFailure: what a Catch hands to MarkFailed', () => {
  it('reads a Lambda error cause', () => {
    const cause = JSON.stringify({ errorType: 'SourceFatalError', errorMessage: 'auth failed', trace: [] });
    expect(describeFailure({ Error: 'SourceFatalError', Cause: cause })).toEqual({
      name: 'SourceFatalError',
      message: 'auth failed',
    });
  });

  it('unwraps a failed child execution down to the Lambda error', () => {
    const lambda = JSON.stringify({ errorType: 'DestinationFatalError', errorMessage: 'no grant' });
    const child = JSON.stringify({ Error: 'DestinationFatalError', Cause: lambda, Status: 'FAILED' });
    expect(describeFailure({ Error: 'States.TaskFailed', Cause: child })).toEqual({
      name: 'DestinationFatalError',
      message: 'no grant',
    });
  });

  it('keeps a plain-text cause', () => {
    expect(describeFailure({ Error: 'States.Timeout', Cause: 'timed out' })).toEqual({
      name: 'States.Timeout',
      message: 'timed out',
    });
  });
});

describe('connection resolution', () => {
  const secrets = async (arn: string) => {
    if (arn.endsWith('mongo')) return JSON.stringify({ uri: 'mongodb://u:p@db.example:27017/' });
    if (arn.endsWith('raw')) return 'mongodb://raw.example:27017/';
    return JSON.stringify({ url: 'https://ch:8443', username: 'writer', password: 'pw' });
  };

  it('takes the pipe record first, then its secret, then the default', async () => {
    expect(await resolveSourceUri({ uri: 'mongodb://a:1/' }, { mongoUri: 'mongodb://default/' })).toBe(
      'mongodb://a:1/',
    );
    expect(await resolveSourceUri({ secretArn: 'arn:x:mongo' }, { secrets })).toBe(
      'mongodb://u:p@db.example:27017/',
    );
    expect(await resolveSourceUri({ secretArn: 'arn:x:raw' }, { secrets })).toBe(
      'mongodb://raw.example:27017/',
    );
    expect(await resolveSourceUri({}, { mongoUri: 'mongodb://default/' })).toBe('mongodb://default/');
    await expect(resolveSourceUri({}, {})).rejects.toMatchObject({ name: 'MissingConnectionError' });
  });

  it('resolves ClickHouse credentials from the record or its secret', async () => {
    expect(await resolveDestination({ database: 'd', secretArn: 'arn:x:ch' }, { secrets })).toEqual({
      url: 'https://ch:8443',
      username: 'writer',
      password: 'pw',
      database: 'd',
    });
    expect(
      await resolveDestination({ database: 'd' }, { clickhouse: { url: 'http://127.0.0.1:1' } }),
    ).toEqual({
      url: 'http://127.0.0.1:1',
      database: 'd',
    });
  });
});

describe('the Node 20 polyfill the local runner installs', () => {
  it('adds a working Promise.withResolvers when the runtime lacks it', async () => {
    const holder = Promise as unknown as { withResolvers?: unknown };
    const original = holder.withResolvers;
    delete holder.withResolvers;
    try {
      installPromiseWithResolvers();
      const { promise, resolve } = (
        Promise as unknown as { withResolvers: <T>() => { promise: Promise<T>; resolve: (value: T) => void } }
      ).withResolvers<number>();
      resolve(7);
      expect(await promise).toBe(7);
    } finally {
      if (original === undefined) delete holder.withResolvers;
      else holder.withResolvers = original;
    }
  });
});

describe('the Lambda runtime from the environment', () => {
  it('names what is missing, as a FatalError', async () => {
    await expect(runtimeFromEnv({})).rejects.toMatchObject({
      name: 'FatalError',
      message: expect.stringContaining('PIPE_STORE_TABLE'),
    });
    await expect(runtimeFromEnv({ PIPE_STORE_TABLE: 'pipes' })).rejects.toMatchObject({
      name: 'FatalError',
      message: expect.stringContaining('CDC_SCHEDULE_GROUP'),
    });
  });

  it('builds the store, scheduler and connections without calling AWS', async () => {
    const runtime = await runtimeFromEnv({
      PIPE_STORE_TABLE: 'pipes',
      CDC_SCHEDULE_GROUP: 'cdc',
      CDC_FUNCTION_ARN: 'arn:aws:lambda:eu-west-1:123456789012:function:cdc',
      CDC_SCHEDULER_ROLE_ARN: 'arn:aws:iam::123456789012:role/scheduler',
    });
    expect(typeof runtime.store.getPipe).toBe('function');
    expect(typeof runtime.scheduler.enable).toBe('function');
    expect(typeof runtime.connect).toBe('function');
    expect(runtime.starter).toBeUndefined();
  });

  it('has a starter (auto-resync) only when every machine ARN is configured', async () => {
    const base = {
      PIPE_STORE_TABLE: 'pipes',
      CDC_SCHEDULE_GROUP: 'cdc',
      CDC_FUNCTION_ARN: 'arn:aws:lambda:eu-west-1:123456789012:function:cdc',
      CDC_SCHEDULER_ROLE_ARN: 'arn:aws:iam::123456789012:role/scheduler',
    };
    const arns = Object.fromEntries(
      Object.entries(STATE_MACHINE_ARN_ENV).map(([operation, name]) => [
        name,
        `arn:aws:states:eu-west-1:123456789012:stateMachine:${operation}`,
      ]),
    );
    expect((await runtimeFromEnv({ ...base, ...arns })).starter).toBeDefined();
    await expect(
      runtimeFromEnv({ ...base, RESYNC_STATE_MACHINE_ARN: arns.RESYNC_STATE_MACHINE_ARN }),
    ).rejects.toMatchObject({
      name: 'FatalError',
      message: expect.stringContaining('CREATE_STATE_MACHINE_ARN'),
    });
  });
});

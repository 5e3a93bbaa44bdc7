import { describe, expect, it } from 'vitest';
import {
  CLICKHOUSE_FATAL_CODES,
  CLICKHOUSE_RETRYABLE_CODES,
  classifyDestinationError,
  classifyError,
  classifySourceError,
  ERROR_CLASSES,
  ERROR_NAMES,
  errorNamesWith,
  MONGO_FATAL_CODES,
  MONGO_HISTORY_LOST_CODES,
  MONGO_NETWORK_ERROR_NAMES,
  MONGO_RETRYABLE_CODES,
  MONGO_RETRYABLE_LABELS,
  NODE_NETWORK_CODES,
} from '../../functions/core/classify.js';
import {
  ChangeStreamHistoryLostError,
  DestinationFatalError,
  DestinationUnavailableError,
  FatalError,
  LeaseHeldError,
  PipeError,
  SourceFatalError,
  SourceUnavailableError,
  TransientError,
} from '../../functions/core/errors.js';

function mongoServerError(code: number, codeName: string, errorLabels: string[] = []) {
  return Object.assign(new Error(`server said ${codeName}`), {
    name: 'MongoServerError',
    code,
    codeName,
    errorLabels,
  });
}

function clickHouseError(code: number, type: string) {
  return Object.assign(new Error(`Code: ${code}. DB::Exception: ${type}`), {
    name: 'ClickHouseError',
    code: String(code),
    type,
  });
}

const codes = (table: Readonly<Record<number, string>>) =>
  Object.entries(table).map(([code, name]) => [Number(code), name] as const);

describe('MongoDB errors', () => {
  it('reads a code the driver wrapped as Int32 (unpromoted values) without a codeName', () => {
    const wrapped = Object.assign(new Error('resume token was not found'), {
      name: 'MongoServerError',
      code: { _bsontype: 'Int32', value: 286 },
    });
    expect(classifyError(wrapped)).toBeInstanceOf(ChangeStreamHistoryLostError);
  });

  it.each(codes(MONGO_HISTORY_LOST_CODES))('%i %s → history-lost with a resync message', (code, name) => {
    const source = mongoServerError(code, name);
    const result = classifyError(source);
    expect(result).toBeInstanceOf(ChangeStreamHistoryLostError);
    expect(result.disposition).toBe('history-lost');
    expect(result.message).toMatch(/resync needed/);
    expect(result.message).toMatch(/fell off the oplog/);
    expect(result.cause).toBe(source);
  });

  it.each(codes(MONGO_RETRYABLE_CODES))('%i %s → SourceUnavailableError', (code, name) => {
    const result = classifyError(mongoServerError(code, name));
    expect(result).toBeInstanceOf(SourceUnavailableError);
    expect(result.name).toBe('SourceUnavailableError');
    expect(result.disposition).toBe('retry');
  });

  it.each(codes(MONGO_FATAL_CODES))('%i %s → SourceFatalError', (code, name) => {
    const result = classifyError(mongoServerError(code, name));
    expect(result).toBeInstanceOf(SourceFatalError);
    expect(result.disposition).toBe('fatal');
  });

  it('recognises a code given only by codeName', () => {
    const err = Object.assign(new Error('x'), { name: 'MongoServerError', codeName: 'PrimarySteppedDown' });
    expect(classifyError(err)).toBeInstanceOf(SourceUnavailableError);
    const lost = Object.assign(new Error('x'), {
      name: 'MongoServerError',
      codeName: 'ChangeStreamHistoryLost',
    });
    expect(classifyError(lost)).toBeInstanceOf(ChangeStreamHistoryLostError);
  });

  it.each([...MONGO_RETRYABLE_LABELS])('label %s → retry (as an array)', (label) => {
    expect(classifyError(mongoServerError(2, 'BadValue', [label]))).toBeInstanceOf(SourceUnavailableError);
  });

  it.each([...MONGO_RETRYABLE_LABELS])('label %s → retry (through hasErrorLabel)', (label) => {
    const err = Object.assign(new Error('x'), {
      name: 'MongoServerError',
      code: 2,
      hasErrorLabel: (wanted: string) => wanted === label,
    });
    expect(classifyError(err)).toBeInstanceOf(SourceUnavailableError);
  });

  it.each([...MONGO_NETWORK_ERROR_NAMES])('%s → SourceUnavailableError', (name) => {
    expect(classifyError(Object.assign(new Error('net'), { name }))).toBeInstanceOf(SourceUnavailableError);
  });

  it('history loss wins over a retryable label', () => {
    expect(
      classifyError(mongoServerError(286, 'ChangeStreamHistoryLost', ['ResumableChangeStreamError'])),
    ).toBeInstanceOf(ChangeStreamHistoryLostError);
  });

  it('an unknown server error is fatal, not retried forever', () => {
    const result = classifyError(mongoServerError(2, 'BadValue'));
    expect(result).toBeInstanceOf(SourceFatalError);
    expect(result.message).toContain('code 2');
  });

  it.each([...NODE_NETWORK_CODES])('socket %s from the source side → SourceUnavailableError', (code) => {
    const err = Object.assign(new Error(`connect ${code}`), { code });
    expect(classifySourceError(err)).toBeInstanceOf(SourceUnavailableError);
    expect(classifyError(err)).toBeInstanceOf(TransientError);
    expect(classifyError(err).disposition).toBe('retry');
  });

  it('finds a socket error wrapped as the cause of another', () => {
    const inner = Object.assign(new Error('reset'), { code: 'ECONNRESET' });
    const outer = new Error('request failed', { cause: inner });
    expect(classifyError(outer).disposition).toBe('retry');
  });
});

describe('ClickHouse errors', () => {
  it.each(codes(CLICKHOUSE_RETRYABLE_CODES))('%i %s → DestinationUnavailableError', (code, type) => {
    const source = clickHouseError(code, type);
    const result = classifyError(source);
    expect(result).toBeInstanceOf(DestinationUnavailableError);
    expect(result.disposition).toBe('retry');
    expect(result.cause).toBe(source);
    expect(result.message).toContain(type);
  });

  it.each(codes(CLICKHOUSE_FATAL_CODES))('%i %s → DestinationFatalError', (code, type) => {
    const result = classifyError(clickHouseError(code, type));
    expect(result).toBeInstanceOf(DestinationFatalError);
    expect(result.disposition).toBe('fatal');
  });

  it('reads the code from the type alone when code is missing', () => {
    const err = Object.assign(new Error('x'), { name: 'ClickHouseError', type: 'TOO_MANY_PARTS' });
    expect(classifyError(err)).toBeInstanceOf(DestinationUnavailableError);
  });

  it.each([...NODE_NETWORK_CODES])(
    'socket %s on the destination side → DestinationUnavailableError',
    (code) => {
      expect(classifyDestinationError(Object.assign(new Error(code), { code }))).toBeInstanceOf(
        DestinationUnavailableError,
      );
    },
  );

  it('the HTTP client timeout is retryable on the destination side', () => {
    expect(classifyDestinationError(new Error('Timeout error.'))).toBeInstanceOf(DestinationUnavailableError);
  });

  it('an unknown destination error is fatal', () => {
    expect(classifyDestinationError(new Error('weird'))).toBeInstanceOf(DestinationFatalError);
  });
});

describe('the classifier contract', () => {
  it('passes PipeErrors through unchanged', () => {
    const lease = new LeaseHeldError('cdc', 'other', 0);
    expect(classifyError(lease)).toBe(lease);
    expect(classifySourceError(lease)).toBe(lease);
    expect(classifyDestinationError(lease)).toBe(lease);
  });

  it('treats anything unknown (including non-Errors) as fatal', () => {
    for (const thing of [new Error('boom'), 'a string', 42, null, undefined, { some: 'object' }]) {
      const result = classifyError(thing);
      expect(result).toBeInstanceOf(FatalError);
      expect(result).toBeInstanceOf(PipeError);
    }
  });

  it('ERROR_NAMES is frozen and matches every class name and disposition', () => {
    expect(Object.isFrozen(ERROR_NAMES)).toBe(true);
    expect(Object.keys(ERROR_NAMES).sort()).toEqual(ERROR_CLASSES.map((cls) => cls.name).sort());
    const samples: PipeError[] = [
      classifyError(mongoServerError(286, 'ChangeStreamHistoryLost')),
      classifyError(mongoServerError(189, 'PrimarySteppedDown')),
      classifyError(mongoServerError(18, 'AuthenticationFailed')),
      classifyError(clickHouseError(252, 'TOO_MANY_PARTS')),
      classifyError(clickHouseError(60, 'UNKNOWN_TABLE')),
      classifyError(new Error('x')),
    ];
    for (const error of samples) expect(ERROR_NAMES[error.name]).toBe(error.disposition);
    expect(errorNamesWith('history-lost')).toEqual(['ChangeStreamHistoryLostError']);
    expect(errorNamesWith('retry')).toEqual(
      expect.arrayContaining([
        'TransientError',
        'SourceUnavailableError',
        'DestinationUnavailableError',
        'LeaseHeldError',
      ]),
    );
  });
});

describe('errors built by the real client libraries', () => {
  it('MongoServerError from the driver', async () => {
    const { MongoServerError, MongoNetworkError, MongoNetworkTimeoutError } = await import('mongodb');
    const lost = new MongoServerError({
      message: 'history lost',
      code: 286,
      codeName: 'ChangeStreamHistoryLost',
    });
    expect(classifyError(lost)).toBeInstanceOf(ChangeStreamHistoryLostError);
    const stepDown = new MongoServerError({
      message: 'stepped down',
      code: 189,
      codeName: 'PrimarySteppedDown',
    });
    expect(classifyError(stepDown)).toBeInstanceOf(SourceUnavailableError);
    const labelled = new MongoServerError({
      message: 'x',
      code: 2,
      errorLabels: ['ResumableChangeStreamError'],
    });
    expect(classifyError(labelled)).toBeInstanceOf(SourceUnavailableError);
    const auth = new MongoServerError({ message: 'auth', code: 18, codeName: 'AuthenticationFailed' });
    expect(classifyError(auth)).toBeInstanceOf(SourceFatalError);
    expect(classifyError(new MongoNetworkError('socket closed'))).toBeInstanceOf(SourceUnavailableError);
    expect(classifyError(new MongoNetworkTimeoutError('timed out'))).toBeInstanceOf(SourceUnavailableError);
  });

  it('ClickHouseError parsed from a server message by @clickhouse/client', async () => {
    const { parseError } = await import('@clickhouse/client');
    const tooMany = parseError(
      'Code: 252. DB::Exception: Too many parts (300). (TOO_MANY_PARTS) (version 26.7.2.1)',
    );
    expect(classifyError(tooMany)).toBeInstanceOf(DestinationUnavailableError);
    const unknown = parseError('Code: 60. DB::Exception: Table shop.orders does not exist. (UNKNOWN_TABLE)');
    expect(classifyError(unknown)).toBeInstanceOf(DestinationFatalError);
    expect(classifyDestinationError(unknown)).toBeInstanceOf(DestinationFatalError);
  });
});

describe('plain duck-typed server errors', () => {
  it('a bare object with a numeric code is read as a MongoDB server error', () => {
    expect(classifyError({ code: 286, message: 'gone' })).toBeInstanceOf(ChangeStreamHistoryLostError);
    expect(classifyError({ code: 11602 })).toBeInstanceOf(SourceUnavailableError);
  });
});

import { describe, expect, it } from 'vitest';
import {
  classifyAwsError,
  classifyDestinationError,
  classifyError,
  classifySourceError,
} from '../../functions/core/classify.js';
import {
  AWS_THROTTLING_NAMES,
  CLICKHOUSE_FATAL_CODES,
  CLICKHOUSE_RETRYABLE_CODES,
  MONGO_FATAL_CODES,
  MONGO_HISTORY_LOST_CODES,
  MONGO_NETWORK_ERROR_NAMES,
  MONGO_RETRYABLE_CODES,
  MONGO_RETRYABLE_LABELS,
  NODE_NETWORK_CODES,
} from '../../functions/core/error-codes.js';
import { ERROR_CLASSES, ERROR_NAMES, errorNamesWith } from '../../functions/core/error-names.js';
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
import { StoreUnavailableError } from '../../functions/core/store-errors.js';

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

/** An error shaped like the AWS SDK's: name, `$fault`, `$metadata`, maybe `$retryable`. */
function awsError(
  name: string,
  status: number | undefined,
  extra: { message?: string; retryable?: { throttling?: boolean }; fault?: 'client' | 'server' } = {},
) {
  return Object.assign(new Error(extra.message ?? `${name} happened`), {
    name,
    $fault: extra.fault ?? (status !== undefined && status >= 500 ? 'server' : 'client'),
    $metadata: {
      ...(status === undefined ? {} : { httpStatusCode: status }),
      attempts: 3,
      totalRetryDelay: 900,
    },
    ...(extra.retryable ? { $retryable: extra.retryable } : {}),
  });
}

/** A socket error as the SDK hands it on: the Node error, with the attempts it made. */
function socketError(code: string, message = `read ${code}`) {
  return Object.assign(new Error(message), { code, $metadata: { attempts: 3, totalRetryDelay: 900 } });
}

type AwsService = Parameters<typeof classifyAwsError>[1];
const CALL = { operation: 'PutItem', resource: 'PipeStore' };

/** [what, error, service] → retried: the pipe store's as StoreUnavailableError, the others' as TransientError. */
const AWS_RETRYABLE: [string, unknown, AwsService][] = [
  ...AWS_THROTTLING_NAMES.map((name): [string, unknown, AwsService] => [
    name,
    awsError(name, 400),
    'dynamodb',
  ]),
  ['ThrottlingException from Step Functions', awsError('ThrottlingException', 400), 'stepfunctions'],
  ['TooManyRequestsException from Lambda (429)', awsError('TooManyRequestsException', 429), 'lambda'],
  [
    'LimitExceededException from DynamoDB (control plane)',
    awsError('LimitExceededException', 400),
    'dynamodb',
  ],
  [
    'an unknown name with $retryable.throttling',
    awsError('SomethingNew', 400, { retryable: { throttling: true } }),
    'scheduler',
  ],
  ['an unknown name with $retryable', awsError('SomethingNew', 400, { retryable: {} }), 'dynamodb'],
  ['an unknown name answered 429', awsError('SomethingNew', 429), 'secretsmanager'],
  ['InternalServerError 500 from DynamoDB', awsError('InternalServerError', 500), 'dynamodb'],
  ['InternalServerException 500 from Scheduler', awsError('InternalServerException', 500), 'scheduler'],
  ['InternalServiceError 500 from Secrets Manager', awsError('InternalServiceError', 500), 'secretsmanager'],
  ['ServiceUnavailable 503', awsError('ServiceUnavailable', 503), 'stepfunctions'],
  ['ServiceException 500 from Lambda', awsError('ServiceException', 500), 'lambda'],
  ['an unmodelled 502 (HTML from a proxy)', awsError('Unknown', 502), 'dynamodb'],
  ['$fault server without a status', awsError('Weird', undefined, { fault: 'server' }), 'dynamodb'],
  ['RequestTimeout', awsError('RequestTimeout', 408), 'scheduler'],
  ['RequestTimeoutException', awsError('RequestTimeoutException', 400), 'lambda'],
  [
    'the SDK request timeout (TimeoutError)',
    Object.assign(new Error('Connection timed out after 1000 ms'), {
      name: 'TimeoutError',
      $metadata: { attempts: 1 },
    }),
    'dynamodb',
  ],
  ['ECONNRESET (socket hang up)', socketError('ECONNRESET', 'socket hang up'), 'dynamodb'],
  ['ECONNREFUSED', socketError('ECONNREFUSED'), 'stepfunctions'],
  ['ETIMEDOUT', socketError('ETIMEDOUT'), 'scheduler'],
  ['EPIPE', socketError('EPIPE'), 'secretsmanager'],
  ['EAI_AGAIN (DNS for now)', socketError('EAI_AGAIN'), 'lambda'],
  [
    'a socket error as the cause of a wrapper',
    new Error('send failed', { cause: socketError('ECONNRESET') }),
    'dynamodb',
  ],
  ['"socket hang up" without a code', new Error('socket hang up'), 'dynamodb'],
  [
    'ExpiredTokenException (Lambda refreshes its credentials)',
    awsError('ExpiredTokenException', 400),
    'dynamodb',
  ],
  ['ExpiredToken', awsError('ExpiredToken', 403), 'secretsmanager'],
  ['RequestTimeTooSkewed (the SDK corrects its clock)', awsError('RequestTimeTooSkewed', 403), 'scheduler'],
  [
    'InvalidSignatureException "Signature expired"',
    awsError('InvalidSignatureException', 400, {
      message: 'Signature expired: 20261122T020000Z is now earlier than 20261122T020500Z',
    }),
    'dynamodb',
  ],
  ['TransactionConflictException', awsError('TransactionConflictException', 400), 'dynamodb'],
  [
    'ExecutionLimitExceeded (running executions end)',
    awsError('ExecutionLimitExceeded', 400),
    'stepfunctions',
  ],
];

/** [what, error, service, what the message must say] → fatal, with what to fix. */
const AWS_FATAL: [string, unknown, AwsService, RegExp[]][] = [
  [
    'AccessDeniedException',
    awsError('AccessDeniedException', 400, {
      message: 'User: arn:aws:sts::1:assumed-role/r/f is not authorized to perform: dynamodb:PutItem',
    }),
    'dynamodb',
    [/denied/, /dynamodb:PutItem/, /PipeStore/, /not authorized to perform/],
  ],
  [
    'AccessDenied (403)',
    awsError('AccessDenied', 403),
    'secretsmanager',
    [/denied/, /secretsmanager:PutItem/],
  ],
  [
    'UnrecognizedClientException (bad credentials)',
    awsError('UnrecognizedClientException', 400),
    'dynamodb',
    [/credentials/],
  ],
  [
    'InvalidSignatureException (not expired)',
    awsError('InvalidSignatureException', 400, {
      message: 'The request signature we calculated does not match',
    }),
    'dynamodb',
    [/credentials/],
  ],
  ['KMSAccessDeniedException', awsError('KMSAccessDeniedException', 400), 'dynamodb', [/KMS/, /kms:Decrypt/]],
  ['DecryptionFailure', awsError('DecryptionFailure', 400), 'secretsmanager', [/KMS/, /kms:Decrypt/]],
  [
    'ValidationException',
    awsError('ValidationException', 400, { message: 'One or more parameter values were invalid' }),
    'dynamodb',
    [/invalid/, /One or more parameter values/],
  ],
  ['InvalidParameterException', awsError('InvalidParameterException', 400), 'secretsmanager', [/invalid/]],
  ['InvalidArn', awsError('InvalidArn', 400), 'stepfunctions', [/invalid/]],
  [
    'ResourceNotFoundException',
    awsError('ResourceNotFoundException', 400, { message: 'Requested resource not found' }),
    'dynamodb',
    [/PipeStore/, /does not exist/, /deployed/],
  ],
  [
    'StateMachineDoesNotExist',
    awsError('StateMachineDoesNotExist', 400),
    'stepfunctions',
    [/PipeStore/, /does not exist/],
  ],
  ['ServiceQuotaExceededException', awsError('ServiceQuotaExceededException', 402), 'scheduler', [/quota/]],
  [
    'LimitExceededException from Secrets Manager (a quota, not throttling)',
    awsError('LimitExceededException', 400),
    'secretsmanager',
    [/quota/],
  ],
  [
    'a ConditionalCheckFailedException the store did not handle',
    awsError('ConditionalCheckFailedException', 400),
    'dynamodb',
    [/conditional/],
  ],
  [
    'an unknown client fault',
    awsError('BrandNewException', 400),
    'scheduler',
    [/not known to be transient/, /BrandNewException/],
  ],
  [
    'a plain bug inside the call',
    new TypeError('cannot read properties of undefined'),
    'dynamodb',
    [/cannot read properties/],
  ],
];

describe('AWS SDK errors (by their shape: name, $fault, $retryable, $metadata, Node codes)', () => {
  it.each(AWS_RETRYABLE)('%s → retry', (_what, error, service) => {
    const result = classifyAwsError(error, service, CALL);
    expect(result.disposition).toBe('retry');
    expect(result).toBeInstanceOf(service === 'dynamodb' ? StoreUnavailableError : TransientError);
    expect(ERROR_NAMES[result.name]).toBe('retry');
    expect(result.cause).toBe(error);
    expect(result.message).toContain('PutItem');
  });

  it.each(AWS_FATAL)('%s → fatal, saying what to fix', (_what, error, service, says) => {
    const result = classifyAwsError(error, service, CALL);
    expect(result).toBeInstanceOf(FatalError);
    expect(result.name).toBe('FatalError');
    expect(result.cause).toBe(error);
    expect(result.message).toContain('PutItem');
    for (const pattern of says) expect(result.message).toMatch(pattern);
  });

  it('passes PipeErrors through', () => {
    const named = new StoreUnavailableError('already named');
    expect(classifyAwsError(named, 'dynamodb')).toBe(named);
  });

  it('classifyError knows AWS errors by their shape, whichever adapter let them through', () => {
    expect(classifyError(awsError('ProvisionedThroughputExceededException', 400)).disposition).toBe('retry');
    expect(classifyError(awsError('InternalServerError', 500))).toBeInstanceOf(TransientError);
    expect(classifyError(socketError('ECONNRESET', 'socket hang up')).disposition).toBe('retry');
    expect(classifyError(awsError('ThrottlingException', 400)).message).toMatch(/AWS/);
    expect(classifyError(awsError('AccessDeniedException', 400))).toBeInstanceOf(FatalError);
    expect(classifyError(awsError('ValidationException', 400)).disposition).toBe('fatal');
  });

  it('errors built by the real SDK', async () => {
    const { ProvisionedThroughputExceededException, InternalServerError, ResourceNotFoundException } =
      await import('@aws-sdk/client-dynamodb');
    const $metadata = { httpStatusCode: 400, attempts: 3 };
    const throttled = new ProvisionedThroughputExceededException({ message: 'slow down', $metadata });
    expect(classifyAwsError(throttled, 'dynamodb')).toBeInstanceOf(StoreUnavailableError);
    expect(classifyError(throttled).disposition).toBe('retry');
    const internal = new InternalServerError({ message: 'oops', $metadata: { httpStatusCode: 500 } });
    expect(classifyAwsError(internal, 'dynamodb')).toBeInstanceOf(StoreUnavailableError);
    const missing = new ResourceNotFoundException({ message: 'Requested resource not found', $metadata });
    expect(classifyAwsError(missing, 'dynamodb', { operation: 'GetItem', resource: 'Pipes' })).toMatchObject({
      name: 'FatalError',
      message: expect.stringMatching(/Pipes/),
    });
    const { ExecutionLimitExceeded } = await import('@aws-sdk/client-sfn');
    expect(
      classifyAwsError(new ExecutionLimitExceeded({ message: 'too many', $metadata }), 'stepfunctions'),
    ).toBeInstanceOf(TransientError);
  });
});

import {
  AWS_ACCESS_DENIED_NAMES,
  AWS_BAD_CREDENTIALS_NAMES,
  AWS_INVALID_REQUEST_NAMES,
  AWS_KMS_NAMES,
  AWS_NETWORK_CODES,
  AWS_NOT_FOUND_NAMES,
  AWS_QUOTA_NAMES,
  AWS_SERVER_ERROR_STATUS,
  AWS_THROTTLING_NAMES,
  AWS_THROTTLING_STATUS,
  AWS_TRANSIENT_NAMES,
  AWS_TRANSIENT_NAMES_BY_SERVICE,
  CLICKHOUSE_FATAL_CODES,
  CLICKHOUSE_RETRYABLE_CODES,
  MONGO_FATAL_CODES,
  MONGO_HISTORY_LOST_CODES,
  MONGO_NETWORK_ERROR_NAMES,
  MONGO_RETRYABLE_CODES,
  MONGO_RETRYABLE_LABELS,
  NODE_NETWORK_CODES,
} from './error-codes.js';
import {
  ChangeStreamHistoryLostError,
  DestinationFatalError,
  DestinationUnavailableError,
  FatalError,
  PipeError,
  SourceFatalError,
  SourceUnavailableError,
  TransientError,
} from './errors.js';
import { StoreUnavailableError } from './store-errors.js';

const MONGO_CODE_BY_NAME = invert(MONGO_HISTORY_LOST_CODES, MONGO_RETRYABLE_CODES, MONGO_FATAL_CODES);
const CLICKHOUSE_CODE_BY_TYPE = invert(CLICKHOUSE_RETRYABLE_CODES, CLICKHOUSE_FATAL_CODES);

function invert(...tables: Readonly<Record<number, string>>[]): Map<string, number> {
  const byName = new Map<string, number>();
  for (const table of tables) {
    for (const [code, name] of Object.entries(table)) byName.set(name, Number(code));
  }
  return byName;
}

type Duck = {
  name?: unknown;
  $fault?: unknown;
  $retryable?: unknown;
  $metadata?: unknown;
  message?: unknown;
  code?: unknown;
  codeName?: unknown;
  type?: unknown;
  errorLabels?: unknown;
  hasErrorLabel?: unknown;
};

function asDuck(err: unknown): Duck {
  return typeof err === 'object' && err !== null ? (err as Duck) : {};
}

function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  const message = asDuck(err).message;
  if (typeof message === 'string') return message;
  return String(err);
}

function hasLabel(duck: Duck, label: string): boolean {
  if (Array.isArray(duck.errorLabels) && duck.errorLabels.includes(label)) return true;
  if (typeof duck.hasErrorLabel === 'function') {
    try {
      return (duck.hasErrorLabel as (label: string) => boolean)(label) === true;
    } catch {
      return false;
    }
  }
  return false;
}

function isMongoError(duck: Duck): boolean {
  return (
    (typeof duck.name === 'string' && duck.name.startsWith('Mongo')) ||
    typeof duck.codeName === 'string' ||
    // Numeric codes come from the MongoDB server only: ClickHouse's are strings, Node's are names.
    typeof duck.code === 'number' ||
    Array.isArray(duck.errorLabels) ||
    typeof duck.hasErrorLabel === 'function'
  );
}

/** ClickHouseError carries `code` as the numeric code in a string and `type` as its name. */
function isClickHouseError(duck: Duck): boolean {
  // Its `name` stays "Error" and `type` is missing when the message carries no type, but a
  // numeric code in a string is never a Node error code (those read ECONNRESET, …).
  return duck.name === 'ClickHouseError' || (typeof duck.code === 'string' && /^\d+$/.test(duck.code));
}

/** The driver hands back `code` as an Int32 wrapper (`{value}`) when a cursor asks for unpromoted values. */
function numericValue(code: unknown): number | undefined {
  if (typeof code === 'number') return code;
  const wrapped = (code as { _bsontype?: unknown; value?: unknown } | null)?.value;
  return typeof wrapped === 'number' && typeof (code as { _bsontype?: unknown })._bsontype === 'string'
    ? wrapped
    : undefined;
}

function mongoCode(duck: Duck): number | undefined {
  const numeric = numericValue(duck.code);
  if (numeric !== undefined) return numeric;
  if (typeof duck.codeName === 'string') return MONGO_CODE_BY_NAME.get(duck.codeName);
  return undefined;
}

function clickHouseCode(duck: Duck): number | undefined {
  if (typeof duck.code === 'string' && /^\d+$/.test(duck.code)) return Number(duck.code);
  if (typeof duck.code === 'number') return duck.code;
  if (typeof duck.type === 'string') return CLICKHOUSE_CODE_BY_TYPE.get(duck.type);
  return undefined;
}

/** The first of `codes` on the error or down its cause chain. */
function networkCodeIn(err: unknown, codes: readonly string[]): string | undefined {
  // A socket error can sit one level down, as the cause of a driver or HTTP client error.
  for (let current: unknown = err, depth = 0; current && depth < 4; depth++) {
    const code = asDuck(current).code;
    if (typeof code === 'string' && codes.includes(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

const nodeNetworkCode = (err: unknown): string | undefined => networkCodeIn(err, NODE_NETWORK_CODES);

/**
 * Amazon DocumentDB refuses a change stream where `modifyChangeStreams` has not switched them on
 * with 136, MongoDB's CappedPositionLost: nothing was lost, so it is no reason to resync.
 */
const DOCUMENTDB_STREAMS_OFF = /modifyChangeStreams has not been run/i;

function classifyMongo(err: unknown, duck: Duck): PipeError {
  const message = messageOf(err);
  const code = mongoCode(duck);
  const codeText = code === undefined ? '' : ` (code ${code})`;
  if (code === 136 && DOCUMENTDB_STREAMS_OFF.test(message)) {
    return new SourceFatalError(
      `Amazon DocumentDB has change streams switched off where the pipe reads${codeText}: ${message}; ` +
        'switch them on with db.adminCommand({modifyChangeStreams: 1, database: "<database>", ' +
        'collection: "", enable: true}) (database "" when the pipe reads several databases), docs/source.md',
      { cause: err },
    );
  }
  if (code !== undefined && code in MONGO_HISTORY_LOST_CODES) {
    return new ChangeStreamHistoryLostError(`${message}${codeText}`, { cause: err });
  }
  if (code !== undefined && code in MONGO_FATAL_CODES) {
    return new SourceFatalError(`MongoDB refused the request${codeText}: ${message}`, { cause: err });
  }
  const retryable =
    (code !== undefined && code in MONGO_RETRYABLE_CODES) ||
    MONGO_RETRYABLE_LABELS.some((label) => hasLabel(duck, label)) ||
    (typeof duck.name === 'string' && (MONGO_NETWORK_ERROR_NAMES as readonly string[]).includes(duck.name)) ||
    nodeNetworkCode(err) !== undefined;
  if (retryable) {
    return new SourceUnavailableError(`MongoDB is unavailable for now${codeText}: ${message}`, {
      cause: err,
    });
  }
  return new SourceFatalError(
    `MongoDB failed with an error not known to be transient${codeText}: ${message}`,
    {
      cause: err,
    },
  );
}

function classifyClickHouse(err: unknown, duck: Duck): PipeError {
  const message = messageOf(err);
  const code = clickHouseCode(duck);
  const codeText =
    code === undefined ? '' : ` (code ${code}${typeof duck.type === 'string' ? ` ${duck.type}` : ''})`;
  if (code !== undefined && code in CLICKHOUSE_RETRYABLE_CODES) {
    return new DestinationUnavailableError(`ClickHouse is overloaded or unreachable${codeText}: ${message}`, {
      cause: err,
    });
  }
  return new DestinationFatalError(`ClickHouse refused the request${codeText}: ${message}`, { cause: err });
}

/**
 * The one place that decides what an error means for the pipe. Unknown errors are fatal on
 * purpose: retrying a bug or an unexpected server answer forever hides it, while Failed shows
 * it to the user with its message, and a resync or resume is one command away.
 */
export function classifyError(err: unknown): PipeError {
  if (err instanceof PipeError) return err;
  const duck = asDuck(err);
  if (isAwsError(duck)) return classifyAwsError(err);
  if (isClickHouseError(duck)) return classifyClickHouse(err, duck);
  if (isMongoError(duck)) return classifyMongo(err, duck);
  const networkCode = nodeNetworkCode(err);
  if (networkCode !== undefined) {
    // A bare socket error carries no hint of which side failed; callers that know wrap it with
    // classifySourceError / classifyDestinationError instead.
    return new TransientError(`network error ${networkCode}: ${messageOf(err)}`, { cause: err });
  }
  return new FatalError(`unexpected error: ${messageOf(err)}`, { cause: err });
}

/** Classify an error known to come from the MongoDB side (a bare socket error becomes SourceUnavailable). */
export function classifySourceError(err: unknown): PipeError {
  if (err instanceof PipeError) return err;
  const duck = asDuck(err);
  if (isClickHouseError(duck)) return classifyClickHouse(err, duck);
  return classifyMongo(err, duck);
}

/** The HTTP client's own request timeout is a plain Error, not a server code. */
function isClientTimeout(err: unknown): boolean {
  return err instanceof Error && /\btime(d)?\s?out\b/i.test(err.message);
}

/** Classify an error known to come from the ClickHouse side (HTTP socket errors become DestinationUnavailable). */
export function classifyDestinationError(err: unknown): PipeError {
  if (err instanceof PipeError) return err;
  const duck = asDuck(err);
  const networkCode = nodeNetworkCode(err);
  if (!isClickHouseError(duck) && (networkCode !== undefined || isClientTimeout(err))) {
    return new DestinationUnavailableError(
      `ClickHouse is unreachable (${networkCode ?? 'request timeout'}): ${messageOf(err)}`,
      { cause: err },
    );
  }
  return classifyClickHouse(err, duck);
}

/** The AWS services this product calls, as adapters name them to classifyAwsError. */
export type AwsService = 'dynamodb' | 'secretsmanager' | 'scheduler' | 'stepfunctions' | 'lambda';

const AWS_SERVICES: Readonly<Record<AwsService, { label: string; iamPrefix: string }>> = Object.freeze({
  dynamodb: { label: 'DynamoDB', iamPrefix: 'dynamodb' },
  secretsmanager: { label: 'Secrets Manager', iamPrefix: 'secretsmanager' },
  scheduler: { label: 'EventBridge Scheduler', iamPrefix: 'scheduler' },
  stepfunctions: { label: 'Step Functions', iamPrefix: 'states' },
  lambda: { label: 'Lambda', iamPrefix: 'lambda' },
});

/** IAM actions whose name is not the API operation's. */
const IAM_ACTION_OF_OPERATION: Readonly<Record<string, string>> = Object.freeze({
  'lambda:Invoke': 'lambda:InvokeFunction',
  'lambda:InvokeAsync': 'lambda:InvokeFunction',
});

/** What the adapter knows of the call that failed; it goes into the message. */
export interface AwsCall {
  /** The API operation (`PutItem`, `GetSecretValue`, `StartExecution`); a command name works too. */
  operation?: string;
  /** The table, secret, schedule, state machine or function the call named. */
  resource?: string;
}

/**
 * An error of the AWS SDK (v3), known by its shape only, so the core imports no SDK: service
 * exceptions carry `$fault` and `$metadata`, and the SDK adds `$metadata` to socket errors too.
 */
function isAwsError(duck: Duck): boolean {
  return (
    (typeof duck.$metadata === 'object' && duck.$metadata !== null) ||
    duck.$fault === 'client' ||
    duck.$fault === 'server'
  );
}

function awsStatus(duck: Duck): number | undefined {
  const status = (duck.$metadata as { httpStatusCode?: unknown } | undefined)?.httpStatusCode;
  return typeof status === 'number' ? status : undefined;
}

const awsNetworkCode = (err: unknown): string | undefined => networkCodeIn(err, AWS_NETWORK_CODES);

const includes = (names: readonly string[], name: string): boolean => names.includes(name);

/** Why a retry is expected to work, or undefined when nothing says so. */
function awsRetryReason(
  err: unknown,
  duck: Duck,
  name: string,
  service: AwsService | undefined,
): string | undefined {
  const status = awsStatus(duck);
  const retryable = duck.$retryable as { throttling?: unknown } | undefined;
  if (
    includes(AWS_THROTTLING_NAMES, name) ||
    status === AWS_THROTTLING_STATUS ||
    (typeof retryable === 'object' && retryable !== null && retryable.throttling === true)
  ) {
    return 'was throttled';
  }
  const network = awsNetworkCode(err);
  if (network !== undefined) return `lost its connection (${network})`;
  if (/\bsocket hang up\b/i.test(messageOf(err))) return 'lost its connection (socket hang up)';
  if (name === 'TimeoutError' || name === 'RequestTimeout' || name === 'RequestTimeoutException') {
    return 'timed out';
  }
  if (name === 'InvalidSignatureException' && /signature expired/i.test(messageOf(err))) {
    return 'was signed with a clock the SDK corrects on the next attempt';
  }
  if (
    includes(AWS_TRANSIENT_NAMES, name) ||
    includes(AWS_TRANSIENT_NAMES_BY_SERVICE[service ?? ''] ?? [], name)
  ) {
    return 'failed for now';
  }
  if (typeof retryable === 'object' && retryable !== null)
    return 'failed for now (the SDK marks it retryable)';
  if (duck.$fault === 'server' || (status !== undefined && status >= AWS_SERVER_ERROR_STATUS)) {
    return 'failed on the service side';
  }
  return undefined;
}

/** `PutItemCommand` → `PutItem`. */
function operationName(call: AwsCall): string | undefined {
  return call.operation?.replace(/Command$/, '');
}

/**
 * Turns whatever an AWS SDK call threw into a named error, from its shape alone (name,
 * `$fault`, `$retryable`, `$metadata.httpStatusCode`, Node socket codes):
 *
 * - retried (StoreUnavailableError for DynamoDB, the pipe store; TransientError for the other
 *   services): throttling (the SDK's throttling names, HTTP 429, `$retryable.throttling`), the
 *   service's own failures (`$fault: 'server'`, HTTP 5xx, InternalServerError,
 *   ServiceUnavailable…), timeouts, broken or refused connections, and expired credentials or a
 *   skewed clock (Lambda refreshes its credentials, the SDK corrects its clock);
 * - fatal (FatalError), saying what to fix: access denied (which permission on which resource),
 *   refused credentials, a KMS key, a resource that does not exist, an invalid request, a
 *   quota, and any other client fault.
 */
export function classifyAwsError(err: unknown, service?: AwsService, call: AwsCall = {}): PipeError {
  if (err instanceof PipeError) return err;
  const duck = asDuck(err);
  const name = typeof duck.name === 'string' ? duck.name : 'Error';
  const message = messageOf(err);
  const label = service ? AWS_SERVICES[service].label : 'AWS';
  const operation = operationName(call);
  const what = `${label}${operation ? ` ${operation}` : ' call'}${call.resource ? ` on ${call.resource}` : ''}`;
  const status = awsStatus(duck);
  const answered = `${name}${status === undefined ? '' : `, HTTP ${status}`}`;
  const said = `AWS said: ${message}`;
  const options = { cause: err };

  const retry = awsRetryReason(err, duck, name, service);
  if (retry !== undefined) {
    const text = `${what} ${retry} (${answered}): retrying later is expected to work. ${said}`;
    return service === 'dynamodb'
      ? new StoreUnavailableError(text, options)
      : new TransientError(text, options);
  }
  if (!isAwsError(duck)) return new FatalError(`${what} failed unexpectedly: ${message}`, options);

  const failure = { name, what, answered, said, resource: call.resource ?? 'the resource it names' };
  return new FatalError(awsFatalMessage({ ...failure, service, operation }), options);
}

/** An AWS error as the fatal messages name it. */
interface AwsFailure {
  name: string;
  /** `<service> <operation> on <resource>`. */
  what: string;
  /** The error's name and HTTP status. */
  answered: string;
  /** `AWS said: <message>`. */
  said: string;
  resource: string;
  service: AwsService | undefined;
  operation: string | undefined;
}

/** What to fix, by the kind of refusal: a permission, credentials, a KMS key, a resource, a request, a quota. */
function awsFatalMessage(failure: AwsFailure): string {
  const { name, what, answered, said, resource } = failure;
  if (includes(AWS_ACCESS_DENIED_NAMES, name)) return awsDeniedMessage(failure);
  if (includes(AWS_BAD_CREDENTIALS_NAMES, name))
    return `${what} was refused: the AWS credentials were not accepted (${answered}); check the function's role, and that no stale AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY is set in its environment. ${said}`;
  if (includes(AWS_KMS_NAMES, name))
    return `${what} failed on the KMS key that encrypts ${resource} (${answered}): grant kms:Decrypt on that key to the function's role and check the key is enabled. ${said}`;
  if (includes(AWS_NOT_FOUND_NAMES, name))
    return `${what} failed: ${resource} does not exist (${answered}); check that the stack is deployed in this account and region and that the function's settings name it. ${said}`;
  if (includes(AWS_INVALID_REQUEST_NAMES, name))
    return `${what} was refused as invalid (${answered}): a parameter sent is wrong (a bug, or a misconfigured name or ARN). ${said}`;
  if (includes(AWS_QUOTA_NAMES, name))
    return `${what} reached a quota (${answered}): raise the service quota or remove what is no longer used. ${said}`;
  if (name === 'ConditionalCheckFailedException')
    return `${what}: a conditional write was refused where none was expected (${answered}), a bug. ${said}`;
  return `${what} failed with an error not known to be transient (${answered}). ${said}`;
}

/** Access denied names the IAM action to grant, on which resource. */
function awsDeniedMessage({ what, answered, said, resource, service, operation }: AwsFailure): string {
  const action = service && operation ? `${AWS_SERVICES[service].iamPrefix}:${operation}` : 'the action';
  const iamAction = IAM_ACTION_OF_OPERATION[action] ?? action;
  const passRole =
    service === 'scheduler' && /^(Create|Update)Schedule$/.test(operation ?? '')
      ? " (and iam:PassRole on the schedule's target role)"
      : '';
  return `${what} was denied (${answered}): the function's role needs ${iamAction}${passRole} on ${resource}; grant it in the role's policy. ${said}`;
}

/**
 * Runs one AWS SDK call and turns whatever it throws into a named error (classifyAwsError), the
 * way destinationCall does for ClickHouse. `expected` lets through the refusals the adapter
 * handles itself (e.g. a schedule that already exists).
 */
export async function awsCall<T>(
  service: AwsService,
  call: AwsCall,
  work: () => Promise<T>,
  expected?: (error: unknown) => boolean,
): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (expected?.(error)) throw error;
    throw classifyAwsError(error, service, call);
  }
}

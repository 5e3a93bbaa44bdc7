/** The server and socket error codes the classifier knows, with what each means for a pipe. */

/** MongoDB server codes meaning the change stream resume point is no longer in the oplog. */
export const MONGO_HISTORY_LOST_CODES: Readonly<Record<number, string>> = Object.freeze({
  286: 'ChangeStreamHistoryLost',
  136: 'CappedPositionLost',
});

/** MongoDB server codes of elections, shutdowns and lost cursors: the next attempt should work. */
export const MONGO_RETRYABLE_CODES: Readonly<Record<number, string>> = Object.freeze({
  43: 'CursorNotFound',
  91: 'ShutdownInProgress',
  189: 'PrimarySteppedDown',
  10107: 'NotWritablePrimary',
  11600: 'InterruptedAtShutdown',
  11602: 'InterruptedDueToReplStateChange',
  13435: 'NotPrimaryNoSecondaryOk',
  13436: 'NotPrimaryOrSecondary',
});

export const MONGO_FATAL_CODES: Readonly<Record<number, string>> = Object.freeze({
  280: 'ChangeStreamFatalError',
  18: 'AuthenticationFailed',
  13: 'Unauthorized',
});

export const MONGO_RETRYABLE_LABELS = [
  'ResumableChangeStreamError',
  'RetryableWriteError',
  'TransientTransactionError',
] as const;

export const MONGO_NETWORK_ERROR_NAMES = [
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoServerSelectionError',
  'MongoTopologyClosedError',
] as const;

/** Node socket error codes: the connection broke or never opened, whichever side it was to. */
export const NODE_NETWORK_CODES = ['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE'] as const;

export const CLICKHOUSE_RETRYABLE_CODES: Readonly<Record<number, string>> = Object.freeze({
  159: 'TIMEOUT_EXCEEDED',
  209: 'SOCKET_TIMEOUT',
  210: 'NETWORK_ERROR',
  252: 'TOO_MANY_PARTS',
  241: 'MEMORY_LIMIT_EXCEEDED',
  202: 'TOO_MANY_SIMULTANEOUS_QUERIES',
});

export const CLICKHOUSE_FATAL_CODES: Readonly<Record<number, string>> = Object.freeze({
  60: 'UNKNOWN_TABLE',
  81: 'UNKNOWN_DATABASE',
  62: 'SYNTAX_ERROR',
  516: 'AUTHENTICATION_FAILED',
  497: 'ACCESS_DENIED',
});

/**
 * AWS error names (the SDK's `name`, the service's `__type`) meaning "too many requests for
 * now": the call was refused before it did anything, so a later retry is safe and expected to
 * work. The SDK's own throttling list, plus what the services this product calls answer.
 */
export const AWS_THROTTLING_NAMES = [
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'SlowDown',
  'BandwidthLimitExceeded',
  'PriorRequestNotComplete',
  'TransactionInProgressException',
] as const;

/**
 * AWS error names of a failure on the service's side, a request that timed out, or credentials
 * or a clock the SDK sets right on the next attempt (Lambda refreshes its role's credentials, the
 * SDK corrects its clock skew): retrying the step later is expected to work.
 */
export const AWS_TRANSIENT_NAMES = [
  'InternalServerError',
  'InternalServerException',
  'InternalServiceError',
  'InternalServiceErrorException',
  'InternalFailure',
  'InternalError',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'ServiceException',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'ExpiredToken',
  'ExpiredTokenException',
  'RequestExpired',
  'RequestTimeTooSkewed',
  'RequestInTheFuture',
  'TransactionConflictException',
  'ReplicatedWriteConflictException',
] as const;

/** Transient only for the service named: elsewhere the same name means a quota was reached. */
export const AWS_TRANSIENT_NAMES_BY_SERVICE: Readonly<Record<string, readonly string[]>> = Object.freeze({
  // DynamoDB: too many control-plane operations at once.
  dynamodb: ['LimitExceededException'],
  // Step Functions: the account's open executions are at their limit until some end.
  stepfunctions: ['ExecutionLimitExceeded'],
});

/** The caller is not allowed to make the call: a grant on its role is missing. */
export const AWS_ACCESS_DENIED_NAMES = [
  'AccessDeniedException',
  'AccessDenied',
  'NotAuthorized',
  'UnauthorizedException',
  'UnauthorizedOperation',
] as const;

/** The credentials themselves were refused (not a missing grant). */
export const AWS_BAD_CREDENTIALS_NAMES = [
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
  'IncompleteSignature',
  'IncompleteSignatureException',
  'MissingAuthenticationToken',
  'MissingAuthenticationTokenException',
  'AuthFailure',
  'CredentialsProviderError',
] as const;

/** The KMS key behind the resource (a table, a secret) refused or is unusable. */
export const AWS_KMS_NAMES = [
  'KMSAccessDeniedException',
  'KMSDisabledException',
  'KMSInvalidStateException',
  'KMSNotFoundException',
  'KMSInvalidKeyUsageException',
  'DecryptionFailure',
] as const;

/** The resource the call names does not exist (or is being deleted). */
export const AWS_NOT_FOUND_NAMES = [
  'ResourceNotFoundException',
  'ResourceNotFound',
  'NotFoundException',
  'TableNotFoundException',
  'StateMachineDoesNotExist',
  'StateMachineDeleting',
  'ExecutionDoesNotExist',
] as const;

/** The request itself is wrong: a bug or a misconfigured name, ARN or parameter. */
export const AWS_INVALID_REQUEST_NAMES = [
  'ValidationException',
  'ValidationError',
  'InvalidParameterException',
  'InvalidParameterValueException',
  'InvalidParameterCombination',
  'InvalidRequestException',
  'InvalidRequestContentException',
  'InvalidInput',
  'InvalidArn',
  'InvalidName',
  'InvalidExecutionInput',
  'SerializationException',
  'MissingParameter',
  'MalformedQueryString',
] as const;

/** A quota of the account or the service was reached: raising it is the fix. */
export const AWS_QUOTA_NAMES = [
  'ServiceQuotaExceededException',
  'LimitExceededException',
  'ItemCollectionSizeLimitExceededException',
] as const;

/** HTTP statuses of throttling (429) and of the service's own failures, read from `$metadata`. */
export const AWS_THROTTLING_STATUS = 429;
export const AWS_SERVER_ERROR_STATUS = 500;

/**
 * Node socket codes of a connection to an AWS endpoint that broke, timed out or could not be
 * resolved for now (the SDK retries all of them too).
 */
export const AWS_NETWORK_CODES = [
  ...NODE_NETWORK_CODES,
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNABORTED',
  'ERR_HTTP2_STREAM_ERROR',
] as const;

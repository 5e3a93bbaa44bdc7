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

/** Server error codes the simulator raises or that fail points may inject, with their names. */
const CODE_NAMES: Readonly<Record<number, string>> = {
  1: 'InternalError',
  2: 'BadValue',
  6: 'HostUnreachable',
  7: 'HostNotFound',
  8: 'UnknownError',
  11: 'UserNotFound',
  13: 'Unauthorized',
  14: 'TypeMismatch',
  18: 'AuthenticationFailed',
  20: 'IllegalOperation',
  24: 'LockTimeout',
  26: 'NamespaceNotFound',
  43: 'CursorNotFound',
  48: 'NamespaceExists',
  50: 'MaxTimeMSExpired',
  59: 'CommandNotFound',
  63: 'StaleShardVersion',
  64: 'WriteConcernFailed',
  79: 'UnknownReplWriteConcern',
  89: 'NetworkTimeout',
  91: 'ShutdownInProgress',
  94: 'NotYetInitialized',
  95: 'NotSecondary',
  100: 'UnsatisfiableWriteConcern',
  112: 'WriteConflict',
  133: 'FailedToSatisfyReadPreference',
  134: 'ReadConcernMajorityNotAvailableYet',
  136: 'CappedPositionLost',
  150: 'StaleEpoch',
  175: 'QueryPlanKilled',
  189: 'PrimarySteppedDown',
  202: 'NetworkInterfaceExceededTimeLimit',
  234: 'RetryChangeStream',
  237: 'CursorKilled',
  251: 'NoSuchTransaction',
  256: 'TransactionCommitted',
  262: 'ExceededTimeLimit',
  280: 'ChangeStreamFatalError',
  286: 'ChangeStreamHistoryLost',
  352: 'UnsupportedOpQueryCommand',
  9001: 'SocketException',
  10107: 'NotWritablePrimary',
  11000: 'DuplicateKey',
  11600: 'InterruptedAtShutdown',
  11601: 'Interrupted',
  11602: 'InterruptedDueToReplStateChange',
  13388: 'StaleConfig',
  13435: 'NotPrimaryNoSecondaryOk',
  13436: 'NotPrimaryOrSecondary',
  50915: 'BackupCursorOpenConflictWithCheckpoint',
};

export function codeNameOf(code: number): string {
  return CODE_NAMES[code] ?? `Location${code}`;
}

/** Codes after which drivers retry a retryable write (the server labels them `RetryableWriteError`). */
export const RETRYABLE_WRITE_CODES: ReadonlySet<number> = new Set([
  6, 7, 89, 91, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436,
]);

/** Codes of the server's resumable change stream errors (`ResumableChangeStreamError`). */
export const RESUMABLE_CHANGE_STREAM_CODES: ReadonlySet<number> = new Set([
  6, 7, 63, 89, 91, 133, 150, 175, 189, 234, 262, 9001, 10107, 11600, 11602, 13388, 13435, 13436,
]);

/** The server's NonResumableChangeStreamError category (ChangeStreamFatalError, ChangeStreamHistoryLost). */
export const NON_RESUMABLE_CHANGE_STREAM_CODES: ReadonlySet<number> = new Set([280, 286]);

/** "Not primary" style errors, which also end a transaction with `TransientTransactionError`. */
export const NOT_PRIMARY_CODES: ReadonlySet<number> = new Set([91, 189, 10107, 11600, 11602, 13435, 13436]);

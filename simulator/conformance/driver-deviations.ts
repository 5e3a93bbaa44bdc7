/**
 * Where the `mongodb` driver under test builds a command differently from what a spec test
 * expects, whatever server answers it. The runner holds the simulator to the server's side of
 * each test; these differences are the client's side, so they would fail against a real server
 * too. Each is named, narrow (one command, one key, one value) and reported: a test that passes
 * only with one tolerated is counted apart, and `--strict` turns every tolerance off.
 */
import { isDocument } from './bson-types.js';

export interface DriverDeviation {
  id: string;
  /** Why it is the driver's doing, for the report. */
  description: string;
}

/**
 * Driver 7.x (`lib/sessions.js`) adds `wtimeout: 10000` to the write concern of every
 * `commitTransaction` and `abortTransaction` sent without `timeoutMS`, where the transactions
 * spec adds it only to a retried commit; the tests expect exactly the write concern they set.
 */
export const transactionWriteConcernTimeout: DriverDeviation = {
  id: 'driver-commit-wtimeout',
  description: 'driver added writeConcern.wtimeout 10000 to commitTransaction/abortTransaction',
};

const addedTimeoutMs = 10_000;
const endTransactionCommands = new Set(['commitTransaction', 'abortTransaction']);

/**
 * The recorded command without the driver's added `wtimeout`, when the deviation applies: the
 * command ends a transaction, its write concern carries exactly the driver's value, and the
 * expected write concern says nothing about `wtimeout`. Otherwise null (match as recorded).
 */
export function withoutAddedWriteConcernTimeout(
  commandName: unknown,
  expectedCommand: unknown,
  recordedCommand: unknown,
): Record<string, unknown> | null {
  if (typeof commandName !== 'string' || !endTransactionCommands.has(commandName)) return null;
  if (!isDocument(expectedCommand) || !isDocument(recordedCommand)) return null;
  const expected = expectedCommand.writeConcern;
  const recorded = recordedCommand.writeConcern;
  if (!isDocument(expected) || !isDocument(recorded)) return null;
  if ('wtimeout' in expected || Number(recorded.wtimeout) !== addedTimeoutMs) return null;
  const { wtimeout: _added, ...writeConcern } = recorded;
  return { ...recordedCommand, writeConcern };
}

/**
 * Tests the driver's own runner skips for a driver bug: the recorded event shows what the
 * driver did to the command after sending it, not what the server received. Skipped here
 * too (reported as skipped, never as passed) unless `--strict`.
 */
export const driverSkips: ReadonlyArray<{ file: string; description: string; reason: string }> = [
  {
    file: 'transaction-options.json',
    description: 'transaction options inherited from client',
    reason:
      'driver bug NODE-5924: the driver adds afterClusterTime to the readConcern document of an already-sent command',
  },
];

export function driverSkipReason(file: string, description: string): string | undefined {
  const skip = driverSkips.find((entry) => file.endsWith(entry.file) && entry.description === description);
  return skip?.reason;
}

/** `expectError` assertions against the error an operation raised. */
import { MongoBulkWriteError, MongoError, MongoOperationTimeoutError, MongoServerError } from 'mongodb';
import { isDocument } from './bson-types.js';
import { AssertionFailure, TestFileError, UnsupportedFeature } from './errors.js';
import type { EntityLookup } from './matcher.js';
import { matchValue } from './matcher.js';
import { bulkWriteDocument } from './operations/results.js';

function labelsOf(error: unknown): string[] {
  return error instanceof MongoError ? error.errorLabels : [];
}

/** One line naming the error's class, code and labels, for failure reasons. */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = error instanceof MongoError && error.code !== undefined ? ` code=${String(error.code)}` : '';
  const labels = labelsOf(error);
  return `${error.name}${code}${labels.length ? ` labels=${labels.join(',')}` : ''}: ${error.message}`;
}

/** The partial result an error carries, as the spec's `expectResult` on errors sees it. */
function resultOfError(error: unknown): unknown {
  if (error instanceof MongoBulkWriteError) return bulkWriteDocument(error.result);
  return undefined;
}

export function checkExpectedError(expected: unknown, error: unknown, entities: EntityLookup): void {
  if (!isDocument(expected)) throw new TestFileError('expectError must be a document');
  const fail = (what: string) => {
    throw new AssertionFailure(`${what}; error was ${describeError(error)}`);
  };
  for (const [key, value] of Object.entries(expected)) {
    switch (key) {
      case 'isError':
        break;
      case 'isClientError':
        if ((value === true) !== !(error instanceof MongoServerError))
          fail(`expected isClientError ${String(value)}`);
        break;
      case 'isTimeoutError':
        if ((value === true) !== error instanceof MongoOperationTimeoutError)
          fail(`expected isTimeoutError ${value}`);
        break;
      case 'errorContains': {
        const message = error instanceof Error ? error.message : String(error);
        if (!message.toLowerCase().includes(String(value).toLowerCase()))
          fail(`expected message containing "${value}"`);
        break;
      }
      case 'errorCode':
        if (!(error instanceof MongoError) || error.code !== value)
          fail(`expected error code ${String(value)}`);
        break;
      case 'errorCodeName': {
        const codeName = error instanceof MongoServerError ? error.codeName : undefined;
        if (codeName?.toLowerCase() !== String(value).toLowerCase())
          fail(`expected codeName ${String(value)}, got ${String(codeName)}`);
        break;
      }
      case 'errorLabelsContain':
        for (const label of value as string[]) {
          if (!labelsOf(error).includes(label)) fail(`expected error label ${label}`);
        }
        break;
      case 'errorLabelsOmit':
        for (const label of value as string[]) {
          if (labelsOf(error).includes(label)) fail(`expected no error label ${label}`);
        }
        break;
      case 'errorResponse': {
        const response = error instanceof MongoServerError ? error.errorResponse : undefined;
        const reason = matchValue(value, response, { root: true, entities });
        if (reason) fail(`errorResponse mismatch: ${reason}`);
        break;
      }
      case 'expectResult': {
        const reason = matchValue(value, resultOfError(error), { root: true, entities });
        if (reason) fail(`result on error mismatch: ${reason}`);
        break;
      }
      default:
        throw new UnsupportedFeature(`expectError assertion: ${key}`);
    }
  }
}

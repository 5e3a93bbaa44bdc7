import {
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

export * from './error-codes.js';
export { ERROR_CLASSES, ERROR_NAMES, errorNamesWith } from './error-names.js';

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

function nodeNetworkCode(err: unknown): string | undefined {
  // A socket error can sit one level down, as the cause of a driver or HTTP client error.
  for (let current: unknown = err, depth = 0; current && depth < 4; depth++) {
    const code = asDuck(current).code;
    if (typeof code === 'string' && (NODE_NETWORK_CODES as readonly string[]).includes(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function classifyMongo(err: unknown, duck: Duck): PipeError {
  const message = messageOf(err);
  const code = mongoCode(duck);
  const codeText = code === undefined ? '' : ` (code ${code})`;
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

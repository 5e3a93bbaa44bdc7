/**
 * Opening a change stream: validates the `$changeStream` stage as the server does, works out where
 * the stream starts (fresh, resumeAfter, startAfter, startAtOperationTime) and registers its
 * cursor. STORAGE's `aggregate` calls this when the pipeline starts with `$changeStream`, then
 * serves the first batch from the returned cursor like any other.
 */
import { type Document, Timestamp } from 'bson';
import {
  type CatalogReader,
  type ClusterClock,
  type CommandContext,
  CommandError,
  type CursorRegistry,
  type ServerCursor,
} from '../contract.js';
import { compareTimestamps } from '../oplog/clock.js';
import type { Oplog } from '../oplog/oplog.js';
import {
  decodeResumeToken,
  HIGH_WATER_MARK,
  highWaterMarkToken,
  type ResumeTokenDocument,
} from './resume-token.js';
import { type ChangeStreamTarget, cursorNamespace, resolveScope } from './scope.js';
import {
  ChangeStreamCursor,
  type FullDocumentMode,
  freshStartTime,
  type PreImageMode,
  type StartPosition,
} from './stream-cursor.js';
import { compileUserPipeline } from './user-pipeline.js';

export interface ChangeStreamDeps {
  oplog: Oplog;
  catalog: CatalogReader;
  cursors: CursorRegistry;
  clock: ClusterClock;
}

export interface ChangeStreamCursorOptions {
  batchSize?: number;
}

/** Opens and registers a change stream cursor; throws `CommandError` like the server would. */
export type OpenChangeStream = (
  ctx: CommandContext,
  target: ChangeStreamTarget,
  stageOptions: Document,
  restOfPipeline: Document[],
  cursorOptions?: ChangeStreamCursorOptions,
) => ServerCursor;

const KNOWN_OPTIONS = new Set([
  'fullDocument',
  'fullDocumentBeforeChange',
  'resumeAfter',
  'startAfter',
  'startAtOperationTime',
  'showExpandedEvents',
  'allChangesForCluster',
  'showSystemEvents',
  'allowToRunOnConfigDB',
  'allowToRunOnSystemNS',
]);
const FULL_DOCUMENT_MODES = new Set<FullDocumentMode>([
  'default',
  'updateLookup',
  'whenAvailable',
  'required',
]);
const PRE_IMAGE_MODES = new Set<PreImageMode>(['off', 'whenAvailable', 'required']);

function enumOption<T extends string>(options: Document, field: string, allowed: Set<T>, fallback: T): T {
  const value = options[field];
  if (value === undefined) return fallback;
  if (typeof value !== 'string') {
    throw new CommandError(
      14,
      'TypeMismatch',
      `BSON field '$changeStream.${field}' is the wrong type, expected type 'string'`,
    );
  }
  if (!allowed.has(value as T)) {
    throw new CommandError(
      2,
      'BadValue',
      `Enumeration value '${value}' for field '$changeStream.${field}' is not a valid value.`,
    );
  }
  return value as T;
}

function boolOption(options: Document, field: string): boolean {
  const value = options[field];
  if (value === undefined) return false;
  if (typeof value !== 'boolean') {
    throw new CommandError(
      14,
      'TypeMismatch',
      `BSON field '$changeStream.${field}' is the wrong type, expected type 'bool'`,
    );
  }
  return value;
}

export function validateStageOptions(options: unknown): Document {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new CommandError(50808, 'Location50808', '$changeStream stage expects a document as argument');
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key)) {
      throw new CommandError(
        40415,
        'Location40415',
        `BSON field '$changeStream.${key}' is an unknown field.`,
      );
    }
  }
  const given = ['resumeAfter', 'startAfter', 'startAtOperationTime'].filter((key) => key in options);
  if (given.length > 1) {
    throw new CommandError(
      40674,
      'Location40674',
      'Only one type of resume option is allowed, but multiple were found.',
    );
  }
  return options as Document;
}

function startPosition(options: Document, oplog: Oplog, clock: ClusterClock): StartPosition {
  const token = options.resumeAfter ?? options.startAfter;
  let position: StartPosition;
  if (token !== undefined) {
    const data = decodeResumeToken(token);
    if (data.fromInvalidate && options.resumeAfter !== undefined) {
      throw new CommandError(
        260,
        'InvalidResumeToken',
        "Attempting to resume a change stream using 'resumeAfter' is not allowed from an invalidate notification.",
      );
    }
    const given = token as ResumeTokenDocument;
    const tokenDoc: ResumeTokenDocument = { _data: given._data.toUpperCase() };
    if (given._typeBits) tokenDoc._typeBits = given._typeBits;
    position =
      data.tokenType === HIGH_WATER_MARK
        ? { startAt: data.clusterTime, skipThrough: tokenDoc, initialToken: tokenDoc }
        : { startAt: data.clusterTime, mustFind: data, initialToken: tokenDoc };
  } else if (options.startAtOperationTime !== undefined) {
    const at = options.startAtOperationTime;
    if (!(at instanceof Timestamp)) {
      throw new CommandError(
        14,
        'TypeMismatch',
        "BSON field '$changeStream.startAtOperationTime' is the wrong type, expected type 'timestamp'",
      );
    }
    position = { startAt: at, initialToken: highWaterMarkToken(at) };
  } else {
    const startAt = freshStartTime(oplog, clock.current());
    return { startAt, initialToken: highWaterMarkToken(startAt) };
  }
  const dropped = oplog.droppedThrough();
  if (dropped && compareTimestamps(dropped, position.startAt) >= 0) {
    throw new CommandError(
      286,
      'ChangeStreamHistoryLost',
      'Resume of change stream was not possible, as the resume point may no longer be in the oplog.',
    );
  }
  return position;
}

/**
 * A mongos opens its shards' streams with `needsMerge: true`: a shard then only checks that it
 * can resume from the token's time (the event may live on another shard) instead of requiring
 * the event itself, as the server's DocumentSourceShardCheckResumability does.
 */
function mergeable(start: StartPosition, body: Document): StartPosition {
  if (body.needsMerge !== true || !start.mustFind) return start;
  return { startAt: start.startAt, skipThrough: start.initialToken, initialToken: start.initialToken };
}

export function createChangeStreamOpener(deps: ChangeStreamDeps): OpenChangeStream {
  return (ctx, target, stageOptions, restOfPipeline) => {
    const options = validateStageOptions(stageOptions);
    const scope = resolveScope(target, boolOption(options, 'allChangesForCluster'));
    const settings = {
      scope,
      fullDocument: enumOption(options, 'fullDocument', FULL_DOCUMENT_MODES, 'default'),
      fullDocumentBeforeChange: enumOption(options, 'fullDocumentBeforeChange', PRE_IMAGE_MODES, 'off'),
      showExpandedEvents: boolOption(options, 'showExpandedEvents'),
      transform: compileUserPipeline(restOfPipeline),
    };
    const start = mergeable(startPosition(options, deps.oplog, deps.clock), ctx.body);
    const sources = { oplog: deps.oplog, catalog: deps.catalog };
    const lsid = ctx.session?.lsid;
    return deps.cursors.add(
      (id) => new ChangeStreamCursor(id, cursorNamespace(scope), settings, sources, start, lsid),
    );
  };
}

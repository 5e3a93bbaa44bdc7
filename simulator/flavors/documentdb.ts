/**
 * The Amazon DocumentDB flavour of a replica set: what DocumentDB does differently that a
 * change-data pipe meets (simulator/README.md "DocumentDB flavour" cites the AWS pages).
 *
 * - Change streams are off until `modifyChangeStreams` enables them for a collection, a
 *   database (`collection: ''`) or the cluster (`database: ''`); opening one elsewhere fails
 *   with 136 "modifyChangeStreams has not been run for this collection/database/cluster".
 * - `$listChangeStreams` (an aggregation stage only DocumentDB has) lists what is enabled.
 * - Change stream events are kept for `change_stream_log_retention_duration` (default 3 h):
 *   older history is dropped when a stream opens, so resuming from before it fails with 286.
 * - `$changeStream` takes only `fullDocument` (`default`/`updateLookup`), `resumeAfter`,
 *   `startAfter`, `startAtOperationTime` and `allChangesForCluster`.
 * - Retryable writes are refused (drivers must connect with `retryWrites=false`).
 * - `buildInfo` answers a MongoDB API version (5.0.0), `hello` the matching wire version, and
 *   `getCmdLineOpts` does not exist.
 */
import { type Document, Long, Timestamp } from 'bson';
import { type CommandContext, CommandError, type CommandHandler } from '../contract.js';
import type { Oplog } from '../oplog/oplog.js';
import type { OpenChangeStream } from '../storage/command-support.js';
import { compileMatcher } from '../storage/matcher.js';
import type { FlavorHooks } from './flavor.js';

/** DocumentDB's default change stream retention: 3 hours (10 800 s). */
export const DOCUMENTDB_DEFAULT_RETENTION_SECONDS = 10_800;

/** DocumentDB 5.0: the MongoDB API version it answers, and that version's wire version. */
const API_VERSION = '5.0.0';
const API_WIRE_VERSION = 13;

/** Options DocumentDB's `$changeStream` documents; anything else is refused. */
const SUPPORTED_STAGE_OPTIONS = new Set([
  'fullDocument',
  'resumeAfter',
  'startAfter',
  'startAtOperationTime',
  'allChangesForCluster',
]);

const WRITE_COMMANDS = ['insert', 'update', 'delete', 'findAndModify', 'findandmodify'];

export interface DocumentDbOptions {
  oplog: Oplog;
  /** `change_stream_log_retention_duration` in seconds (default 10 800). */
  retentionSeconds?: number;
  /** Wall clock (ms), as the oplog's. */
  now?: () => number;
}

/** One `modifyChangeStreams` switch; '' stands for every database or every collection. */
export interface ChangeStreamSwitch {
  database: string;
  collection: string;
}

export class DocumentDbFlavor implements FlavorHooks {
  readonly name = 'documentdb' as const;
  private readonly enabled: ChangeStreamSwitch[] = [];
  private readonly retentionSeconds: number;
  private readonly now: () => number;

  constructor(private readonly options: DocumentDbOptions) {
    this.retentionSeconds = options.retentionSeconds ?? DOCUMENTDB_DEFAULT_RETENTION_SECONDS;
    this.now = options.now ?? Date.now;
  }

  /** What `$listChangeStreams` lists. */
  switches(): ChangeStreamSwitch[] {
    return this.enabled.map((entry) => ({ ...entry }));
  }

  admin(handlers: Record<string, CommandHandler>): Record<string, CommandHandler> {
    const { getCmdLineOpts: _absent, ...rest } = handlers;
    const hello = rest.hello;
    const buildInfo = rest.buildInfo;
    if (!hello || !buildInfo) throw new Error('the DocumentDB flavour needs hello and buildInfo');
    const documentDbHello = async (ctx: CommandContext) => ({
      ...(await hello(ctx)),
      maxWireVersion: API_WIRE_VERSION,
    });
    const documentDbBuildInfo = async (ctx: CommandContext) => ({
      ...(await buildInfo(ctx)),
      version: API_VERSION,
      versionArray: [5, 0, 0, 0],
    });
    return {
      ...rest,
      hello: documentDbHello,
      isMaster: documentDbHello,
      buildInfo: documentDbBuildInfo,
      buildinfo: documentDbBuildInfo,
      modifyChangeStreams: (ctx) => this.modifyChangeStreams(ctx),
    };
  }

  storage(handlers: Record<string, CommandHandler>): Record<string, CommandHandler> {
    const wrapped: Record<string, CommandHandler> = { ...handlers };
    for (const name of WRITE_COMMANDS) {
      const write = handlers[name];
      if (write) wrapped[name] = (ctx) => refuseRetryableWrite(ctx, write);
    }
    const aggregate = handlers.aggregate;
    if (aggregate) wrapped.aggregate = (ctx) => this.aggregate(ctx, aggregate);
    return wrapped;
  }

  changeStreams(open: OpenChangeStream): OpenChangeStream {
    return (ctx, target, stageOptions, rest, cursorOptions) => {
      refuseUnsupportedOptions(stageOptions);
      this.requireEnabled(target, stageOptions?.allChangesForCluster === true);
      this.dropExpiredHistory();
      return open(ctx, target, stageOptions, rest, cursorOptions);
    };
  }

  private modifyChangeStreams(ctx: CommandContext): Document {
    if (ctx.db !== 'admin')
      throw new CommandError(
        13,
        'Unauthorized',
        'modifyChangeStreams may only be run against the admin database.',
      );
    const { database, collection, enable } = ctx.body;
    if (typeof database !== 'string' || typeof collection !== 'string' || typeof enable !== 'boolean')
      throw new CommandError(
        14,
        'TypeMismatch',
        'modifyChangeStreams needs database (string), collection (string) and enable (bool)',
      );
    if (database === '' && collection !== '')
      throw new CommandError(2, 'BadValue', 'a collection needs its database');
    const index = this.enabled.findIndex(
      (entry) => entry.database === database && entry.collection === collection,
    );
    if (enable && index < 0) this.enabled.push({ database, collection });
    if (!enable && index >= 0) this.enabled.splice(index, 1);
    return { ok: 1 };
  }

  private aggregate(ctx: CommandContext, aggregate: CommandHandler) {
    const pipeline = ctx.body.pipeline;
    const first = Array.isArray(pipeline) ? (pipeline[0] as Document | undefined) : undefined;
    if (!first || !('$listChangeStreams' in first)) return aggregate(ctx);
    if (ctx.db !== 'admin' || ctx.body.aggregate !== 1)
      throw new CommandError(
        73,
        'InvalidNamespace',
        '$listChangeStreams must be run with {aggregate: 1} on admin',
      );
    let listed: Document[] = this.switches();
    for (const stage of (pipeline as Document[]).slice(1)) {
      const matcher = stage.$match ? compileMatcher(stage.$match as Document) : null;
      if (!matcher)
        throw new CommandError(40324, 'Location40324', 'only $match may follow $listChangeStreams here');
      listed = listed.filter(matcher);
    }
    return { cursor: { id: Long.ZERO, ns: 'admin.$cmd.aggregate', firstBatch: listed }, ok: 1 };
  }

  /** DocumentDB's rule: a switch covers its collection, or every collection of its database, or all. */
  private requireEnabled(target: { db: string; collection: string | null }, cluster: boolean): void {
    const covers = (entry: ChangeStreamSwitch) =>
      entry.database === '' ||
      (!cluster &&
        entry.database === target.db &&
        (entry.collection === '' || entry.collection === target.collection));
    if (this.enabled.some(covers)) return;
    throw new CommandError(
      136,
      'CappedPositionLost',
      'modifyChangeStreams has not been run for this collection/database/cluster',
    );
  }

  /** Events older than the retention are gone, as DocumentDB purges its change stream log. */
  private dropExpiredHistory(): void {
    const horizon = Math.floor(this.now() / 1000) - this.retentionSeconds;
    if (horizon > 0) this.options.oplog.truncateBefore(new Timestamp({ t: horizon, i: 0 }));
  }
}

function refuseUnsupportedOptions(stageOptions: Document | undefined): void {
  for (const key of Object.keys(stageOptions ?? {})) {
    if (!SUPPORTED_STAGE_OPTIONS.has(key))
      throw new CommandError(303, 'Location303', `Feature not supported: $changeStream option ${key}`);
  }
  const fullDocument = stageOptions?.fullDocument;
  if (fullDocument !== undefined && fullDocument !== 'default' && fullDocument !== 'updateLookup')
    throw new CommandError(303, 'Location303', `Feature not supported: fullDocument ${String(fullDocument)}`);
}

function refuseRetryableWrite(ctx: CommandContext, write: CommandHandler) {
  if (ctx.session?.txnNumber !== undefined && !ctx.session.inTransaction)
    throw new CommandError(301, 'Location301', 'Retryable writes are not supported');
  return write(ctx);
}

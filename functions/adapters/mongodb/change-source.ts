import { BSON, type Document, type MongoClient } from 'mongodb';
import { classifySourceError } from '../../core/classify.js';
import { changeEventAction } from '../../core/rows.js';
import { namespaceKey } from '../../core/table-key.js';
import type { Log } from '../../ports/log.js';
import type {
  ChangeBatch,
  ChangeBatchRequest,
  ChangeSource,
  ClusterTime,
  SourceChangeEvent,
  SourceNamespace,
  StartPointInput,
  StoppedTable,
} from '../../ports/source.js';
import {
  type ChangeCursor,
  isResumableChangeStreamError,
  openChangeCursor,
  postBatchResumeToken,
} from './change-cursor.js';
import { changeStreamPipeline } from './change-pipeline.js';
import { type RawChangeEvent, readChangeEvent } from './raw-change-event.js';
import {
  decodeStoredToken,
  encodeResumeToken,
  isTokenNotFound,
  normalizeErrorCode,
  type ResumeAttempt,
  resumeAttempt,
  type StreamPosition,
  toStoreClusterTime,
} from './resume-plan.js';
import { DESERIALIZE_OPTIONS } from './snapshot-source.js';
import { tokenFacts } from './token-time.js';

export interface MongoChangeSourceOptions {
  namespaces: readonly SourceNamespace[];
  excludedOperationTypes?: readonly string[];
  /** Events per server round trip (default 1000). */
  batchSize?: number;
  /** The clock a read's deadline (`ChangeBatchRequest.deadline`) is measured on (default Date.now). */
  now?: () => number;
  /** Where the lines saying how the stream was opened go. */
  log: Log;
}

/** Drains empty getMores at most this long per call, so an idle batch still returns promptly. */
const MIN_AWAIT_MS = 10;
/** A read that goes on to its deadline waits this long per empty getMore, so it ends close to it. */
const FOLLOW_AWAIT_MS = 250;

export class MongoChangeSource implements ChangeSource {
  private readonly namespaces: readonly SourceNamespace[];
  private readonly pipeline: Document[];
  private readonly log: Log;
  private lastMethod: ResumeAttempt['method'] | null = null;

  constructor(
    private readonly client: MongoClient,
    private readonly options: MongoChangeSourceOptions,
  ) {
    if (options.namespaces.length === 0)
      throw new RangeError('a change source needs at least one collection');
    this.namespaces = options.namespaces;
    this.pipeline = changeStreamPipeline(options.namespaces, options.excludedOperationTypes ?? []);
    this.log = options.log;
  }

  async captureStartPoint(): Promise<StartPointInput> {
    const cursor = this.open({}, 100);
    try {
      const event = (await cursor.tryNext()) as Uint8Array | null;
      // A fresh stream starts "now": an event in its first batch is replayed by starting at its time.
      if (event !== null) return { token: null, clusterTime: readChangeEvent(event).clusterTime };
      const token = postBatchResumeToken(cursor);
      if (token === null) throw new TypeError('the server sent no post-batch resume token');
      return { token, clusterTime: clusterTimeOf(token) };
    } catch (err) {
      throw classifySourceError(normalizeErrorCode(err));
    } finally {
      await cursor.close().catch(() => undefined);
    }
  }

  async readBatch(request: ChangeBatchRequest): Promise<ChangeBatch> {
    if (!(request.maxEvents >= 1 && request.maxBytes >= 1))
      throw new RangeError('maxEvents and maxBytes must be ≥ 1');
    let attempt: ResumeAttempt = resumeAttempt(request);
    let resumedAfterError = false;
    for (;;) {
      try {
        const batch = await this.drain(attempt, request);
        // Said once per way of opening: a run reopens the stream for every batch.
        if (attempt.method !== this.lastMethod)
          this.log.info(`change stream opened with ${attempt.method}`, { resumeMethod: attempt.method });
        this.lastMethod = attempt.method;
        return batch;
      } catch (err) {
        normalizeErrorCode(err);
        if (isTokenNotFound(err) && attempt.fallback !== null) {
          this.log.warn(
            `change stream ${attempt.method}: the server no longer has the token; falling back to ${attempt.fallback.method}`,
            { resumeMethod: attempt.method, fallback: attempt.fallback.method },
          );
          attempt = attempt.fallback;
          continue;
        }
        // As the driver's ChangeStream does: reopen once from the same point after a resumable error.
        if (!resumedAfterError && isResumableChangeStreamError(err)) {
          resumedAfterError = true;
          this.log.warn('change stream interrupted before any event; reopening it', { error: String(err) });
          continue;
        }
        throw classifySourceError(err);
      }
    }
  }

  private open(
    position: StreamPosition | Record<string, never>,
    awaitMs: number,
    batchSize?: number,
  ): ChangeCursor {
    return openChangeCursor(this.client, {
      position,
      pipeline: this.pipeline,
      namespaces: this.namespaces,
      awaitMs: Math.max(MIN_AWAIT_MS, Math.floor(awaitMs)),
      batchSize: batchSize ?? this.options.batchSize ?? 1000,
    });
  }

  /**
   * Reads until caught up, or the event / byte / time bounds are hit, or a table-ending event
   * arrives; then closes the stream (a run reopens it from the committed point for its next batch).
   * Caught up is an empty getMore after the first reply, or, under a steady write load that
   * never leaves one, the first cluster time of a second after the one this read began in: the batch
   * then ends after every event of that cluster time (a transaction is never split), so events
   * wait at most about one read, not the whole time budget. With `stopWhenCaughtUp: false` the
   * read goes on to the deadline, and counts as caught up only when its last reply was empty.
   * A resumable error after some events ends the batch there, as a bound would.
   */
  private async drain(attempt: ResumeAttempt, request: ChangeBatchRequest): Promise<ChangeBatch> {
    const read = new BatchRead(request, this.options.now ?? Date.now, startToken(attempt.position));
    const cursor = this.open(
      attempt.position,
      read.awaitMs(),
      Math.min(request.maxEvents, this.options.batchSize ?? 1000),
    );
    try {
      while (!read.hitBound()) {
        const event = (await cursor.tryNext()) as Uint8Array | null;
        const replyEnded = cursor.bufferedCount() === 0;
        const afterReply = replyEnded ? postBatchResumeToken(cursor) : null;
        if (event === null) read.emptyReply(afterReply);
        else read.take(event, afterReply, (bytes) => this.stoppedBy(bytes));
        if (read.endedBy !== null) break;
      }
    } catch (err) {
      if (!(read.events.length > 0 && isResumableChangeStreamError(err))) throw err;
      read.endedBy = 'deadline';
    } finally {
      await cursor.close().catch(() => undefined);
    }
    return read.batch(attempt.method);
  }

  /** The mapped tables a drop / rename / dropDatabase / invalidate event ends, with the reason. */
  private stoppedBy(bytes: Uint8Array): StoppedTable[] {
    const event = BSON.deserialize(bytes, DESERIALIZE_OPTIONS);
    const type = String(event.operationType);
    const ns = (event.ns ?? {}) as { db?: string; coll?: string };
    const to = event.to as { db?: string; coll?: string } | undefined;
    const affected = this.namespaces.filter((namespace) => {
      if (type === 'invalidate') return true;
      if (type === 'dropDatabase') return namespace.db === ns.db;
      return namespace.db === ns.db && namespace.coll === ns.coll;
    });
    const reason = (namespace: SourceNamespace): string => {
      const name = namespaceKey(namespace);
      switch (type) {
        case 'drop':
          return `collection ${name} was dropped`;
        case 'rename':
          return `collection ${name} was renamed to ${to?.db ?? '?'}.${to?.coll ?? '?'}`;
        case 'dropDatabase':
          return `database ${namespace.db} was dropped`;
        default:
          return `the change stream was invalidated (${name} can no longer be followed)`;
      }
    };
    return affected.map((namespace) => ({ namespace, operationType: type, reason: reason(namespace) }));
  }
}

/** The token a stream opened with: where it stands until a reply says otherwise. */
function startToken(position: StreamPosition | Record<string, never>): string | null {
  if ('resumeAfter' in position) return encodeResumeToken(position.resumeAfter);
  if ('startAfter' in position) return encodeResumeToken(position.startAfter);
  return null;
}

function clusterTimeOf(token: string): ClusterTime {
  return toStoreClusterTime(tokenFacts(decodeStoredToken(token)).clusterTime);
}

/** One drain's progress: what it read, and what ended it (a bound, the caught-up point, a table's end). */
class BatchRead {
  readonly events: SourceChangeEvent[] = [];
  readonly tablesStopped: StoppedTable[] = [];
  endedBy: ChangeBatch['endedBy'] | null = null;
  private bytes = 0;
  private emptyReplies = 0;
  private lastReplyEmpty = false;
  private caughtUpAt: ClusterTime | null = null;
  /** Where the stream stands: the last event's token, or the post-batch token once a reply is used up. */
  private streamToken: string | null;
  private lastRead: RawChangeEvent | null = null;
  /** The last event read, when the stream stands at it (not at a post-batch token). */
  private atEvent: RawChangeEvent | null = null;
  private readOnePast = false;
  private readonly startedAt: number;
  private readonly untilCaughtUp: boolean;
  /** Cluster times count whole seconds: an event of a later second was written after this read began. */
  private readonly afterStartSeconds: number;

  constructor(
    private readonly request: ChangeBatchRequest,
    private readonly now: () => number,
    startToken: string | null,
  ) {
    this.startedAt = now();
    this.untilCaughtUp = request.stopWhenCaughtUp !== false;
    this.afterStartSeconds = Math.floor(this.startedAt / 1000) + 1;
    this.streamToken = startToken;
  }

  /** How long one getMore waits for events. */
  awaitMs(): number {
    const { request } = this;
    return this.untilCaughtUp
      ? Math.min(request.maxWaitMs, Math.max(0, request.deadline - this.startedAt))
      : Math.min(FOLLOW_AWAIT_MS, request.maxWaitMs);
  }

  /** Ends the read on the events, bytes or time bound, checked before each reply is awaited. */
  hitBound(): boolean {
    const { request } = this;
    if (this.events.length >= request.maxEvents) this.endedBy = 'max-events';
    else if (this.bytes >= request.maxBytes) this.endedBy = 'max-bytes';
    else if (this.now() >= request.deadline) this.endedBy = this.lastReplyEmpty ? 'caught-up' : 'deadline';
    return this.endedBy !== null;
  }

  /** The aggregate's first reply is empty by design; an empty getMore means caught up. */
  emptyReply(postBatchToken: string | null): void {
    if (postBatchToken !== null) {
      this.streamToken = postBatchToken;
      this.atEvent = null;
    }
    this.lastReplyEmpty = true;
    this.emptyReplies += 1;
    if (this.untilCaughtUp && (this.emptyReplies >= 2 || this.events.length > 0 || this.remainingMs() <= 0))
      this.endedBy = 'caught-up';
  }

  /**
   * One event (`postBatchToken`: its reply's, when it was the reply's last): kept when it is a
   * row; past the caught-up point or ending a table, it ends the read.
   */
  take(
    bytes: Uint8Array,
    postBatchToken: string | null,
    stoppedBy: (bytes: Uint8Array) => StoppedTable[],
  ): void {
    this.lastReplyEmpty = false;
    const event = readChangeEvent(bytes);
    const { clusterTime } = event;
    const caughtUpAt = this.caughtUpAt;
    if (
      caughtUpAt &&
      (clusterTime.seconds !== caughtUpAt.seconds || clusterTime.increment !== caughtUpAt.increment)
    ) {
      // Read one past the caught-up point: leave it (and its transaction) to the next batch.
      this.endedBy = 'caught-up';
      this.readOnePast = true;
      return;
    }
    if (this.untilCaughtUp && !caughtUpAt && clusterTime.seconds >= this.afterStartSeconds)
      this.caughtUpAt = clusterTime;
    this.lastRead = event;
    // The token is written only when the batch ends here: most events' tokens are never needed.
    this.atEvent = postBatchToken === null ? event : null;
    if (postBatchToken !== null) this.streamToken = postBatchToken;
    this.bytes += bytes.byteLength;
    this.keep(event, stoppedBy);
  }

  private keep(event: RawChangeEvent, stoppedBy: (bytes: Uint8Array) => StoppedTable[]): void {
    const action = changeEventAction(event);
    if (action === 'row') this.events.push(event);
    else if (action === 'stop-table') {
      this.tablesStopped.push(...stoppedBy(event.bytes));
      this.endedBy = 'table-stopped';
    }
  }

  /** The batch once the read ended; it resumes after the last event kept (the stream's token otherwise). */
  batch(method: ResumeAttempt['method']): ChangeBatch {
    const token = this.readOnePast
      ? (this.lastRead?.token ?? null)
      : (this.atEvent?.token ?? this.streamToken);
    if (token === null)
      throw new TypeError('the change stream gave no resume token (no event and no post-batch token)');
    const last = this.events[this.events.length - 1];
    return {
      events: this.events,
      resumeToken: token,
      resumeClusterTime: clusterTimeOf(token),
      lastEventClusterTime: last ? last.clusterTime : null,
      tablesStopped: this.tablesStopped,
      resumedWith: method,
      bytes: this.bytes,
      endedBy: this.endedBy!,
    };
  }

  private remainingMs(): number {
    return Math.min(this.request.deadline, this.startedAt + this.request.maxWaitMs) - this.now();
  }
}

/**
 * A change stream's server cursor: reads the shared oplog from its position, turns entries into
 * events, adds images, applies the user's stages, and reports a `postBatchResumeToken` with every
 * batch. getMore waits up to `maxTimeMS` (the driver's maxAwaitTimeMS) for the first event.
 */
import { BSON, type Document, type Long, Timestamp } from 'bson';
import { type CatalogReader, CommandError, type CursorBatch, type ServerCursor } from '../contract.js';
import { compareTimestamps } from '../oplog/clock.js';
import type { Oplog } from '../oplog/oplog.js';
import { type ChangeEvent, eventsFromEntry, invalidateEvent } from './events.js';
import {
  compareTokens,
  encodeResumeToken,
  highWaterMarkToken,
  type ResumeTokenData,
} from './resume-token.js';
import type { ChangeStreamScope } from './scope.js';
import { applyDiff } from './update-description.js';
import type { EventTransform } from './user-pipeline.js';

export type FullDocumentMode = 'default' | 'updateLookup' | 'whenAvailable' | 'required';
export type PreImageMode = 'off' | 'whenAvailable' | 'required';

/** Where a stream starts reading and which already-seen events it must skip. */
export interface StartPosition {
  /** First oplog timestamp to read (inclusive). */
  startAt: Timestamp;
  /** Events whose token sorts at or before this are not reported. */
  skipThrough?: { _data: string };
  /** An event token the stream resumes after: it must be found, or the resume fails (280). */
  mustFind?: ResumeTokenData;
  /** The token reported before any event (the resume token, or a high-water mark). */
  initialToken: { _data: string };
}

export interface ChangeStreamSettings {
  scope: ChangeStreamScope;
  fullDocument: FullDocumentMode;
  fullDocumentBeforeChange: PreImageMode;
  showExpandedEvents: boolean;
  transform: EventTransform;
}

export interface ChangeStreamSources {
  oplog: Oplog;
  catalog: CatalogReader;
}

/** Replies stay under the 16 MiB BSON limit, with room for the envelope around the batch. */
const MAX_BATCH_BYTES = 16 * 1024 * 1024 - 16 * 1024;
const DEFAULT_BATCH_SIZE = 101;
/** Entries read from the oplog at a time, so a stream far behind does not copy the whole log. */
const SCAN_CHUNK = 1000;

function historyLost(): CommandError {
  return new CommandError(
    286,
    'ChangeStreamHistoryLost',
    'Resume of change stream was not possible, as the resume point may no longer be in the oplog.',
  );
}

function noMatchingDocument(what: 'pre-image' | 'post-image', event: Document): CommandError {
  const scope = what === 'pre-image' ? 'update, delete and replace events' : 'update events';
  return new CommandError(
    47,
    'NoMatchingDocument',
    `Change stream was configured to require a ${what} for all ${scope}, but the ${what} was not found for event: ${JSON.stringify(event._id)}`,
  );
}

export class ChangeStreamCursor implements ServerCursor {
  private scannedThrough: Timestamp | undefined;
  private readonly pending: Document[] = [];
  private latestToken: { _data: string };
  private skipThrough: { _data: string } | undefined;
  private mustFind: ResumeTokenData | undefined;
  private invalidated = false;
  private closed = false;

  constructor(
    readonly id: Long,
    readonly ns: string,
    private readonly settings: ChangeStreamSettings,
    private readonly sources: ChangeStreamSources,
    private readonly start: StartPosition,
    readonly lsid?: Document,
  ) {
    this.latestToken = start.initialToken;
    this.skipThrough = start.skipThrough;
    this.mustFind = start.mustFind;
  }

  async nextBatch(batchSize: number | undefined, maxAwaitTimeMS: number | undefined): Promise<CursorBatch> {
    const limit =
      batchSize === undefined || batchSize <= 0 ? (batchSize === 0 ? 0 : DEFAULT_BATCH_SIZE) : batchSize;
    const documents: Document[] = [];
    if (limit === 0 || this.closed) return this.batch(documents, false);
    const deadline = Date.now() + Math.max(0, maxAwaitTimeMS ?? 0);
    for (;;) {
      const drained = this.fill(documents, limit);
      if (documents.length > 0 || this.invalidated || this.closed) return this.batch(documents, drained);
      const remaining = deadline - Date.now();
      if (remaining <= 0) return this.batch(documents, drained);
      await this.sources.oplog.waitForAppend(remaining);
    }
  }

  close(): void {
    this.closed = true;
  }

  private batch(documents: Document[], drained: boolean): CursorBatch {
    const last = documents.at(-1)?._id as { _data: string } | undefined;
    if (last) this.advanceToken(last);
    if (drained && this.pending.length === 0 && !this.invalidated) {
      const scanned = this.scannedThrough;
      if (scanned) this.advanceToken(highWaterMarkToken(scanned));
    }
    return {
      documents,
      exhausted: this.invalidated && this.pending.length === 0,
      postBatchResumeToken: this.latestToken,
    };
  }

  private advanceToken(token: { _data: string }): void {
    if (compareTokens(token, this.latestToken) > 0) this.latestToken = token;
  }

  /** Moves events into `documents` up to `limit`; returns true when the oplog was read to its end. */
  private fill(documents: Document[], limit: number): boolean {
    let bytes = 0;
    const take = (): boolean => {
      while (this.pending.length > 0 && documents.length < limit) {
        const next = this.pending[0] as Document;
        const size = BSON.calculateObjectSize(next);
        if (documents.length > 0 && bytes + size > MAX_BATCH_BYTES) return false;
        bytes += size;
        documents.push(next);
        this.pending.shift();
      }
      return this.pending.length === 0;
    };
    if (!take()) return false;
    if (this.invalidated) return true;
    this.checkHistory();
    for (;;) {
      const entries = this.scannedThrough
        ? this.sources.oplog.entriesAfter(this.scannedThrough, SCAN_CHUNK)
        : this.sources.oplog.entriesFrom(this.start.startAt, SCAN_CHUNK);
      const reachesEnd = entries.length < SCAN_CHUNK;
      for (const entry of entries) {
        for (const event of eventsFromEntry(entry, this.settings.scope, this.settings)) {
          this.accept(event);
          if (this.invalidated) break;
        }
        this.scannedThrough = entry.ts;
        if (!take() || this.invalidated) return this.invalidated && this.pending.length === 0;
        if (documents.length >= limit) return reachesEnd && entry === entries.at(-1);
      }
      if (reachesEnd) return true;
    }
  }

  private checkHistory(): void {
    const dropped = this.sources.oplog.droppedThrough();
    if (!dropped) return;
    const lost = this.scannedThrough
      ? compareTimestamps(dropped, this.scannedThrough) > 0
      : compareTimestamps(dropped, this.start.startAt) >= 0;
    if (lost) throw historyLost();
  }

  /** Applies resume skipping, images and the user's stages to one event. */
  private accept(event: ChangeEvent): void {
    const resume = this.resumeDecision(event);
    if (resume === 'skip') return;
    if (resume === 'report' && !event.silent) {
      const transformed = this.settings.transform(this.withImages(event));
      if (transformed) this.pending.push(transformed);
    }
    if (event.invalidates) {
      const transformed = this.settings.transform(invalidateEvent(event).doc);
      if (transformed) this.pending.push(transformed);
      this.invalidated = true;
    }
  }

  /**
   * 'skip' for events at or before the resume point; 'invalidateOnly' when resuming right after
   * an invalidating event (its invalidate is still owed); 'report' otherwise.
   */
  private resumeDecision(event: ChangeEvent): 'skip' | 'invalidateOnly' | 'report' {
    const token = event.doc._id as { _data: string };
    if (this.mustFind) {
      const wanted = encodeResumeToken({ ...this.mustFind, fromInvalidate: false });
      const order = compareTokens(token, wanted);
      if (order < 0) return 'skip';
      if (order > 0) {
        throw new CommandError(
          280,
          'ChangeStreamFatalError',
          'cannot resume stream; the resume token was not found.',
        );
      }
      const afterInvalidate = this.mustFind.fromInvalidate;
      this.mustFind = undefined;
      // startAfter an invalidate skips the invalidating event and its invalidate.
      return event.invalidates && !afterInvalidate ? 'invalidateOnly' : 'skip';
    }
    if (this.skipThrough && compareTokens(token, this.skipThrough) <= 0) return 'skip';
    return 'report';
  }

  private withImages(event: ChangeEvent): Document {
    const doc = { ...event.doc };
    if (event.operationType === 'update' && this.settings.fullDocument !== 'default') {
      doc.fullDocument = this.postImage(event, doc);
      reorderAfter(doc, 'fullDocument', 'wallTime');
    }
    const wantsPreImage = ['update', 'replace', 'delete'].includes(event.operationType);
    if (wantsPreImage && this.settings.fullDocumentBeforeChange !== 'off') {
      if (!event.preImage && this.settings.fullDocumentBeforeChange === 'required') {
        throw noMatchingDocument('pre-image', doc);
      }
      doc.fullDocumentBeforeChange = event.preImage ?? null;
    }
    return doc;
  }

  private postImage(event: ChangeEvent, doc: Document): Document | null {
    if (this.settings.fullDocument === 'updateLookup') {
      if (!event.ns || !event.documentKey) return null;
      return this.sources.catalog.findOneById(event.ns, event.documentKey._id);
    }
    const image = event.preImage && event.diff ? applyDiff(event.preImage, event.diff) : null;
    if (!image && this.settings.fullDocument === 'required') throw noMatchingDocument('post-image', doc);
    return image;
  }
}

/** Moves `field` to sit right after `anchor` (the server's field order for fullDocument). */
function reorderAfter(doc: Document, field: string, anchor: string): void {
  const entries = Object.entries(doc);
  const moved = entries.find(([key]) => key === field);
  if (!moved) return;
  const rest = entries.filter(([key]) => key !== field);
  const at = rest.findIndex(([key]) => key === anchor);
  rest.splice(at + 1, 0, moved);
  for (const key of Object.keys(doc)) delete doc[key];
  for (const [key, value] of rest) doc[key] = value;
}

/** The high-water mark a fresh stream starts from: just after the newest oplog entry. */
export function freshStartTime(oplog: Oplog, clusterTime: Timestamp): Timestamp {
  const latest = oplog.latest()?.ts;
  const base = latest && compareTimestamps(latest, clusterTime) > 0 ? latest : clusterTime;
  return new Timestamp({ t: base.high, i: base.low + 1 });
}

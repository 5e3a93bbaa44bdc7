/**
 * Oplog entries → change events, shaped and ordered like MongoDB 7.0's change stream transform.
 * A transaction's applyOps entry becomes one event per operation (same clusterTime, increasing
 * txnOpIndex). Images and the user's pipeline are applied later by the cursor.
 */
import type { Document } from 'bson';
import type { OplogEntry } from '../contract.js';
import { type Described, describe, nsField, type Operation } from './describe-operation.js';
import { EVENT_TOKEN, encodeResumeToken, type ResumeTokenData, TOKEN_VERSION } from './resume-token.js';
import { type ChangeStreamScope, scopeSees } from './scope.js';
import { describeUpdate } from './update-description.js';

export interface ChangeEvent {
  token: ResumeTokenData;
  operationType: string;
  /** Fields of the event in the server's order; `_id` holds the encoded token. */
  doc: Document;
  /** Namespace and key of the changed document, for post-image lookups. */
  ns?: string;
  documentKey?: Document;
  /** The document before the change, when the collection records pre-images. */
  preImage?: Document;
  /** The `$v: 2` diff of an update, for computing post-images from pre-images. */
  diff?: Document;
  /** Drop/rename/dropDatabase that ends this stream (an invalidate follows it). */
  invalidates: boolean;
  /** Not reported itself, only its invalidate (a collection stream seeing its database dropped). */
  silent?: boolean;
}

export interface EventOptions {
  showExpandedEvents: boolean;
}

const EXPANDED_ONLY = new Set(['create', 'createIndexes', 'dropIndexes', 'modify']);

function buildEvent(
  operation: Operation,
  described: Described,
  scope: ChangeStreamScope,
  options: EventOptions,
): ChangeEvent {
  const withoutUuid = described.operationType === 'dropDatabase';
  const uuid = withoutUuid ? undefined : operation.ui;
  const eventIdentifier: Document = { operationType: described.operationType };
  if (described.documentKey) eventIdentifier.documentKey = described.documentKey;
  else if (described.operationDescription)
    eventIdentifier.operationDescription = described.operationDescription;
  const token: ResumeTokenData = {
    clusterTime: operation.ts,
    version: TOKEN_VERSION,
    tokenType: EVENT_TOKEN,
    txnOpIndex: operation.txnOpIndex ?? 0,
    fromInvalidate: false,
    eventIdentifier,
  };
  if (uuid) token.uuid = uuid;

  const doc: Document = { ...described.leading };
  if (operation.txnOpIndex !== undefined) {
    if (operation.txnNumber !== undefined) doc.txnNumber = operation.txnNumber;
    if (operation.lsid !== undefined) doc.lsid = operation.lsid;
  }
  doc._id = encodeResumeToken(token);
  doc.operationType = described.operationType;
  doc.clusterTime = operation.ts;
  if (options.showExpandedEvents && uuid) doc.collectionUUID = uuid;
  doc.wallTime = operation.wall;
  if (described.fullDocument) doc.fullDocument = described.fullDocument;
  doc.ns = nsField(described.db, described.coll);
  if (described.documentKey) doc.documentKey = described.documentKey;
  if (options.showExpandedEvents && described.operationDescription) {
    doc.operationDescription = described.operationDescription;
  }
  if (described.updateDescription) {
    doc.updateDescription = options.showExpandedEvents
      ? {
          ...described.updateDescription,
          disambiguatedPaths: describeUpdate(described.diff ?? {}).disambiguatedPaths,
        }
      : described.updateDescription;
  }
  if (described.stateBeforeChange) doc.stateBeforeChange = described.stateBeforeChange;

  const event: ChangeEvent = {
    token,
    operationType: described.operationType,
    doc,
    invalidates: invalidatesScope(described, scope),
  };
  if (described.documentKey) {
    event.ns = operation.ns;
    event.documentKey = described.documentKey;
  }
  if (operation.preImage) event.preImage = operation.preImage;
  if (described.diff) event.diff = described.diff;
  return event;
}

function invalidatesScope(described: Described, scope: ChangeStreamScope): boolean {
  if (scope.kind === 'collection') {
    if (described.operationType === 'drop') return true;
    if (described.operationType === 'rename') return true;
    return described.operationType === 'dropDatabase';
  }
  return scope.kind === 'database' && described.operationType === 'dropDatabase';
}

function sees(scope: ChangeStreamScope, described: Described): boolean {
  if (scopeSees(scope, described.db, described.coll)) return true;
  // A rename is seen from its target's side too (a collection stream is invalidated by it).
  const target = described.renameTarget;
  if (target && scopeSees(scope, target.db, target.coll)) return true;
  // A collection stream ends when its database is dropped.
  return (
    scope.kind === 'collection' && described.operationType === 'dropDatabase' && described.db === scope.db
  );
}

function operationsOf(entry: OplogEntry): Operation[] {
  const applyOps = entry.op === 'c' ? entry.o.applyOps : undefined;
  if (!Array.isArray(applyOps)) return [{ ...entry }];
  return applyOps.map((inner: Document, index: number) => {
    const operation: Operation = {
      op: inner.op,
      ns: inner.ns,
      ui: inner.ui,
      o: inner.o,
      o2: inner.o2,
      preImage: inner.preImage,
      ts: entry.ts,
      wall: entry.wall,
      txnOpIndex: index,
    };
    if (entry.lsid) operation.lsid = entry.lsid;
    if (entry.txnNumber !== undefined) operation.txnNumber = entry.txnNumber;
    return operation;
  });
}

/** The events one oplog entry produces for a stream with this scope, in order. */
export function eventsFromEntry(
  entry: OplogEntry,
  scope: ChangeStreamScope,
  options: EventOptions,
): ChangeEvent[] {
  const events: ChangeEvent[] = [];
  // Change streams read the oplog with `fromMigrate: {$ne: true}`: migrations are invisible.
  if (entry.fromMigrate) return events;
  for (const operation of operationsOf(entry)) {
    const described = describe(operation);
    if (!described || !sees(scope, described)) continue;
    if (EXPANDED_ONLY.has(described.operationType) && !options.showExpandedEvents) continue;
    const event = buildEvent(operation, described, scope, options);
    // A collection stream reports the drop of its database only through the invalidate.
    if (scope.kind === 'collection' && described.operationType === 'dropDatabase') event.silent = true;
    events.push(event);
  }
  return events;
}

/** The invalidate event that follows `cause` and closes the stream. */
export function invalidateEvent(cause: ChangeEvent): ChangeEvent {
  const token: ResumeTokenData = { ...cause.token, fromInvalidate: true };
  return {
    token,
    operationType: 'invalidate',
    doc: {
      _id: encodeResumeToken(token),
      operationType: 'invalidate',
      clusterTime: cause.token.clusterTime,
      wallTime: cause.doc.wallTime,
    },
    invalidates: false,
  };
}

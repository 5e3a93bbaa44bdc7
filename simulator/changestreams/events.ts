/**
 * Oplog entries → change events, shaped and ordered like MongoDB 7.0's change stream transform.
 * A transaction's applyOps entry becomes one event per operation (same clusterTime, increasing
 * txnOpIndex). Images and the user's pipeline are applied later by the cursor.
 */
import type { Document, Long, Timestamp, UUID } from 'bson';
import type { OplogEntry } from '../contract.js';
import { EVENT_TOKEN, encodeResumeToken, type ResumeTokenData, TOKEN_VERSION } from './resume-token.js';
import { type ChangeStreamScope, scopeSees, splitNamespace } from './scope.js';
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

/** One operation as the transform sees it: a plain oplog entry or one op of an applyOps. */
interface Operation {
  op: OplogEntry['op'];
  ns: string;
  ui?: UUID;
  o: Document;
  o2?: Document;
  preImage?: Document;
  ts: Timestamp;
  wall: Date;
  txnOpIndex?: number;
  lsid?: Document;
  txnNumber?: Long;
}

export interface EventOptions {
  showExpandedEvents: boolean;
}

const EXPANDED_ONLY = new Set(['create', 'createIndexes', 'dropIndexes', 'modify']);

function without(doc: Document, ...names: string[]): Document {
  const copy: Document = { ...doc };
  for (const name of names) delete copy[name];
  return copy;
}

function nsField(db: string, coll: string): Document {
  return coll === '' ? { db } : { db, coll };
}

interface Described {
  operationType: string;
  db: string;
  coll: string;
  fullDocument?: Document;
  documentKey?: Document;
  updateDescription?: Document;
  operationDescription?: Document;
  stateBeforeChange?: Document;
  /** Fields the server adds before `_id` (rename's `to`). */
  leading?: Document;
  diff?: Document;
  /** For a collection stream watching the target of a rename. */
  renameTarget?: { db: string; coll: string };
}

function describeCommand(operation: Operation): Described | null {
  const { db } = splitNamespace(operation.ns);
  const o = operation.o;
  if (typeof o.drop === 'string') return { operationType: 'drop', db, coll: o.drop };
  if (typeof o.renameCollection === 'string') {
    const from = splitNamespace(o.renameCollection);
    const to = splitNamespace(String(o.to));
    const description = without(o, 'renameCollection', 'stayTemp');
    description.to = nsField(to.db, to.coll);
    return {
      operationType: 'rename',
      db: from.db,
      coll: from.coll,
      leading: { to: nsField(to.db, to.coll) },
      operationDescription: description,
      renameTarget: to,
    };
  }
  if (o.dropDatabase !== undefined) return { operationType: 'dropDatabase', db, coll: '' };
  if (typeof o.create === 'string') {
    return { operationType: 'create', db, coll: o.create, operationDescription: without(o, 'create') };
  }
  if (typeof o.createIndexes === 'string') {
    return {
      operationType: 'createIndexes',
      db,
      coll: o.createIndexes,
      operationDescription: { indexes: [without(o, 'createIndexes')] },
    };
  }
  if (typeof o.commitIndexBuild === 'string') {
    return {
      operationType: 'createIndexes',
      db,
      coll: o.commitIndexBuild,
      operationDescription: { indexes: o.indexes },
    };
  }
  if (typeof o.dropIndexes === 'string') {
    const spec = operation.o2 ? without(operation.o2, 'dropIndexes') : { name: o.index };
    return {
      operationType: 'dropIndexes',
      db,
      coll: o.dropIndexes,
      operationDescription: { indexes: [spec] },
    };
  }
  if (typeof o.collMod === 'string') {
    return {
      operationType: 'modify',
      db,
      coll: o.collMod,
      operationDescription: without(o, 'collMod'),
      stateBeforeChange: {
        collectionOptions: operation.o2?.collectionOptions_old,
        indexOptions: operation.o2?.indexOptions_old,
      },
    };
  }
  // startIndexBuild, abortIndexBuild and other internal commands produce no event.
  return null;
}

function describe(operation: Operation): Described | null {
  const { db, coll } = splitNamespace(operation.ns);
  switch (operation.op) {
    case 'i':
      return {
        operationType: 'insert',
        db,
        coll,
        fullDocument: operation.o,
        documentKey: operation.o2 ?? { _id: operation.o._id },
      };
    case 'd':
      return { operationType: 'delete', db, coll, documentKey: operation.o };
    case 'u': {
      const documentKey = operation.o2 ?? { _id: operation.o._id };
      if (operation.o.$v === 2) {
        const diff = (operation.o.diff ?? {}) as Document;
        const described = describeUpdate(diff);
        return {
          operationType: 'update',
          db,
          coll,
          documentKey,
          diff,
          updateDescription: {
            updatedFields: described.updatedFields,
            removedFields: described.removedFields,
            truncatedArrays: described.truncatedArrays,
          },
        };
      }
      return { operationType: 'replace', db, coll, fullDocument: operation.o, documentKey };
    }
    case 'c':
      return describeCommand(operation);
    default:
      return null;
  }
}

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
  // A collection stream also ends when another collection is renamed onto it, or its database drops.
  if (scope.kind !== 'collection') return false;
  if (described.operationType === 'dropDatabase') return described.db === scope.db;
  const target = described.renameTarget;
  return target !== undefined && target.db === scope.db && target.coll === scope.coll;
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

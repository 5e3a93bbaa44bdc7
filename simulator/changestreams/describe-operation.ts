/**
 * What one oplog operation means to a change stream: its operation type, namespace, document key
 * and the type-specific fields (updateDescription, operationDescription, ...), following MongoDB
 * 7.0's change stream transform.
 */
import type { Document, Long, Timestamp, UUID } from 'bson';
import type { OplogEntry } from '../contract.js';
import { splitNamespace } from './scope.js';
import { describeUpdate } from './update-description.js';

/** One operation as the transform sees it: a plain oplog entry or one op of an applyOps. */
export interface Operation {
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

function without(doc: Document, ...names: string[]): Document {
  const copy: Document = { ...doc };
  for (const name of names) delete copy[name];
  return copy;
}

export function nsField(db: string, coll: string): Document {
  return coll === '' ? { db } : { db, coll };
}

export interface Described {
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

export function describe(operation: Operation): Described | null {
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

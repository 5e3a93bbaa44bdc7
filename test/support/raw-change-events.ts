import { BSON, Timestamp } from 'mongodb';
import { RawChangeEvent } from '../../functions/adapters/mongodb/raw-change-event.js';
import { DESERIALIZE_OPTIONS } from '../../functions/adapters/mongodb/snapshot-source.js';
import type { ChangeEventLike } from '../../functions/core/rows.js';
import type { SourceChangeEvent } from '../../functions/ports/source.js';

/** A change event as a test writes it: decoded values, serialized to the BSON the server would send. */
export interface ChangeEventFields {
  operationType: string;
  ns: { db: string; coll: string };
  clusterTime: { seconds: number; increment: number };
  documentKey?: Record<string, unknown> | null;
  fullDocument?: Record<string, unknown> | null;
  fullDocumentBeforeChange?: Record<string, unknown> | null;
  /** The resume token's `_data` (any hex text). */
  tokenData?: string;
}

/** The event's raw BSON, fields in the order a server sends them. */
export function rawChangeEventBytes(fields: ChangeEventFields): Uint8Array {
  const { seconds, increment } = fields.clusterTime;
  const event: Record<string, unknown> = {
    _id: {
      _data:
        fields.tokenData ??
        `82${seconds.toString(16).padStart(8, '0')}${increment.toString(16).padStart(8, '0')}`,
    },
    operationType: fields.operationType,
    clusterTime: new Timestamp({ t: seconds, i: increment }),
    ns: fields.ns,
  };
  if (fields.documentKey !== undefined) event.documentKey = fields.documentKey;
  if (fields.fullDocument !== undefined) event.fullDocument = fields.fullDocument;
  if (fields.fullDocumentBeforeChange !== undefined)
    event.fullDocumentBeforeChange = fields.fullDocumentBeforeChange;
  return BSON.serialize(event);
}

/** The engines' view of a row event built from decoded fields (through the adapter's own reader). */
export function rawChangeEvent(fields: ChangeEventFields, token?: string): SourceChangeEvent {
  return new RawChangeEvent(rawChangeEventBytes(fields), token);
}

/** The event decoded as the driver would (DESERIALIZE_OPTIONS), for assertions on its fields. */
export function decodedEvent(event: SourceChangeEvent): ChangeEventLike {
  return BSON.deserialize(event.bytes, DESERIALIZE_OPTIONS) as ChangeEventLike;
}

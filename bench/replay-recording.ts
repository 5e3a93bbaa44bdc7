/**
 * A recorded change stream for the product-alone CDC benchmark: the events exactly as the
 * simulator sent them on the wire (raw BSON, byte for byte), read once with the product's own
 * change stream pipeline, and the few facts the replay server needs to answer like the simulator
 * (the start point, the high-water mark after the last event, the cluster time, the reply `ns`).
 *
 * The recorder speaks OP_MSG to the simulator itself (the simulator's framing helpers), so it gets
 * the reply bytes, not documents the driver decoded and would have to encode again. It sends the
 * `aggregate` and `getMore` bodies the driver sends for `MongoChangeSource` (checked by
 * test/bench/replay.test.ts): database scope, `fullDocument: 'updateLookup'`, batches of 1000.
 *
 * File: a little-endian uint32 header length, the header as JSON, then the events' BSON
 * documents one after the other (each starts with its own length).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { BSON, type Document, EJSON, type Long, Timestamp } from 'bson';
import { changeStreamPipeline } from '../functions/adapters/mongodb/change-pipeline.js';
import { FrameReader } from '../simulator/wire/frame-reader.js';
import { encodeOpMsg, HEADER_BYTES, OP_MSG, readHeader } from '../simulator/wire/protocol.js';
import { decodeDocument } from '../simulator/wire/typed-decode.js';

export const RECORDING_FORMAT = 'cdc-replay/1';
/** The product's change stream batch (MongoChangeSource: min(pullBatchSize, 1000)). */
const RECORD_BATCH = 1_000;

export interface StartPoint {
  /** Canonical Extended JSON `{"_data": "…"}`, as the pipe store keeps it; null: by cluster time. */
  token: string | null;
  clusterTime: { seconds: number; increment: number } | null;
}

export interface RecordingHeader {
  format: typeof RECORDING_FORMAT;
  db: string;
  coll: string;
  /** `aggregate: 1` (database scope), as the product opens a one-database pipe's stream. */
  aggregate: 1;
  /** The reply's cursor namespace, e.g. `bench.$cmd.aggregate`. */
  ns: string;
  fullDocument: string;
  showExpandedEvents: boolean;
  /** The stages after `$changeStream`, as the server decodes them, in canonical Extended JSON. */
  pipeline: string;
  startPoint: StartPoint;
  /** `_data` the stream reports before any event (the start point's token). */
  startToken: string;
  /** `_data` of the postBatchResumeToken once the last event was read (the oplog's high-water mark). */
  endToken: string;
  /** operationTime / $clusterTime of the last reply. */
  clusterTime: { t: number; i: number };
  events: number;
  eventBytes: number;
  operationTypes: Record<string, number>;
  /** Replies the simulator sent while recording (aggregate + getMores). */
  replies: number;
  recordedAt: string;
}

export interface Recording {
  header: RecordingHeader;
  /** Each event's BSON, as the simulator sent it. */
  events: Buffer[];
}

/** The pipeline stages the replay server compares an `aggregate` against, in the form it decodes them. */
export function canonicalPipeline(stages: Document[]): string {
  return EJSON.stringify(decodeDocument(BSON.serialize({ stages })).stages, { relaxed: false });
}

function streamPosition(start: StartPoint): Document {
  if (start.token !== null) return { resumeAfter: EJSON.parse(start.token, { relaxed: false }) };
  if (start.clusterTime === null) throw new Error('a start point needs a token or a cluster time');
  return {
    startAtOperationTime: new Timestamp({ t: start.clusterTime.seconds, i: start.clusterTime.increment }),
  };
}

/**
 * Reads the change stream of `db.coll` from `start` until a getMore comes back empty, straight
 * from the simulator's socket, and writes the recording to `file`.
 */
export async function recordChangeStream(
  mongoUri: string,
  namespace: { db: string; coll: string },
  start: StartPoint,
  file: string,
): Promise<RecordingHeader> {
  const { host } = new URL(mongoUri);
  const client = await WireClient.connect(host);
  try {
    const stages = changeStreamPipeline([namespace]);
    const changeStream = {
      ...streamPosition(start),
      fullDocument: 'updateLookup',
      showExpandedEvents: false,
    };
    const events: Buffer[] = [];
    const operationTypes: Record<string, number> = {};
    let reply = await client.command({
      aggregate: 1,
      pipeline: [{ $changeStream: changeStream }, ...stages],
      cursor: { batchSize: RECORD_BATCH },
      $db: namespace.db,
    });
    let replies = 1;
    let batch = reply.cursor.firstBatch as Buffer[];
    // The token the stream reports before any event: the start point's own, or (a start point by
    // cluster time) the first reply's when that reply holds no event.
    const firstToken = (reply.cursor.postBatchResumeToken as { _data: string })._data;
    const startToken = start.token
      ? (EJSON.parse(start.token) as { _data: string })._data
      : batch.length === 0
        ? firstToken
        : null;
    for (;;) {
      for (const raw of batch) {
        const event = Buffer.from(raw);
        events.push(event);
        const type = String(BSON.deserialize(event).operationType);
        operationTypes[type] = (operationTypes[type] ?? 0) + 1;
      }
      if (batch.length === 0 && replies > 1) break;
      reply = await client.command({
        getMore: reply.cursor.id as Long,
        collection: String(reply.cursor.ns).slice(namespace.db.length + 1),
        batchSize: RECORD_BATCH,
        maxTimeMS: 10,
        $db: namespace.db,
      });
      replies += 1;
      batch = reply.cursor.nextBatch as Buffer[];
    }
    if (events.length === 0)
      throw new Error('the recording holds no event: nothing was written after the start point');
    const time = reply.operationTime as Timestamp;
    const header: RecordingHeader = {
      format: RECORDING_FORMAT,
      db: namespace.db,
      coll: namespace.coll,
      aggregate: 1,
      ns: String(reply.cursor.ns),
      fullDocument: 'updateLookup',
      showExpandedEvents: false,
      pipeline: canonicalPipeline(stages),
      startPoint: start,
      startToken: startToken ?? tokenOf(events[0] as Buffer),
      endToken: (reply.cursor.postBatchResumeToken as { _data: string })._data,
      clusterTime: { t: time.high, i: time.low },
      events: events.length,
      eventBytes: events.reduce((sum, event) => sum + event.length, 0),
      operationTypes,
      replies,
      recordedAt: new Date().toISOString(),
    };
    const headerBytes = Buffer.from(JSON.stringify(header));
    const length = Buffer.alloc(4);
    length.writeUInt32LE(headerBytes.length, 0);
    writeFileSync(file, Buffer.concat([length, headerBytes, ...events]));
    return header;
  } finally {
    client.close();
  }
}

/** The `_data` of an event's resume token (its `_id`). */
export function tokenOf(event: Buffer): string {
  return (BSON.deserialize(event, { promoteValues: true })._id as { _data: string })._data;
}

export function readRecordingHeader(file: string): RecordingHeader {
  const bytes = readFileSync(file);
  return parseHeader(bytes);
}

export function loadRecording(file: string): Recording {
  const bytes = readFileSync(file);
  const header = parseHeader(bytes);
  const events: Buffer[] = [];
  let offset = 4 + bytes.readUInt32LE(0);
  while (offset < bytes.length) {
    const size = bytes.readInt32LE(offset);
    events.push(bytes.subarray(offset, offset + size));
    offset += size;
  }
  if (events.length !== header.events)
    throw new Error(`${file}: ${events.length} events, header says ${header.events}`);
  return { header, events };
}

function parseHeader(bytes: Buffer): RecordingHeader {
  const header = JSON.parse(bytes.toString('utf8', 4, 4 + bytes.readUInt32LE(0))) as RecordingHeader;
  if (header.format !== RECORDING_FORMAT) throw new Error(`not a ${RECORDING_FORMAT} recording`);
  return header;
}

/** A bare OP_MSG client: one command at a time, the reply's cursor batches left as raw BSON. */
class WireClient {
  private readonly reader = new FrameReader();
  private waiting: {
    requestId: number;
    resolve: (frame: Buffer) => void;
    reject: (error: Error) => void;
  } | null = null;
  private requestId = 0;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      for (const frame of this.reader.push(chunk)) {
        const pending = this.waiting;
        if (pending && readHeader(frame).responseTo === pending.requestId) {
          this.waiting = null;
          pending.resolve(frame);
        }
      }
    });
    socket.on('error', (error) => this.fail(error));
    socket.on('close', () => this.fail(new Error('the simulator closed the connection')));
  }

  static connect(host: string): Promise<WireClient> {
    const [name = '127.0.0.1', port = '27017'] = host.split(':');
    return new Promise((resolve, reject) => {
      const socket = connect({ host: name, port: Number(port) }, () => {
        socket.off('error', reject);
        resolve(new WireClient(socket));
      });
      socket.once('error', reject);
    });
  }

  async command(body: Document): Promise<Document> {
    this.requestId += 1;
    const requestId = this.requestId;
    const frame = await new Promise<Buffer>((resolve, reject) => {
      this.waiting = { requestId, resolve, reject };
      this.socket.write(encodeOpMsg(requestId, 0, body, false));
    });
    if (
      readHeader(frame).opCode !== OP_MSG ||
      frame.readUInt32LE(HEADER_BYTES) !== 0 ||
      frame[HEADER_BYTES + 4] !== 0
    )
      throw new Error('unexpected reply framing from the simulator');
    const reply = BSON.deserialize(frame.subarray(HEADER_BYTES + 5), {
      fieldsAsRaw: { firstBatch: true, nextBatch: true },
      promoteLongs: false,
    });
    if (reply.ok !== 1) throw new Error(`simulator: ${String(reply.errmsg)} (${String(reply.codeName)})`);
    return reply;
  }

  close(): void {
    this.socket.destroy();
  }

  private fail(error: Error): void {
    const pending = this.waiting;
    this.waiting = null;
    pending?.reject(error);
  }
}

/**
 * A MongoDB wire-protocol server that serves one recorded change stream (replay-recording.ts)
 * from memory, as fast as the client asks: the product's benchmark source when the product alone
 * is measured. The real `mongodb` driver connects to it as to a one-member replica set (`hello`,
 * the streaming `hello` of its monitor), and `MongoChangeSource` opens the stream with `aggregate`,
 * reads it with `getMore`s and closes it with `killCursors`, as against the simulator.
 *
 * What it sends: each event's BSON exactly as the simulator sent it; around them, per reply, the
 * envelope the simulator builds (`{cursor: {firstBatch|nextBatch, id, ns, postBatchResumeToken},
 * ok, $clusterTime, operationTime}`), made with the simulator's framing helpers. Only what must
 * change is new: the cursor id (one per stream), the header's request ids, and the
 * postBatchResumeToken, which is the recorded token of the position the reply ends at (the last
 * event's, or the recorded high-water mark once the last event is sent; the start token before
 * any). Batches follow the simulator's rules: up to `batchSize` events (the aggregate's first
 * batch too, without waiting) and at most 16 MiB − 16 KiB. Where it differs: a getMore past the
 * last event answers at once, empty (the simulator waits up to maxTimeMS for a new write), and a
 * stream opened without a resume position stays empty at the start (the moment before the
 * recorded writes). An `aggregate` whose stages or options differ from the recording's is refused,
 * so the replay cannot serve a stream the product did not ask for.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { BSON, type Document, EJSON, Long, ObjectId, Timestamp } from 'bson';
import { clusterTimeFields } from '../simulator/server/envelope.js';
import { LOGICAL_SESSION_TIMEOUT_MINUTES, MAX_WIRE_VERSION } from '../simulator/topology/hello-response.js';
import { isAwaitableHello } from '../simulator/wire/exhaust.js';
import { FrameReader } from '../simulator/wire/frame-reader.js';
import {
  decodeMessage,
  encodeOpMsg,
  encodeOpReply,
  HEADER_BYTES,
  type InboundCommand,
  MAX_BSON_OBJECT_SIZE,
  MAX_MESSAGE_SIZE_BYTES,
  OP_MSG,
  OP_QUERY,
} from '../simulator/wire/protocol.js';
import type { Recording } from './replay-recording.js';

const SET_NAME = 'replay';
/** The simulator's cap on one reply's events (stream-cursor.ts): room for the envelope. */
const MAX_BATCH_BYTES = 16 * 1024 * 1024 - 16 * 1024;
const DEFAULT_FIRST_BATCH = 101;

export interface ReplayStats {
  connections: number;
  commands: Record<string, number>;
  streams: number;
  replies: number;
  eventsSent: number;
  eventBytesSent: number;
  /** Commands answered with CommandNotFound (the replay knows only what CDC sends). */
  unknown: string[];
}

interface StreamCursor {
  /** Index of the next event to send. */
  position: number;
  /** A stream opened without a position: empty at the start, forever. */
  idle: boolean;
}

class CommandFailure extends Error {
  constructor(
    readonly code: number,
    readonly codeName: string,
    message: string,
  ) {
    super(message);
  }
}

export class ReplayMongoServer {
  readonly stats: ReplayStats = {
    connections: 0,
    commands: {},
    streams: 0,
    replies: 0,
    eventsSent: 0,
    eventBytesSent: 0,
    unknown: [],
  };
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly positionOf = new Map<string, number>();
  private readonly times: { t: number; i: number }[] = [];
  /** `_data` of each event's resume token. */
  private readonly tokens: string[] = [];
  private readonly cursors = new Map<string, StreamCursor>();
  private readonly processId = new ObjectId();
  private readonly clusterTime: Timestamp;
  private nextCursor = BigInt(`0x${randomBytes(8).toString('hex')}`) & 0x3fff_ffff_ffff_ffffn;
  private requestId = 0;
  private connectionIds = 0;
  private me = '';

  constructor(private readonly recording: Recording) {
    const { header, events } = recording;
    this.clusterTime = new Timestamp({ t: header.clusterTime.t, i: header.clusterTime.i });
    this.positionOf.set(header.startToken, 0);
    events.forEach((event, index) => {
      const decoded = BSON.deserialize(event, { promoteValues: true });
      const token = (decoded._id as { _data: string })._data;
      this.tokens.push(token);
      this.positionOf.set(token, index + 1);
      const time = decoded.clusterTime as Timestamp;
      this.times.push({ t: time.high, i: time.low });
    });
    this.positionOf.set(header.endToken, events.length);
    this.server = createServer((socket) => this.accept(socket));
  }

  /** Listens on 127.0.0.1 (0: a free port); returns the connection string. */
  async listen(port = 0): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => resolve());
    });
    const address = this.server.address();
    if (address === null || typeof address === 'string')
      throw new Error('the replay server has no TCP address');
    this.me = `127.0.0.1:${address.port}`;
    return `mongodb://${this.me}/?replicaSet=${SET_NAME}`;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    socket.setNoDelay(true);
    this.sockets.add(socket);
    this.stats.connections += 1;
    const connectionId = ++this.connectionIds;
    const reader = new FrameReader();
    const timers = new Set<NodeJS.Timeout>();
    let queue = Promise.resolve();
    const close = () => {
      for (const timer of timers) clearTimeout(timer);
      this.sockets.delete(socket);
      socket.destroy();
    };
    const wait = (ms: number) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          timers.delete(timer);
          resolve();
        }, ms);
        timers.add(timer);
      });
    const connection: Connection = { socket, connectionId, wait, closed: () => socket.destroyed };
    socket.on('error', close);
    socket.on('close', close);
    socket.on('data', (chunk: Buffer) => {
      let frames: Buffer[];
      try {
        frames = reader.push(chunk);
      } catch {
        close();
        return;
      }
      for (const frame of frames) queue = queue.then(() => this.handle(frame, connection)).catch(close);
    });
  }

  private async handle(frame: Buffer, connection: Connection): Promise<void> {
    if (connection.closed()) return;
    const command = decodeMessage(frame);
    const name = Object.keys(command.body)[0] ?? '';
    this.stats.commands[name] = (this.stats.commands[name] ?? 0) + 1;
    if (name === 'hello' || name === 'isMaster' || name === 'ismaster') {
      await this.hello(command, name !== 'hello', connection);
      return;
    }
    if (command.moreToCome) return;
    let reply: Buffer;
    try {
      reply = this.answer(name, command);
    } catch (error) {
      if (!(error instanceof CommandFailure)) throw error;
      reply = encodeOpMsg(
        this.nextRequestId(),
        command.header.requestId,
        {
          ok: 0,
          errmsg: error.message,
          code: error.code,
          codeName: error.codeName,
          ...clusterTimeFields(this.clusterTime),
        },
        false,
      );
    }
    connection.socket.write(reply);
  }

  private answer(name: string, command: InboundCommand): Buffer {
    const responseTo = command.header.requestId;
    switch (name) {
      case 'aggregate':
        return this.aggregate(command, responseTo);
      case 'getMore':
        return this.getMore(command, responseTo);
      case 'killCursors': {
        const ids = (command.body.cursors ?? []) as unknown[];
        const killed = ids.filter((id) => this.cursors.delete(String(id)));
        return this.reply(responseTo, {
          cursorsKilled: killed,
          cursorsNotFound: ids.filter((id) => !killed.includes(id)),
          cursorsAlive: [],
          cursorsUnknown: [],
        });
      }
      case 'endSessions':
      case 'ping':
        return this.reply(responseTo, {});
      default:
        if (!this.stats.unknown.includes(name)) this.stats.unknown.push(name);
        throw new CommandFailure(59, 'CommandNotFound', `no such command: '${name}' (the CDC replay server)`);
    }
  }

  /** The handshake and the monitor's streaming hello (answered every maxAwaitTimeMS, nothing changes). */
  private async hello(command: InboundCommand, legacy: boolean, connection: Connection): Promise<void> {
    const body = command.body;
    const reply = () => this.helloReply(legacy, body.helloOk === true, connection.connectionId);
    if (command.opCode === OP_QUERY) {
      connection.socket.write(encodeOpReply(this.nextRequestId(), command.header.requestId, reply()));
      return;
    }
    if (!isAwaitableHello(body)) {
      connection.socket.write(encodeOpMsg(this.nextRequestId(), command.header.requestId, reply(), false));
      return;
    }
    const awaitMs = Math.max(0, Number(body.maxAwaitTimeMS));
    let responseTo = command.header.requestId;
    // Streamed (exhaust): one reply per wait until the client goes away; the frames behind it on
    // this connection are not held up.
    void (async () => {
      do {
        await connection.wait(awaitMs);
        if (connection.closed()) return;
        const requestId = this.nextRequestId();
        connection.socket.write(encodeOpMsg(requestId, responseTo, reply(), command.exhaustAllowed));
        responseTo = requestId;
      } while (command.exhaustAllowed);
    })();
  }

  private helloReply(legacy: boolean, helloOk: boolean, connectionId: number): Document {
    const wallTime = new Date(this.clusterTime.high * 1000);
    const opTime = { ts: this.clusterTime, t: Long.ONE };
    return {
      topologyVersion: { processId: this.processId, counter: Long.ZERO },
      hosts: [this.me],
      setName: SET_NAME,
      setVersion: 1,
      [legacy ? 'ismaster' : 'isWritablePrimary']: true,
      secondary: false,
      primary: this.me,
      me: this.me,
      electionId: new ObjectId('7fffffff0000000000000001'),
      lastWrite: { opTime, lastWriteDate: wallTime, majorityOpTime: opTime, majorityWriteDate: wallTime },
      maxBsonObjectSize: MAX_BSON_OBJECT_SIZE,
      maxMessageSizeBytes: MAX_MESSAGE_SIZE_BYTES,
      maxWriteBatchSize: 100_000,
      localTime: new Date(),
      logicalSessionTimeoutMinutes: LOGICAL_SESSION_TIMEOUT_MINUTES,
      connectionId,
      minWireVersion: 0,
      maxWireVersion: MAX_WIRE_VERSION,
      readOnly: false,
      ...(helloOk ? { helloOk: true } : {}),
      ok: 1,
      ...clusterTimeFields(this.clusterTime),
    };
  }

  private aggregate(command: InboundCommand, responseTo: number): Buffer {
    const { header } = this.recording;
    const { body } = command;
    const pipeline = (body.pipeline ?? []) as Document[];
    const stage = pipeline[0]?.$changeStream as Document | undefined;
    if (!stage) throw new CommandFailure(2, 'BadValue', 'the CDC replay server serves change streams only');
    const differs = (what: string) =>
      new CommandFailure(2, 'BadValue', `replay: the ${what} differs from the recording's; record again`);
    if (command.db !== header.db || body.aggregate !== header.aggregate) throw differs('namespace');
    if (
      stage.fullDocument !== header.fullDocument ||
      (stage.showExpandedEvents ?? false) !== header.showExpandedEvents
    )
      throw differs('$changeStream options');
    if (EJSON.stringify(pipeline.slice(1), { relaxed: false }) !== header.pipeline) throw differs('pipeline');
    const cursor: StreamCursor = { position: 0, idle: false };
    const token = (stage.resumeAfter ?? stage.startAfter) as { _data?: unknown } | undefined;
    if (token !== undefined) {
      const position = this.positionOf.get(String(token._data));
      if (position === undefined)
        throw new CommandFailure(
          280,
          'ChangeStreamFatalError',
          'cannot resume stream; the resume token was not found.',
        );
      cursor.position = position;
    } else if (stage.startAtOperationTime instanceof Timestamp) {
      cursor.position = this.firstAtOrAfter(stage.startAtOperationTime);
    } else {
      cursor.idle = true;
    }
    const id = this.nextCursorId();
    this.cursors.set(id.toString(), cursor);
    this.stats.streams += 1;
    const options = (body.cursor ?? {}) as Document;
    const batchSize = options.batchSize === undefined ? DEFAULT_FIRST_BATCH : Number(options.batchSize);
    return this.batch(responseTo, 'firstBatch', id, cursor, batchSize);
  }

  private getMore(command: InboundCommand, responseTo: number): Buffer {
    const id = command.body.getMore as Long | number;
    const cursor = this.cursors.get(String(id));
    if (!cursor) throw new CommandFailure(43, 'CursorNotFound', `cursor id ${String(id)} not found`);
    const batchSize = Number(command.body.batchSize ?? 0);
    return this.batch(
      responseTo,
      'nextBatch',
      Long.isLong(id) ? id : Long.fromNumber(id),
      cursor,
      batchSize > 0 ? batchSize : DEFAULT_FIRST_BATCH,
    );
  }

  /** The next events of a stream as one OP_MSG: the recorded bytes spliced into a fresh envelope. */
  private batch(
    responseTo: number,
    field: 'firstBatch' | 'nextBatch',
    cursorId: Long,
    cursor: StreamCursor,
    batchSize: number,
  ): Buffer {
    const { events, header } = this.recording;
    const from = cursor.position;
    let to = from;
    let bytes = 0;
    if (!cursor.idle) {
      while (to < events.length && to - from < batchSize) {
        const size = (events[to] as Buffer).length;
        if (to > from && bytes + size > MAX_BATCH_BYTES) break;
        bytes += size;
        to += 1;
      }
    }
    cursor.position = to;
    const token =
      to === events.length && !cursor.idle
        ? header.endToken
        : to === 0
          ? header.startToken
          : (this.tokens[to - 1] as string);
    this.stats.replies += 1;
    this.stats.eventsSent += to - from;
    this.stats.eventBytesSent += bytes;
    const envelope = BSON.serialize({
      cursor: { [field]: [], id: cursorId, ns: header.ns, postBatchResumeToken: { _data: token } },
      ok: 1,
      ...clusterTimeFields(this.clusterTime),
    });
    return spliceBatch(this.nextRequestId(), responseTo, envelope, field, events, from, to);
  }

  private firstAtOrAfter(time: Timestamp): number {
    const index = this.times.findIndex(({ t, i }) => t > time.high || (t === time.high && i >= time.low));
    return index < 0 ? this.times.length : index;
  }

  private reply(responseTo: number, document: Document): Buffer {
    return encodeOpMsg(
      this.nextRequestId(),
      responseTo,
      { ...document, ok: 1, ...clusterTimeFields(this.clusterTime) },
      false,
    );
  }

  private nextRequestId(): number {
    this.requestId = this.requestId >= 0x7fffffff ? 1 : this.requestId + 1;
    return this.requestId;
  }

  private nextCursorId(): Long {
    this.nextCursor += 1n;
    return Long.fromBigInt(this.nextCursor);
  }
}

interface Connection {
  socket: Socket;
  connectionId: number;
  wait(ms: number): Promise<void>;
  closed(): boolean;
}

/**
 * An OP_MSG whose body is `envelope` with `events[from, to)` as the elements of its empty
 * `cursor.<field>` array. The envelope starts `{cursor: {<field>: [] …} …}`, so the array sits at
 * a fixed offset; the body, cursor and array lengths grow by the elements' bytes.
 */
export function spliceBatch(
  requestId: number,
  responseTo: number,
  envelope: Uint8Array,
  field: string,
  events: readonly Buffer[],
  from: number,
  to: number,
): Buffer {
  const body = Buffer.from(envelope.buffer, envelope.byteOffset, envelope.byteLength);
  const cursorAt = 4 + 1 + 'cursor'.length + 1;
  const arrayAt = cursorAt + 4 + 1 + field.length + 1;
  if (body.readInt32LE(arrayAt) !== 5 || body.toString('latin1', cursorAt + 5, arrayAt - 1) !== field)
    throw new Error('unexpected envelope layout');
  let elements = 0;
  for (let index = from; index < to; index += 1)
    elements += 2 + String(index - from).length + (events[index] as Buffer).length;
  const out = Buffer.allocUnsafe(HEADER_BYTES + 5 + body.length + elements);
  out.writeInt32LE(out.length, 0);
  out.writeInt32LE(requestId, 4);
  out.writeInt32LE(responseTo, 8);
  out.writeInt32LE(OP_MSG, 12);
  out.writeUInt32LE(0, HEADER_BYTES);
  out.writeUInt8(0, HEADER_BYTES + 4);
  const start = HEADER_BYTES + 5;
  body.copy(out, start, 0, arrayAt + 4);
  let at = start + arrayAt + 4;
  for (let index = from; index < to; index += 1) {
    out[at] = 0x03;
    at += 1;
    at += out.write(String(index - from), at, 'latin1');
    out[at] = 0;
    at += 1;
    at += (events[index] as Buffer).copy(out, at);
  }
  body.copy(out, at, arrayAt + 4);
  out.writeInt32LE(body.readInt32LE(0) + elements, start);
  out.writeInt32LE(body.readInt32LE(cursorAt) + elements, start + cursorAt);
  out.writeInt32LE(5 + elements, start + arrayAt);
  return out;
}

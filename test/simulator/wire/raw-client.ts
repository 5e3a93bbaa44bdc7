/**
 * A minimal wire-protocol client over a raw socket, for tests that need to see frames the
 * driver hides (OP_REPLY, moreToCome, request ids).
 */
import { connect, type Socket } from 'node:net';
import { BSON, type Document } from 'bson';
import { FrameReader } from '../../../simulator/wire/frame-reader.js';
import {
  HEADER_BYTES,
  MSG_MORE_TO_COME,
  OP_MSG,
  OP_QUERY,
  readHeader,
} from '../../../simulator/wire/protocol.js';

export interface RawReply {
  requestId: number;
  responseTo: number;
  opCode: number;
  flags: number;
  document: Document;
}

export class RawClient {
  private readonly reader = new FrameReader();
  private readonly replies: RawReply[] = [];
  private waiting: (() => void) | undefined;
  private nextId = 1;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      for (const frame of this.reader.push(chunk)) this.replies.push(parseReply(frame));
      this.waiting?.();
    });
  }

  static open(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => resolve(new RawClient(socket)));
      socket.once('error', reject);
    });
  }

  /** Sends raw bytes, e.g. a frame split across writes. */
  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  opMsg(body: Document, flags = 0): { requestId: number; frame: Buffer } {
    const requestId = this.nextId++;
    const bson = BSON.serialize(body);
    const frame = Buffer.alloc(HEADER_BYTES + 5 + bson.length);
    frame.writeInt32LE(frame.length, 0);
    frame.writeInt32LE(requestId, 4);
    frame.writeInt32LE(0, 8);
    frame.writeInt32LE(OP_MSG, 12);
    frame.writeUInt32LE(flags, HEADER_BYTES);
    frame.writeUInt8(0, HEADER_BYTES + 4);
    frame.set(bson, HEADER_BYTES + 5);
    return { requestId, frame };
  }

  opQuery(namespace: string, query: Document): { requestId: number; frame: Buffer } {
    const requestId = this.nextId++;
    const ns = Buffer.from(`${namespace}\0`, 'utf8');
    const bson = BSON.serialize(query);
    const frame = Buffer.alloc(HEADER_BYTES + 4 + ns.length + 8 + bson.length);
    frame.writeInt32LE(frame.length, 0);
    frame.writeInt32LE(requestId, 4);
    frame.writeInt32LE(0, 8);
    frame.writeInt32LE(OP_QUERY, 12);
    frame.writeInt32LE(0, HEADER_BYTES);
    frame.set(ns, HEADER_BYTES + 4);
    frame.writeInt32LE(0, HEADER_BYTES + 4 + ns.length);
    frame.writeInt32LE(-1, HEADER_BYTES + 8 + ns.length);
    frame.set(bson, HEADER_BYTES + 12 + ns.length);
    return { requestId, frame };
  }

  /** Waits for the next reply (bounded by `timeoutMs`). */
  async nextReply(timeoutMs = 5000): Promise<RawReply> {
    const deadline = Date.now() + timeoutMs;
    while (this.replies.length === 0) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error('No reply within the timeout');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        this.waiting = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    return this.replies.shift()!;
  }

  close(): void {
    this.socket.destroy();
  }
}

function parseReply(frame: Buffer): RawReply {
  const header = readHeader(frame);
  if (header.opCode === OP_MSG) {
    const flags = frame.readUInt32LE(HEADER_BYTES);
    return { ...header, flags, document: BSON.deserialize(frame.subarray(HEADER_BYTES + 5)) };
  }
  return {
    ...header,
    flags: frame.readInt32LE(HEADER_BYTES),
    document: BSON.deserialize(frame.subarray(HEADER_BYTES + 20)),
  };
}

export { MSG_MORE_TO_COME };

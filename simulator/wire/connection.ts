/**
 * One client connection: frames in, commands executed one at a time in arrival order, replies
 * out. Also runs exhaust streams (`hello` with moreToCome replies) until the client goes away.
 */
import type { Socket } from 'node:net';
import type { Document } from 'bson';
import { nextExhaustCommand } from './exhaust.js';
import { FrameReader } from './frame-reader.js';
import { decodeMessage, encodeOpMsg, encodeOpReply, type InboundCommand, OP_QUERY } from './protocol.js';

/** What the command layer sees of the connection a command arrived on. */
export interface ClientConnection {
  readonly connectionId: number;
  /** `host:port` of the client, for `whatsmyuri`. */
  readonly remoteAddress: string;
  /** `client.application.name` from the handshake, once known. */
  appName: string | undefined;
  readonly closed: boolean;
  close(): void;
}

export interface CommandExecutor {
  /** Runs a command and returns the full reply document (success or `{ok: 0}` error). */
  execute(command: InboundCommand, connection: ClientConnection): Promise<Document>;
}

let lastRequestId = 0;
function nextRequestId(): number {
  lastRequestId = lastRequestId >= 0x7fffffff ? 1 : lastRequestId + 1;
  return lastRequestId;
}

export class WireConnection implements ClientConnection {
  appName: string | undefined;
  private readonly reader = new FrameReader();
  private queue: Promise<void> = Promise.resolve();
  private isClosed = false;

  constructor(
    readonly connectionId: number,
    private readonly socket: Socket,
    private readonly executor: CommandExecutor,
    private readonly onClose: (connection: WireConnection) => void,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', () => this.close());
    socket.on('close', () => this.close());
  }

  get remoteAddress(): string {
    return `${this.socket.remoteAddress ?? '127.0.0.1'}:${this.socket.remotePort ?? 0}`;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.socket.destroy();
    this.onClose(this);
  }

  private receive(chunk: Buffer): void {
    let frames: Buffer[];
    try {
      frames = this.reader.push(chunk);
    } catch {
      // A corrupt stream cannot be resynchronised; the real server drops the connection too.
      this.close();
      return;
    }
    for (const frame of frames) {
      // A failure while answering leaves the stream in an unknown state: drop the connection.
      this.queue = this.queue.then(() => this.handleFrame(frame)).catch(() => this.close());
    }
  }

  private async handleFrame(frame: Buffer): Promise<void> {
    if (this.isClosed) return;
    let command: InboundCommand;
    try {
      command = decodeMessage(frame);
    } catch {
      this.close();
      return;
    }
    const reply = await this.executor.execute(command, this);
    if (this.isClosed) return;
    if (command.opCode === OP_QUERY) {
      this.write(encodeOpReply(nextRequestId(), command.header.requestId, reply));
      return;
    }
    if (command.moreToCome) return;
    await this.stream(command, reply);
  }

  /** Sends the reply; while the command is an exhaust stream, keeps producing the next one. */
  private async stream(first: InboundCommand, firstReply: Document): Promise<void> {
    let command = first;
    let reply = firstReply;
    let responseTo = first.header.requestId;
    for (;;) {
      const next = nextExhaustCommand(command, reply);
      const requestId = nextRequestId();
      this.write(encodeOpMsg(requestId, responseTo, reply, next !== null));
      if (next === null) return;
      command = next;
      responseTo = requestId;
      reply = await this.executor.execute(command, this);
      if (this.isClosed) return;
    }
  }

  private write(buffer: Buffer): void {
    if (!this.isClosed) this.socket.write(buffer);
  }
}

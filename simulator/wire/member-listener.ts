/**
 * The TCP listener of one replica-set member on 127.0.0.1. It can stop answering (a DOWN or
 * REMOVED member) by dropping every connection and refusing new ones while keeping its port.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { type CommandExecutor, WireConnection } from './connection.js';

export interface MemberListenerOptions {
  /** 0 picks a free port. */
  port: number;
  executor: CommandExecutor;
  /** Shared across members so every connection id in the process is unique. */
  nextConnectionId: () => number;
}

export class MemberListener {
  private readonly server: Server;
  private readonly connections = new Set<WireConnection>();
  private accepting = true;
  private boundPort = 0;

  constructor(private readonly options: MemberListenerOptions) {
    this.server = createServer((socket) => this.accept(socket));
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port, '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const address = this.server.address();
    if (address === null || typeof address === 'string') throw new Error('Listener has no TCP address');
    this.boundPort = address.port;
    return this.boundPort;
  }

  get port(): number {
    return this.boundPort;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** While false, new connections are closed as soon as they open. */
  setAccepting(accepting: boolean): void {
    this.accepting = accepting;
    if (!accepting) this.closeAllConnections();
  }

  closeAllConnections(): void {
    for (const connection of [...this.connections]) connection.close();
  }

  async close(): Promise<void> {
    this.accepting = false;
    this.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    if (!this.accepting) {
      socket.destroy();
      return;
    }
    const connection = new WireConnection(
      this.options.nextConnectionId(),
      socket,
      this.options.executor,
      (closed) => this.connections.delete(closed),
    );
    this.connections.add(connection);
  }
}

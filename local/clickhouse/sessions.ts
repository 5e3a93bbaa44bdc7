import type { Session } from 'chdb';
import { type HttpSessionRequest, ProtocolError } from './protocol.js';

/**
 * ClickHouse's HTTP sessions (`session_id`): one engine connection per session, so its temporary
 * tables, `SET` settings and current database live on between requests. As on a server, a session
 * serves one query at a time (a second one gets SESSION_IS_LOCKED), `session_check=1` refuses an
 * unknown session (SESSION_NOT_FOUND), and a session nobody used for its timeout is closed.
 */
export interface HttpSession {
  readonly id: string;
  readonly connection: Session;
}

interface Entry extends HttpSession {
  busy: boolean;
  timeoutMs: number;
  timer: NodeJS.Timeout | undefined;
}

export class HttpSessions {
  private readonly sessions = new Map<string, Entry>();

  constructor(private readonly connect: () => Session) {}

  /** Take the session for one query; release() gives it back. */
  acquire(request: HttpSessionRequest): HttpSession {
    const existing = this.sessions.get(request.id);
    if (existing?.busy) {
      throw new ProtocolError(
        373,
        'SESSION_IS_LOCKED',
        `Session ${request.id} is locked by a concurrent client`,
      );
    }
    if (existing === undefined && request.check) {
      throw new ProtocolError(372, 'SESSION_NOT_FOUND', `Session ${request.id} not found`);
    }
    const entry = existing ?? {
      id: request.id,
      connection: this.connect(),
      busy: false,
      timeoutMs: 0,
      timer: undefined,
    };
    clearTimeout(entry.timer);
    entry.timer = undefined;
    entry.busy = true;
    entry.timeoutMs = request.timeoutSeconds * 1000;
    this.sessions.set(entry.id, entry);
    return entry;
  }

  /** The query is done: the session waits for its next query until its timeout, or ends now when asked. */
  release(session: HttpSession, close: boolean): void {
    const entry = this.sessions.get(session.id);
    if (entry === undefined || entry !== session) return;
    entry.busy = false;
    if (close) {
      this.end(entry);
      return;
    }
    entry.timer = setTimeout(() => this.end(entry), entry.timeoutMs);
    entry.timer.unref();
  }

  closeAll(): void {
    for (const entry of [...this.sessions.values()]) this.end(entry);
  }

  get size(): number {
    return this.sessions.size;
  }

  private end(entry: Entry): void {
    clearTimeout(entry.timer);
    if (this.sessions.get(entry.id) === entry) this.sessions.delete(entry.id);
    // chDB defers the teardown while an engine call still runs on the connection.
    entry.connection.close();
  }
}

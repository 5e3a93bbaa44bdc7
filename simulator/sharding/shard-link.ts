/**
 * How a mongos talks to one shard: the command goes to the shard's current primary through that
 * member's own dispatcher (state rules, fail points, error labels and all), in process. Like a
 * real mongos, it waits for a primary and retries once the shard answers "not primary".
 */
import type { Document } from 'bson';
import { CommandError } from '../contract.js';
import type { Deployment } from '../deployment.js';
import type { ClientConnection } from '../wire/connection.js';
import { OP_MSG } from '../wire/protocol.js';

/** Errors after which the mongos targets the shard's (new) primary again. */
const RETARGET_CODES = new Set([91, 189, 10107, 11600, 11602, 13435, 13436]);
const MAX_ATTEMPTS = 5;
const PRIMARY_WAIT_MS = 10_000;

class InternalConnection implements ClientConnection {
  appName: string | undefined = 'mongos';
  readonly remoteAddress = '127.0.0.1:0';
  closed = false;
  constructor(readonly connectionId: number) {}
  close(): void {
    this.closed = true;
  }
}

export class ShardLink {
  private readonly connection: InternalConnection;
  /** Commands a mongos sent this shard, by name: how a test sees a read targeted or scattered. */
  readonly commandsReceived = new Map<string, number>();
  /** Documents this shard's cursor replies carried back to a mongos (what a scattered read wastes). */
  documentsReturned = 0;

  constructor(
    readonly index: number,
    readonly name: string,
    readonly deployment: Deployment,
  ) {
    this.connection = new InternalConnection(1_000_000 + index);
  }

  /** Runs a command on the primary; returns the reply, throwing its error as a CommandError. */
  async command(db: string, body: Document): Promise<Document> {
    for (let attempt = 1; ; attempt += 1) {
      const reply = await this.rawCommand(db, body);
      if (reply.ok === 1) return reply;
      const code = Number(reply.code);
      if (RETARGET_CODES.has(code) && attempt < MAX_ATTEMPTS && !isTransactional(body)) continue;
      throw replyError(reply);
    }
  }

  /** The reply as the shard sent it, `{ok: 0}` included. */
  async rawCommand(db: string, body: Document, anyMember = false): Promise<Document> {
    const member = anyMember ? this.readableMember() : await this.primary();
    const name = Object.keys(body)[0] ?? '';
    this.commandsReceived.set(name, (this.commandsReceived.get(name) ?? 0) + 1);
    const inbound = {
      header: { messageLength: 0, requestId: 0, responseTo: 0, opCode: OP_MSG },
      opCode: OP_MSG,
      body: { ...body, $db: db },
      db,
      moreToCome: false,
      exhaustAllowed: false,
      secondaryOkFlag: false,
    } as const;
    const reply = await this.deployment.dispatcher.execute(member, inbound, this.connection);
    const cursor = reply.cursor as Document | undefined;
    const batch = cursor?.firstBatch ?? cursor?.nextBatch;
    if (Array.isArray(batch)) this.documentsReturned += batch.length;
    return reply;
  }

  async primary(): Promise<string> {
    const topology = this.deployment.topology;
    const deadline = Date.now() + PRIMARY_WAIT_MS;
    for (;;) {
      if (topology.primary) return topology.primary;
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        throw new CommandError(
          133,
          'FailedToSatisfyReadPreference',
          `Could not find host matching read preference { mode: "primary" } for set ${this.name}`,
        );
      }
      await topology.waitForChange(topology.counter, remaining);
    }
  }

  /** A member that serves getMore (the primary, else a secondary: cursors are shared). */
  private readableMember(): string {
    const topology = this.deployment.topology;
    if (topology.primary) return topology.primary;
    const secondary = topology.hosts().find((host) => topology.stateOf(host) === 'SECONDARY');
    if (!secondary)
      throw new CommandError(133, 'FailedToSatisfyReadPreference', `No readable member in ${this.name}`);
    return secondary;
  }
}

function isTransactional(body: Document): boolean {
  return body.autocommit === false;
}

export function replyError(reply: Document): CommandError {
  const {
    ok: _ok,
    code,
    codeName,
    errmsg,
    errorLabels,
    $clusterTime: _c,
    operationTime: _o,
    ...extra
  } = reply;
  return new CommandError(
    Number(code ?? 1),
    String(codeName ?? 'InternalError'),
    String(errmsg ?? 'shard command failed'),
    Array.isArray(errorLabels) ? (errorLabels as string[]) : [],
    extra,
  );
}

/**
 * Runs one client command on one member: builds the `CommandContext`, applies the member-state
 * rules and the `failCommand` fail point, calls the handler and wraps the reply in the envelope.
 * Thrown `CommandError`s become `{ok: 0}` replies with the labels the real server adds.
 */
import { type Document, Long } from 'bson';
import { type ClusterClock, type CommandContext, CommandError, type SessionInfo } from '../contract.js';
import type { FailCommandData, FailPointRegistry } from '../faults/fail-points.js';
import type { SessionRegistry } from '../sessions/session-registry.js';
import type { ReplicaSetTopology } from '../topology/topology.js';
import type { ClientConnection } from '../wire/connection.js';
import { type InboundCommand, OP_QUERY } from '../wire/protocol.js';
import { commandKind, isAllowedInTransaction, isChangeStreamAggregate } from './command-kinds.js';
import { errorReply, successReply } from './envelope.js';
import { codeNameOf } from './error-codes.js';
import { errorLabelsFor, type LabelContext, writeConcernErrorLabelsFor } from './error-labels.js';
import type { CommandRegistry } from './registry.js';
import { checkMemberState, secondaryOkRequested } from './state-gate.js';
import { unsatisfiedWriteConcern } from './write-concern.js';

export interface DispatcherDeps {
  registry: CommandRegistry;
  clock: ClusterClock;
  topology: ReplicaSetTopology;
  /** Fail points are per member, as they are per `mongod` process. */
  failPoints: (memberName: string) => FailPointRegistry;
  sessions: SessionRegistry;
}

const HANDSHAKE_COMMANDS = new Set(['hello', 'isMaster', 'ismaster']);

/** The server's NotPrimaryError category. */
const NOT_PRIMARY_ERROR_CODES: ReadonlySet<number> = new Set([189, 10107, 11602, 13435, 13436]);

function liftSession(body: Document): SessionInfo | undefined {
  const lsid = body.lsid;
  if (typeof lsid !== 'object' || lsid === null) return undefined;
  const txnNumber = body.txnNumber;
  const session: SessionInfo = {
    lsid: lsid as Document,
    inTransaction: body.autocommit === false,
    startTransaction: body.startTransaction === true,
  };
  if (txnNumber !== undefined && txnNumber !== null) {
    session.txnNumber = Long.isLong(txnNumber) ? txnNumber : Long.fromNumber(Number(txnNumber));
  }
  return session;
}

function namespaceOf(db: string, name: string, body: Document): string {
  const target = body[name];
  return typeof target === 'string' ? `${db}.${target}` : `${db}.$cmd`;
}

export class Dispatcher {
  private readonly blocked = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();

  constructor(private readonly deps: DispatcherDeps) {}

  /** Releases commands blocked by `blockConnection` so a stopping deployment leaves no timers. */
  close(): void {
    for (const block of [...this.blocked]) {
      clearTimeout(block.timer);
      block.resolve();
    }
    this.blocked.clear();
  }

  async execute(
    memberName: string,
    command: InboundCommand,
    connection: ClientConnection,
  ): Promise<Document> {
    const body = command.body;
    const name = Object.keys(body)[0] ?? '';
    const session = liftSession(body);
    const labelContext: LabelContext = {
      name,
      session,
      changeStream:
        isChangeStreamAggregate(name, body) ||
        (name === 'getMore' && this.deps.sessions.isChangeStream(body.getMore)),
    };
    try {
      const reply = await this.run(memberName, command, connection, labelContext);
      if (isChangeStreamAggregate(name, body)) this.markChangeStreamCursor(reply);
      return successReply(reply, this.deps.clock.current());
    } catch (error) {
      const commandError =
        error instanceof CommandError
          ? error
          : new CommandError(1, 'InternalError', error instanceof Error ? error.message : String(error));
      const labels =
        commandError instanceof FailCommandError
          ? commandError.errorLabels
          : [...new Set([...commandError.errorLabels, ...errorLabelsFor(labelContext, commandError.code)])];
      return errorReply(
        this.withTopologyVersion(commandError, memberName),
        labels,
        this.deps.clock.current(),
      );
    }
  }

  private async run(
    memberName: string,
    command: InboundCommand,
    connection: ClientConnection,
    labelContext: LabelContext,
  ): Promise<Document> {
    const { body, db } = command;
    const { name, session } = labelContext;
    if (name === '') throw new CommandError(59, 'CommandNotFound', 'no command name in request body');
    if (HANDSHAKE_COMMANDS.has(name)) this.rememberAppName(body, connection);
    if (command.opCode === OP_QUERY && !HANDSHAKE_COMMANDS.has(name)) {
      throw new CommandError(
        352,
        'UnsupportedOpQueryCommand',
        `Unsupported OP_QUERY command: ${name}. The client driver may require an upgrade.`,
      );
    }
    const handler = this.deps.registry.lookup(name);
    if (!handler) throw new CommandError(59, 'CommandNotFound', `no such command: '${name}'`);
    this.deps.sessions.touch(session?.lsid);
    if (session?.inTransaction) {
      if (!isAllowedInTransaction(name)) {
        throw new CommandError(
          263,
          'OperationNotSupportedInTransaction',
          `Cannot run '${name}' in a multi-document transaction.`,
        );
      }
      this.deps.sessions.noteTransaction(session.lsid);
    }

    const topology = this.deps.topology;
    const kind = commandKind(name, body);
    const secondaryOk = secondaryOkRequested(body, command.secondaryOkFlag);
    checkMemberState(topology.stateOf(memberName), kind, secondaryOk);

    const failure = this.deps
      .failPoints(memberName)
      .evaluateFailCommand(name, connection.appName, namespaceOf(db, name, body));
    if (failure) {
      await this.applyFailure(
        failure.data,
        connection,
        labelContext,
        kind === 'write' ? memberName : undefined,
      );
      if (kind === 'write' && topology.stateOf(memberName) !== 'PRIMARY') {
        throw new CommandError(11602, 'InterruptedDueToReplStateChange', 'operation was interrupted');
      }
    }

    if (name === 'getMore') {
      const getMoreFailure = this.deps.failPoints(memberName).evaluateGetMoreFailure();
      if (getMoreFailure !== null) {
        throw new CommandError(
          getMoreFailure,
          codeNameOf(getMoreFailure),
          "Failing getMore via 'failGetMoreAfterCursorCheckout'",
        );
      }
    }

    // `remoteAddress` rides along for `whatsmyuri`; it is not part of the shared context seam.
    const context: CommandContext & { remoteAddress: string } = {
      remoteAddress: connection.remoteAddress,
      db,
      name,
      body,
      memberName,
      memberState: topology.stateOf(memberName),
      connectionId: connection.connectionId,
      ...(connection.appName !== undefined ? { appName: connection.appName } : {}),
      ...(session ? { session } : {}),
    };
    const reply = await handler(context);
    const unsatisfied = kind === 'write' ? this.unsatisfiedWriteConcern(body) : undefined;
    if (unsatisfied) return { ...reply, writeConcernError: unsatisfied };
    if (failure?.data.writeConcernError && failure.data.errorCode === undefined) {
      const wce = failure.data.writeConcernError;
      const labels = Array.isArray(wce.errorLabels)
        ? (wce.errorLabels as string[])
        : writeConcernErrorLabelsFor({ name, session, changeStream: false }, Number(wce.code));
      return { ...reply, writeConcernError: wce, ...(labels.length > 0 ? { errorLabels: labels } : {}) };
    }
    return reply;
  }

  private async applyFailure(
    data: FailCommandData,
    connection: ClientConnection,
    labelContext: LabelContext,
    /** For a write: its member, whose step-down interrupts the block at once, as on the server. */
    writeOn: string | undefined,
  ): Promise<void> {
    if (data.closeConnection) {
      connection.close();
      throw new CommandError(50985, 'Location50985', "Failing command due to 'failCommand' failpoint");
    }
    if (data.blockConnection && data.blockTimeMS > 0) {
      await (writeOn === undefined
        ? this.block(data.blockTimeMS)
        : this.blockWrite(data.blockTimeMS, writeOn));
    }
    if (data.errorCode !== undefined) {
      // Explicit `errorLabels` replace the labels the server would compute, even when empty.
      // failCommand fires before a getMore checks out its cursor, so the server cannot know the
      // cursor is a change stream and adds no ResumableChangeStreamError (hence the separate
      // failGetMoreAfterCursorCheckout fail point).
      const context = {
        ...labelContext,
        changeStream: labelContext.changeStream && labelContext.name !== 'getMore',
      };
      const labels = data.errorLabels ?? errorLabelsFor(context, data.errorCode);
      throw new FailCommandError(data, labels);
    }
  }

  /** Blocks until `ms` elapse or the member stops being primary. */
  private async blockWrite(ms: number, memberName: string): Promise<void> {
    const topology = this.deps.topology;
    const deadline = Date.now() + ms;
    for (let remaining = ms; remaining > 0; remaining = deadline - Date.now()) {
      const counter = topology.counter;
      await topology.waitForChange(counter, remaining);
      if (topology.stateOf(memberName) !== 'PRIMARY') return;
      // Released without a change: the topology is closing, stop waiting.
      if (topology.counter === counter) return;
    }
  }

  private block(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const block = {
        timer: setTimeout(() => {
          this.blocked.delete(block);
          resolve();
        }, ms),
        resolve,
      };
      this.blocked.add(block);
    });
  }

  /**
   * The real server appends its `topologyVersion` to a NotPrimaryError only while it is primary
   * (the error then comes from a fail point or a step-down in progress; drivers ignore it as
   * stale when they already know that version), and to shutdown errors only while shutting down.
   */
  private withTopologyVersion(error: CommandError, memberName: string): CommandError {
    if (!NOT_PRIMARY_ERROR_CODES.has(error.code) || error.extra.topologyVersion !== undefined) return error;
    if (this.deps.topology.stateOf(memberName) !== 'PRIMARY') return error;
    const topologyVersion = this.deps.topology.topologyVersion(memberName);
    return new CommandError(error.code, error.codeName, error.message, error.errorLabels, {
      ...error.extra,
      topologyVersion,
    });
  }

  private unsatisfiedWriteConcern(body: Document): Document | undefined {
    const dataBearing = this.deps.topology.config.members.filter((member) => !member.arbiterOnly).length;
    return unsatisfiedWriteConcern(body, dataBearing);
  }

  private rememberAppName(body: Document, connection: ClientConnection): void {
    const application = (body.client as Document | undefined)?.application as Document | undefined;
    if (connection.appName === undefined && typeof application?.name === 'string') {
      connection.appName = application.name;
    }
  }

  private markChangeStreamCursor(reply: Document): void {
    const id = (reply.cursor as Document | undefined)?.id;
    if (Long.isLong(id)) this.deps.sessions.markChangeStream(id);
    else if (typeof id === 'number') this.deps.sessions.markChangeStream(Long.fromNumber(id));
  }
}

/** The error `failCommand` injects; its labels are final (the dispatcher adds none). */
class FailCommandError extends CommandError {
  constructor(data: FailCommandData, labels: string[]) {
    super(
      data.errorCode!,
      codeNameOf(data.errorCode!),
      "Failing command via 'failCommand' failpoint",
      labels,
      {
        ...(data.errorExtraInfo ?? {}),
      },
    );
  }
}

/**
 * One mongos: a TCP listener on 127.0.0.1 whose commands go through the same dispatcher as a
 * member's (fail points, error labels, `$clusterTime`), with the router's command table. It
 * answers `hello` as a real mongos does: `msg: "isdbgrid"`, no `setName`, no hosts.
 */
import type { Document } from 'bson';
import { adminCommands } from '../commands/admin/index.js';
import type { CommandContext, CommandHandler } from '../contract.js';
import { FailPointRegistry } from '../faults/fail-points.js';
import type { ClusterClockImpl } from '../oplog/clock.js';
import { Dispatcher } from '../server/dispatcher.js';
import { CommandRegistry } from '../server/registry.js';
import { SessionRegistry } from '../sessions/session-registry.js';
import { CursorRegistryImpl } from '../storage/index.js';
import { buildConfig } from '../topology/config.js';
import { LOGICAL_SESSION_TIMEOUT_MINUTES, MAX_WIRE_VERSION } from '../topology/hello-response.js';
import { ReplicaSetTopology } from '../topology/topology.js';
import { MemberListener } from '../wire/member-listener.js';
import { MAX_BSON_OBJECT_SIZE, MAX_MESSAGE_SIZE_BYTES } from '../wire/protocol.js';
import type { ClusterCatalog } from './cluster-catalog.js';
import { connPoolStatsCommand, listShardsCommand } from './cluster-monitoring.js';
import { routerCommands, withRecoveryToken } from './mongos-commands.js';
import type { Router } from './router.js';

/** Commands a mongos does not have. */
const MONGOD_ONLY = [
  'replSetGetStatus',
  'replSetGetConfig',
  'replSetStepDown',
  'replSetStepUp',
  'replSetFreeze',
  'replSetInitiate',
];

let connectionIds = 5_000_000;

/** Without `topologyVersion` the driver polls this mongos instead of streaming `hello`. */
function mongosHello(ctx: CommandContext): Document {
  return {
    [ctx.name === 'hello' ? 'isWritablePrimary' : 'ismaster']: true,
    msg: 'isdbgrid',
    maxBsonObjectSize: MAX_BSON_OBJECT_SIZE,
    maxMessageSizeBytes: MAX_MESSAGE_SIZE_BYTES,
    maxWriteBatchSize: 100_000,
    localTime: new Date(),
    logicalSessionTimeoutMinutes: LOGICAL_SESSION_TIMEOUT_MINUTES,
    connectionId: ctx.connectionId,
    minWireVersion: 0,
    maxWireVersion: MAX_WIRE_VERSION,
    readOnly: false,
    ...(ctx.body.helloOk === true ? { helloOk: true } : {}),
  };
}

/** A mongos's `serverStatus`: `process: "mongos"`, no replication, storage or oplog sections. */
function mongosServerStatus(memberStatus: CommandHandler): CommandHandler {
  return async (ctx) => {
    const { repl: _repl, storageEngine: _storage, oplog: _oplog, ...rest } = await memberStatus(ctx);
    return { ...rest, process: 'mongos' };
  };
}

export class Mongos {
  readonly sessions = new SessionRegistry(new CursorRegistryImpl(), () => {});
  private readonly failPointRegistry = new FailPointRegistry();
  private listener: MemberListener | undefined;
  private topology: ReplicaSetTopology | undefined;
  private dispatcher: Dispatcher | undefined;
  name = '';

  constructor(
    private readonly router: Router,
    private readonly catalog: ClusterCatalog,
    private readonly clock: ClusterClockImpl,
  ) {}

  get failPoints(): FailPointRegistry {
    return this.failPointRegistry;
  }

  async start(port = 0): Promise<string> {
    const slot = { name: '' };
    this.listener = new MemberListener({
      port,
      nextConnectionId: () => ++connectionIds,
      executor: {
        execute: (command, connection) => this.requireDispatcher().execute(slot.name, command, connection),
      },
    });
    this.name = `127.0.0.1:${await this.listener.listen()}`;
    slot.name = this.name;
    // A one-member "set" that is always primary lets the member dispatcher serve the mongos.
    this.topology = new ReplicaSetTopology({
      config: buildConfig('mongos', [this.name]),
      electionDelayMs: 0,
      clusterTime: () => this.clock.current(),
    });
    this.topology.initiate();
    const registry = new CommandRegistry();
    registry.registerAll(this.commands(registry, this.topology));
    this.dispatcher = new Dispatcher({
      registry,
      clock: this.clock,
      topology: this.topology,
      failPoints: () => this.failPointRegistry,
      sessions: this.sessions,
    });
    return this.name;
  }

  closeAllConnections(): void {
    this.listener?.closeAllConnections();
  }

  async stop(): Promise<void> {
    this.topology?.close();
    this.dispatcher?.close();
    await this.listener?.close();
    this.listener = undefined;
  }

  private commands(registry: CommandRegistry, topology: ReplicaSetTopology): Record<string, CommandHandler> {
    const admin = adminCommands({
      topology,
      registry,
      failPoints: () => this.failPointRegistry,
      sessions: this.sessions,
      lastWrite: () => ({
        opTime: { ts: this.clock.current(), t: topology.termLong() },
        wallTime: new Date(),
      }),
      oplogWindow: () => ({}),
      connectionCount: () => this.listener?.connectionCount ?? 0,
    });
    for (const name of MONGOD_ONLY) delete admin[name];
    const hello: CommandHandler = (ctx) => mongosHello(ctx);
    const routed = routerCommands(
      { router: this.router, catalog: this.catalog, sessions: this.sessions, clock: this.clock },
      admin,
    );
    const handlers: Record<string, CommandHandler> = {
      ...admin,
      hello,
      isMaster: hello,
      serverStatus: mongosServerStatus(admin.serverStatus as CommandHandler),
      listShards: listShardsCommand(this.router.shards),
      connPoolStats: connPoolStatsCommand(this.router.shards),
    };
    for (const [name, handler] of Object.entries(routed))
      handlers[name] = withRecoveryToken(this.router, handler);
    delete handlers.ismaster;
    return handlers;
  }

  private requireDispatcher(): Dispatcher {
    if (!this.dispatcher) throw new Error('mongos is not started');
    return this.dispatcher;
  }
}

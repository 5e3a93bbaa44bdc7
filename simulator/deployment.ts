/**
 * The composition root: one process hosting an N-member replica set on 127.0.0.1 ports that
 * share one catalog, one oplog and one cursor registry, and differ by member state.
 */
import type { Timestamp } from 'bson';
import { createChangeStreamOpener } from './changestreams/index.js';
import { adminCommands } from './commands/admin/index.js';
import type { MemberState } from './contract.js';
import { FailPointRegistry } from './faults/fail-points.js';
import { DocumentDbFlavor } from './flavors/documentdb.js';
import { type FlavorHooks, type FlavorName, MONGODB_FLAVOR } from './flavors/flavor.js';
import { ClusterClockImpl } from './oplog/clock.js';
import { Oplog } from './oplog/oplog.js';
import { Dispatcher } from './server/dispatcher.js';
import { CommandRegistry } from './server/registry.js';
import { SessionRegistry } from './sessions/session-registry.js';
import { Catalog, CursorRegistryImpl, storageCommands, TransactionManager } from './storage/index.js';
import { buildConfig, isUnreachable, type MemberOptions } from './topology/config.js';
import type { LastWrite } from './topology/hello-response.js';
import { ReplicaSetTopology } from './topology/topology.js';
import { MemberListener } from './wire/member-listener.js';

export interface DeploymentOptions {
  /** Number of members (default 3). */
  members?: number;
  /** Replica set name (default `rs0`). */
  setName?: string;
  /** Fixed ports, one per member; default: free ports chosen by the OS. */
  ports?: number[];
  /** Per-member priority/votes/arbiterOnly/hidden. */
  memberOptions?: MemberOptions[];
  oplogMaxBytes?: number;
  oplogMaxEntries?: number;
  /** Interval of the periodic no-op writer (default 10 s, like the real server); 0 disables it. */
  noopIntervalMs?: number;
  /** Delay between losing a primary and electing the next one (default 200 ms). */
  electionDelayMs?: number;
  /**
   * The cluster clock; the shards of a sharded cluster share one, as gossiped `$clusterTime`
   * keeps real shards' clocks in step, so their oplog times merge into one order.
   */
  clock?: ClusterClockImpl;
  /** `documentdb` answers as Amazon DocumentDB does where a pipe notices (flavors/documentdb.ts). */
  flavor?: FlavorName;
  /** DocumentDB's `change_stream_log_retention_duration` in seconds (default 10 800). */
  changeStreamRetentionSeconds?: number;
}

export class Deployment {
  readonly clock: ClusterClockImpl;
  readonly catalog = new Catalog();
  readonly registry = new CommandRegistry();
  readonly sessions: SessionRegistry;
  readonly oplog: Oplog;
  readonly transactions: TransactionManager;
  readonly flavor: FlavorHooks;
  private topologyRef: ReplicaSetTopology | undefined;
  private dispatcherRef: Dispatcher | undefined;
  private readonly listeners = new Map<string, MemberListener>();
  private readonly memberFailPoints = new Map<string, FailPointRegistry>();
  private stopped = false;

  private constructor(private readonly options: DeploymentOptions) {
    this.clock = options.clock ?? new ClusterClockImpl();
    this.oplog = new Oplog({
      clock: this.clock,
      term: () => this.topology.termLong(),
      ...(options.oplogMaxBytes !== undefined ? { maxBytes: options.oplogMaxBytes } : {}),
      ...(options.oplogMaxEntries !== undefined ? { maxEntries: options.oplogMaxEntries } : {}),
    });
    this.transactions = new TransactionManager(this.catalog, this.oplog);
    this.sessions = new SessionRegistry(new CursorRegistryImpl(), (lsid) =>
      this.transactions.endSession(lsid),
    );
    this.flavor =
      options.flavor === 'documentdb'
        ? new DocumentDbFlavor({
            oplog: this.oplog,
            ...(options.changeStreamRetentionSeconds !== undefined
              ? { retentionSeconds: options.changeStreamRetentionSeconds }
              : {}),
          })
        : MONGODB_FLAVOR;
  }

  static async start(options: DeploymentOptions = {}): Promise<Deployment> {
    const deployment = new Deployment(options);
    try {
      await deployment.boot();
    } catch (error) {
      await deployment.stop();
      throw error;
    }
    return deployment;
  }

  get topology(): ReplicaSetTopology {
    if (!this.topologyRef) throw new Error('Deployment is not started');
    return this.topologyRef;
  }

  get dispatcher(): Dispatcher {
    if (!this.dispatcherRef) throw new Error('Deployment is not started');
    return this.dispatcherRef;
  }

  memberNames(): string[] {
    return [...this.listeners.keys()];
  }

  listener(memberName: string): MemberListener {
    const listener = this.listeners.get(memberName);
    if (!listener) throw new RangeError(`No member ${memberName}`);
    return listener;
  }

  /** The fail points of one member (each member is its own `mongod` to the driver). */
  failPoints(memberName: string): FailPointRegistry {
    this.listener(memberName);
    let registry = this.memberFailPoints.get(memberName);
    if (!registry) {
      registry = new FailPointRegistry();
      this.memberFailPoints.set(memberName, registry);
    }
    return registry;
  }

  lastWrite(): LastWrite {
    const latest = this.oplog.latest();
    if (latest) return { opTime: { ts: latest.ts, t: latest.t }, wallTime: latest.wall };
    return { opTime: { ts: this.clock.current(), t: this.topology.termLong() }, wallTime: new Date() };
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.topologyRef?.close();
    this.dispatcherRef?.close();
    this.oplog.close();
    await Promise.all([...this.listeners.values()].map((listener) => listener.close()));
  }

  private async boot(): Promise<void> {
    const count = this.options.members ?? 3;
    if (!Number.isInteger(count) || count < 1 || count > 50) {
      throw new RangeError(`members must be an integer in [1, 50], got ${count}`);
    }
    if (this.options.ports && this.options.ports.length !== count) {
      throw new RangeError(`ports lists ${this.options.ports.length} ports for ${count} members`);
    }
    let connectionIds = 0;
    const names: string[] = [];
    for (let index = 0; index < count; index += 1) {
      const slot = { name: '' };
      const listener = new MemberListener({
        port: this.options.ports?.[index] ?? 0,
        nextConnectionId: () => ++connectionIds,
        executor: {
          execute: (command, connection) => this.dispatcher.execute(slot.name, command, connection),
        },
      });
      slot.name = `127.0.0.1:${await listener.listen()}`;
      this.listeners.set(slot.name, listener);
      names.push(slot.name);
    }
    const config = buildConfig(this.options.setName ?? 'rs0', names, this.options.memberOptions);
    this.topologyRef = new ReplicaSetTopology({
      config,
      electionDelayMs: this.options.electionDelayMs ?? 200,
      clusterTime: () => this.clock.current(),
    });
    this.dispatcherRef = new Dispatcher({
      registry: this.registry,
      clock: this.clock,
      topology: this.topologyRef,
      failPoints: (name) => this.failPoints(name),
      sessions: this.sessions,
    });
    this.registry.registerAll(
      this.flavor.admin(
        adminCommands({
          topology: this.topologyRef,
          registry: this.registry,
          failPoints: (name) => this.failPoints(name),
          sessions: this.sessions,
          lastWrite: () => this.lastWrite(),
          oplogWindow: () => this.oplogWindow(),
          connectionCount: (name) => this.listener(name).connectionCount,
        }),
      ),
    );
    // Cursors go through the session registry so sessions can kill the cursors they own.
    const openChangeStream = this.flavor.changeStreams(
      createChangeStreamOpener({
        oplog: this.oplog,
        catalog: this.catalog,
        cursors: this.sessions,
        clock: this.clock,
      }),
    );
    this.registry.registerAll(
      this.flavor.storage(
        storageCommands({
          catalog: this.catalog,
          cursors: this.sessions,
          oplog: this.oplog,
          clock: this.clock,
          openChangeStream,
          transactions: this.transactions,
        }),
      ),
    );
    this.topologyRef.onChange((change) => this.applyTopologyChange(change.primary, change.previousPrimary));
    this.topologyRef.initiate();
    const noopIntervalMs = this.options.noopIntervalMs ?? 10_000;
    if (noopIntervalMs > 0) this.oplog.startNoopWriter(noopIntervalMs);
  }

  private applyTopologyChange(primary: string | undefined, previousPrimary: string | undefined): void {
    for (const [name, listener] of this.listeners) {
      listener.setAccepting(!isUnreachable(this.topology.stateOf(name) as MemberState));
    }
    // A primary that loses its role aborts its open transactions.
    if (previousPrimary && previousPrimary !== primary) this.sessions.abortTransactions();
    // A new primary writes a no-op, as the real server does on stepping up.
    if (primary && primary !== previousPrimary)
      this.oplog.append([{ op: 'n', ns: '', o: { msg: 'new primary' } }]);
  }

  private oplogWindow(): { earliest?: Timestamp; latest?: Timestamp } {
    const earliest = this.oplog.oldest()?.ts;
    const latest = this.oplog.latest()?.ts;
    return { ...(earliest ? { earliest } : {}), ...(latest ? { latest } : {}) };
  }
}

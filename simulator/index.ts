/**
 * Public API of the MongoDB replica-set simulator: start an N-member set on 127.0.0.1 that the
 * real `mongodb` driver connects to, and drive its topology from tests.
 */
import type { Timestamp } from 'bson';
import type { MemberState } from './contract.js';
import { Deployment, type DeploymentOptions } from './deployment.js';
import type { FailPointRegistry } from './faults/fail-points.js';

export type { MemberState } from './contract.js';
export type { DeploymentOptions } from './deployment.js';
export { Deployment } from './deployment.js';
export { FailPointRegistry } from './faults/fail-points.js';
export { CommandRegistry } from './server/registry.js';
export {
  type ShardedClusterHandle,
  type ShardedClusterOptions,
  startShardedCluster,
} from './sharding/cluster.js';
export type { Chunk, ShardKeySpec } from './sharding/shard-key.js';
export type { MemberOptions } from './topology/config.js';
export type { ReplicaSetTopology } from './topology/topology.js';

export interface MemberInfo {
  /** `127.0.0.1:port`, as the member names itself in `hello`. */
  name: string;
  port: number;
  state: MemberState;
}

export interface StepDownOptions {
  /** Seconds the old primary may not stand for election (default 60). */
  stepDownSecs?: number;
  /** Step down even if no secondary is electable. */
  force?: boolean;
}

export interface ReplicaSetHandle {
  /** `mongodb://127.0.0.1:p1,.../?replicaSet=<name>`. */
  readonly uri: string;
  readonly setName: string;
  /** Current members and their states. */
  readonly members: MemberInfo[];
  /** Name of the current primary, if any. */
  readonly primary: string | undefined;
  /** Steps the current primary down; the next primary is elected after `electionDelayMs`. */
  stepDown(options?: StepDownOptions): void;
  /** Puts a member in any state (DOWN/REMOVED members drop and refuse connections). */
  setMemberState(name: string, state: MemberState): void;
  /** Makes a member primary at once, in a new term. */
  elect(name: string): void;
  /** Drops oplog entries older than `ts`; returns how many were dropped. */
  truncateOplog(before: Timestamp): number;
  /** Drops the client connections of one member, or of all. */
  closeAllConnections(name?: string): void;
  /** Resolves once a primary is elected (bounded by `timeoutMs`). */
  waitForPrimary(timeoutMs?: number): Promise<string>;
  /** Fail points of a member (default: the current primary), as `configureFailPoint` sets them. */
  failPoints(name?: string): FailPointRegistry;
  /** The composed deployment, for white-box tests. */
  readonly deployment: Deployment;
  stop(): Promise<void>;
}

export async function startReplicaSet(options: DeploymentOptions = {}): Promise<ReplicaSetHandle> {
  const deployment = await Deployment.start(options);
  const topology = deployment.topology;
  const names = deployment.memberNames();
  const setName = topology.config.setName;
  return {
    uri: `mongodb://${names.join(',')}/?replicaSet=${setName}`,
    setName,
    get members() {
      return names.map((name) => ({
        name,
        port: deployment.listener(name).port,
        state: topology.stateOf(name),
      }));
    },
    get primary() {
      return topology.primary;
    },
    stepDown(stepDownOptions = {}) {
      const primary = topology.primary;
      if (!primary) throw new Error('There is no primary to step down');
      topology.stepDown(primary, stepDownOptions.stepDownSecs ?? 60, stepDownOptions.force ?? false);
    },
    setMemberState: (name, state) => topology.setState(name, state),
    elect: (name) => topology.elect(name),
    truncateOplog: (before) => deployment.oplog.truncateBefore(before),
    closeAllConnections(name) {
      for (const member of name === undefined ? names : [name])
        deployment.listener(member).closeAllConnections();
    },
    waitForPrimary: (timeoutMs = 10_000) => waitForPrimary(deployment, timeoutMs),
    failPoints(name) {
      const member = name ?? topology.primary;
      if (!member) throw new Error('There is no primary; name the member whose fail points you want');
      return deployment.failPoints(member);
    },
    deployment,
    stop: () => deployment.stop(),
  };
}

async function waitForPrimary(deployment: Deployment, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const primary = deployment.topology.primary;
    if (primary) return primary;
    const remaining = deadline - Date.now();
    if (remaining <= 0) throw new Error(`No primary elected within ${timeoutMs} ms`);
    await deployment.topology.waitForChange(deployment.topology.counter, remaining);
  }
}
